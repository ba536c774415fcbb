import { mkdirSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { CommandRunner } from './commands.js';
import { Engine } from './engine.js';
import { MongoServerError } from './errors.js';
import { type FsyncMode, Journal, type JournalFiles } from './journal.js';
import { type DirectoryLock, lockDirectory } from './lock.js';
import { type Request, ProtocolError, decode, encodeReply, messageLength } from './wire.js';

/** Options of {@link startEmbeddedMongo}. */
export interface EmbeddedMongoOptions {
  /** TCP port; default 0 (a free one). */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Folder for the journal (one store at a time: a lock file); without it the store is purely in memory. */
  dir?: string;
  /** Start from the valid records of a damaged journal, keeping the damaged file aside (see docs/contributing.md). */
  salvage?: boolean;
  /** For tests: the journal's file writes and free-space check (default node:fs). */
  journalFiles?: JournalFiles;
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
  // The lock before the journal is read: a second store must not replay, compact or append.
  let lock: DirectoryLock | undefined;
  let journal: Journal | undefined;
  const closeFiles = (): void => {
    journal?.close();
    lock?.release();
  };
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    lock = lockDirectory(options.dir, log);
    try {
      journal = Journal.open(engine, {
        dir: options.dir,
        log,
        ...(options.fsync ? { fsync: options.fsync } : {}),
        ...(options.fsyncIntervalMs ? { fsyncIntervalMs: options.fsyncIntervalMs } : {}),
        ...(options.salvage ? { salvage: true } : {}),
        ...(options.journalFiles ? { files: options.journalFiles } : {}),
      });
    } catch (err) {
      lock.release();
      throw err;
    }
  }
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
    }
    try {
      journal?.flush();
    } catch (err) {
      // A failed fsync (a full disk): the client hears it, the process stays up.
      reply = errorReply(err, log);
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
  }).catch((err: unknown) => {
    closeFiles();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  host = `${options.host ?? '127.0.0.1'}:${port}`;

  const ttl = setInterval(() => {
    const now = Date.now();
    runner.expireCursors(now);
    try {
      engine.expire(now);
      journal?.flush();
    } catch {
      // The journal refused (a full disk, logged there): the sweep runs again at the next tick.
    }
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
          closeFiles();
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
