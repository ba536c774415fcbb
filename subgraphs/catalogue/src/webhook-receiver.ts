/**
 * A test receiver of webhooks (tests and the bench): verifies each delivery's signature with
 * `standardwebhooks`, fails a given share of them, and keeps each event once by its `webhook-id`.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** Options of {@link startWebhookReceiver}. */
export interface WebhookReceiverOptions {
  /** The signing secret (`whsec_…`); may be set later on the receiver (it comes with the registration, which needs the URL). */
  secret?: string;
  /** The share of deliveries answered 500 (0 to 1; default 0). */
  failRate?: number;
  /** Whether half the failures come after the event was kept, as when an answer is lost (default true): what makes deduplication necessary. */
  lostAnswers?: boolean;
  /** Random numbers in [0, 1) (default Math.random): a seeded one makes a run repeatable. */
  random?: () => number;
  /** Default 0: a free port. */
  port?: number;
  host?: string;
}

/** A running test receiver. */
export interface WebhookReceiver {
  /** Where to register it: `http://127.0.0.1:<port>/hooks`. */
  url: string;
  secret: string | undefined;
  /** The share of deliveries answered 500, changeable while it runs. */
  failRate: number;
  /** The events kept, by `webhook-id`, as their payloads: each once whatever the retries. */
  events: Map<string, Record<string, unknown>>;
  /** Deliveries seen (every attempt), those answered 500, those whose signature did not verify, and repeats of a kept id. */
  counts: { requests: number; failed: number; invalid: number; duplicates: number };
  /** Resolves once `n` distinct events are kept; rejects after `timeoutMs` (default 10 s). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a test receiver on 127.0.0.1 (plain http: register it in development only). */
export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const random = options.random ?? Math.random;
  const events = new Map<string, Record<string, unknown>>();
  const counts = { requests: 0, failed: 0, invalid: 0, duplicates: 0 };
  const waiters = new Set<() => void>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    counts.requests++;
    const body = Buffer.concat(chunks).toString('utf8');
    let payload: Record<string, unknown>;
    try {
      payload = new Webhook(receiver.secret ?? '').verify(body, req.headers as Record<string, string>) as Record<string, unknown>;
    } catch {
      counts.invalid++;
      res.writeHead(401).end();
      return;
    }
    const fail = random() < receiver.failRate;
    const lostAnswer = fail && (options.lostAnswers ?? true) && random() < 0.5;
    if (fail && !lostAnswer) {
      counts.failed++;
      res.writeHead(500).end();
      return;
    }
    const id = String(req.headers['webhook-id']);
    if (events.has(id)) counts.duplicates++;
    else events.set(id, payload);
    for (const wake of waiters) wake();
    if (lostAnswer) counts.failed++;
    res.writeHead(lostAnswer ? 500 : 204).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    secret: options.secret,
    failRate: options.failRate ?? 0,
    events,
    counts,
    waitFor: (n, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (events.size < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the receiver kept ${events.size} of ${n} events within ${timeoutMs} ms (${JSON.stringify(counts)})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}
