import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';

/** A proxy in front of one subgraph that counts, delays, drops or answers requests as a test says. */
export interface SubgraphProxy {
  url: string;
  /** Requests that reached the proxy since the last reset. */
  count: number;
  /** Bodies of those requests. */
  bodies: string[];
  /** Their `x-request-id` headers. */
  requestIds: string[];
  /** Wait this long before forwarding. */
  delayMs: number;
  /** Close the connection of the next N requests without an answer. */
  dropNext: number;
  /** Answer with this instead of forwarding. */
  reply: { status: number; body: string } | undefined;
  target: string;
  reset(): void;
  close(): Promise<void>;
}

export async function startProxy(): Promise<SubgraphProxy> {
  const proxy: SubgraphProxy = {
    url: '',
    count: 0,
    bodies: [],
    requestIds: [],
    delayMs: 0,
    dropNext: 0,
    reply: undefined,
    target: '',
    reset() {
      proxy.count = 0;
      proxy.bodies = [];
      proxy.requestIds = [];
      proxy.delayMs = 0;
      proxy.dropNext = 0;
      proxy.reply = undefined;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The partners' consumers read each other's feeds through the gateway all the time: that traffic
      // is not the test's request, so it is neither counted nor dropped nor delayed (a set reply still answers it).
      const feed = /"query":"query Feed(__\w+__\d+)?\(/.test(Buffer.concat(chunks).toString('utf8', 0, 200));
      if (!feed) {
        proxy.count++;
        proxy.bodies.push(Buffer.concat(chunks).toString('utf8'));
        proxy.requestIds.push(String(req.headers['x-request-id'] ?? ''));
      }
      if (proxy.dropNext > 0 && !feed) {
        proxy.dropNext--;
        req.socket.destroy();
        return;
      }
      if (proxy.reply) {
        res.writeHead(proxy.reply.status, { 'content-type': 'application/json' });
        res.end(proxy.reply.body);
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
      setTimeout(
        () => {
          fetch(proxy.target, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) }).then(
            async (r) => {
              const body = Buffer.from(await r.arrayBuffer());
              if (res.destroyed) return;
              res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
              res.end(body);
            },
            () => req.socket.destroy(),
          );
        },
        feed ? 0 : proxy.delayMs,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return proxy;
}
