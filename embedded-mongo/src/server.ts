import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { CommandRunner } from './commands.js';
import { Engine } from './engine.js';
import { MongoServerError } from './errors.js';
import { type FsyncMode, Journal } from './journal.js';
import { type Request, ProtocolError, decode, encodeReply, messageLength } from './wire.js';

/** Options of {@link startEmbeddedMongo}. */
export interface EmbeddedMongoOptions {
  /** TCP port; default 0 (a free one). */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Folder for the journal; without it the store is purely in memory. */
  dir?: string;
  /** When the journal is fsynced (see {@link FsyncMode}); default `always`. */
  fsync?: FsyncMode;
  /** With `fsync: 'interval'`; default 100 ms. */
  fsyncIntervalMs?: number;
  /** How often expired TTL documents are deleted; default 1000 ms (MongoDB: 60 s). */
  ttlIntervalMs?: number;
  /** Largest message accepted; default 48,000,000 bytes, as MongoDB. */
  maxMessageBytes?: number;
  /** Where warnings go (malformed messages, torn journal records); default stderr. */
  log?: (line: string) => void;
}

/** A running embedded store. */
export interface EmbeddedMongo {
  /** `mongodb://127.0.0.1:PORT/` */
  readonly uri: string;
  readonly port: number;
  /** Stops accepting, closes every connection, flushes and closes the journal. */
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 48_000_000;

/** Starts an embedded MongoDB-wire-compatible server. */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[embedded-mongo] ${line}\n`));
  const engine = new Engine();
  const journal = options.dir
    ? Journal.open(engine, {
        dir: options.dir,
        log,
        ...(options.fsync ? { fsync: options.fsync } : {}),
        ...(options.fsyncIntervalMs ? { fsyncIntervalMs: options.fsyncIntervalMs } : {}),
      })
    : undefined;
  const runner = new CommandRunner(engine);
  const sockets = new Set<Socket>();
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  let connectionId = 0;
  let replyId = 0;
  let host = '';

  const handle = (request: Request, id: number): Buffer | undefined => {
    let reply: Record<string, unknown>;
    try {
      reply = runner.run(request.command, { connectionId: id, host });
    } catch (err) {
      reply = errorReply(err, log);
    } finally {
      journal?.flush();
    }
    return request.noReply ? undefined : encodeReply(request, reply, ++replyId);
  };

  const server: Server = createServer((socket) => {
    const id = ++connectionId;
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        const out: Buffer[] = [];
        for (;;) {
          const length = messageLength(buffered, maxBytes);
          if (length === undefined || buffered.length < length) break;
          const msg = buffered.subarray(0, length);
          buffered = buffered.subarray(length);
          const reply = handle(decode(msg), id);
          if (reply) out.push(reply);
        }
        if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        log(`connection ${id} from ${socket.remoteAddress ?? '?'}: ${err.message}; closing it`);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  host = `${options.host ?? '127.0.0.1'}:${port}`;

  const ttl = setInterval(() => {
    const now = Date.now();
    engine.expire(now);
    runner.expireCursors(now);
    journal?.flush();
  }, options.ttlIntervalMs ?? 1000);
  ttl.unref();

  let closed: Promise<void> | undefined;
  return {
    uri: `mongodb://${host}/`,
    port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        clearInterval(ttl);
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          journal?.close();
          resolve();
        });
      })),
  };
}

function errorReply(err: unknown, log: (line: string) => void): Record<string, unknown> {
  if (err instanceof MongoServerError) {
    return {
      ok: 0,
      errmsg: err.message,
      code: err.code,
      codeName: err.codeName,
      ...err.extra,
      ...(err.errorLabels.length > 0 ? { errorLabels: err.errorLabels } : {}),
    };
  }
  log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return { ok: 0, errmsg: 'internal error in the embedded store', code: 1, codeName: 'InternalError' };
}
