import { mkdirSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { Binary, Long, Timestamp } from 'bson';
import { type CommandContext, CommandRunner } from './commands.js';
import { Engine } from './engine.js';
import { MongoServerError } from './errors.js';
import { type FailAction, FailCommandError, FailPoints, errorLabelsFor } from './failpoints.js';
import { type FsyncMode, Journal, JournalError, type JournalFiles } from './journal.js';
import { type DirectoryLock, StoreLockedError, lockDirectory } from './lock.js';
import { toNumber } from './values.js';
import { type Request, ProtocolError, decode, encodeElements, encodeReply, messageLength } from './wire.js';

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
  /** Answers `configureFailPoint` (`failCommand`, `onPrimaryTransactionalWrite`), as mongod with `enableTestCommands`; for tests only. */
  enableTestCommands?: boolean;
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
// A replica set without keys (as MongoDB without auth) sends a zero hash.
const SIGNATURE = Object.freeze({ hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO });

/**
 * The write concern error a one-member replica set gives a write it applied but cannot acknowledge
 * as asked: `w` above one member (UnsatisfiableWriteConcern 100), or a tag mode it has none of
 * (UnknownReplWriteConcern 79). The write stands, as in MongoDB.
 */
function unsatisfiable(writeConcern: unknown): Record<string, unknown> | undefined {
  const w = (writeConcern as { w?: unknown } | null)?.w;
  if (typeof w === 'string') {
    return w === 'majority'
      ? undefined
      : { code: 79, codeName: 'UnknownReplWriteConcern', errmsg: `No write concern mode named '${w}' found in replica set configuration` };
  }
  const members = w === undefined ? 1 : toNumber(w);
  return typeof members === 'number' && members > 1 ? { code: 100, codeName: 'UnsatisfiableWriteConcern', errmsg: 'Not enough data-bearing nodes' } : undefined;
}

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
  const failPoints = options.enableTestCommands ? new FailPoints() : undefined;
  const runner = new CommandRunner(engine, failPoints);
  const sockets = new Set<Socket>();
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  let connectionId = 0;
  let replyId = 0;
  let host = '';

  /**
   * What a reply gets besides the command's answer: a fail point's write concern error, and the
   * error labels the driver's retries read. A copy when it changes: a retryable write's stored
   * reply is sent again on retry.
   */
  const finish = (reply: Record<string, unknown>, cmd: Record<string, unknown>, failure: FailAction | undefined): Record<string, unknown> => {
    const unmet = reply.ok === 1 && cmd.writeConcern !== undefined ? unsatisfiable(cmd.writeConcern) : undefined;
    if (reply.ok === 1 && !failure?.writeConcernError && !unmet) return reply;
    const out = { ...reply };
    if (out.ok === 1 && (failure?.writeConcernError || unmet)) out.writeConcernError = failure?.writeConcernError ?? unmet;
    const code = out.ok === 1 ? undefined : toCode(out.code);
    const wcCode = out.writeConcernError ? toCode((out.writeConcernError as Record<string, unknown>).code) : undefined;
    if (code !== undefined || wcCode !== undefined) {
      const labels = failure?.errorLabels ?? [...new Set([...((out.errorLabels as string[] | undefined) ?? []), ...errorLabelsFor(cmd, code, wcCode)])];
      if (labels.length > 0) out.errorLabels = labels;
      else delete out.errorLabels;
    }
    return out;
  };

  // Every reply carries the logical clock, as a replica set member's does: its encoded fields, with
  // the time written into them when it changes (each write: a serialization there would cost).
  const clock = clockTemplate();
  let shown: { t: number; i: number } | undefined;
  const clockTail = (): Buffer => {
    const now = engine.time;
    if (now !== shown) {
      for (const at of clock.offsets) {
        clock.tail.writeUInt32LE(now.i, at);
        clock.tail.writeUInt32LE(now.t, at + 4);
      }
      shown = now;
    }
    return clock.tail;
  };

  /** The encoded reply (undefined: none asked), or null when the command closes the connection instead. */
  const handle = (request: Request, id: number, failure?: FailAction): Buffer | undefined | null => {
    let reply: Record<string, unknown>;
    const ctx: CommandContext = { connectionId: id, host };
    try {
      reply = runner.run(request.command, ctx, failure);
    } catch (err) {
      reply = errorReply(err, log);
    }
    try {
      journal?.flush();
    } catch (err) {
      // A failed fsync (a full disk): the client hears it, the process stays up.
      reply = errorReply(err, log);
    }
    if (ctx.closeConnection) return null;
    return request.noReply ? undefined : encodeReply(request, finish(reply, request.command, failure), ++replyId, clockTail());
  };

  const server: Server = createServer((socket) => {
    const id = ++connectionId;
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let appName: string | undefined;
    // A fail point's blockConnection holds this connection's messages (in order), never the others'.
    let blocked = false;
    const out: Buffer[] = [];
    const send = (): void => {
      if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out.length = 0;
    };
    const pump = (): void => {
      try {
        while (!blocked) {
          const length = messageLength(buffered, maxBytes);
          if (length === undefined || buffered.length < length) break;
          const msg = buffered.subarray(0, length);
          buffered = buffered.subarray(length);
          const request = decode(msg);
          appName ??= appNameOf(request.command);
          const failure = failPoints?.trigger(request.command, appName);
          if (failure?.closeConnection) {
            send();
            socket.destroy();
            return;
          }
          if (failure && failure.blockTimeMS > 0) {
            send();
            blocked = true;
            setTimeout(() => {
              blocked = false;
              if (socket.destroyed) return;
              const reply = handle(request, id, failure);
              if (reply === null) return void socket.destroy();
              if (reply) socket.write(reply);
              pump();
            }, failure.blockTimeMS);
            return;
          }
          const reply = handle(request, id, failure);
          if (reply === null) {
            send();
            socket.destroy();
            return;
          }
          if (reply) out.push(reply);
        }
        send();
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        log(`connection ${id} from ${socket.remoteAddress ?? '?'}: ${err.message}; closing it`);
        out.length = 0;
        socket.destroy();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!blocked) pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      runner.connectionClosed(id, Date.now());
    });
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
    runner.expireTransactions(now);
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

/**
 * `operationTime` and `$clusterTime` as BSON elements (the store signs nothing, as a replica set
 * without keys), and where in them the two Timestamps' 8 bytes (increment, seconds) are.
 */
function clockTemplate(): { tail: Buffer; offsets: number[] } {
  const zero = new Timestamp({ t: 0, i: 0 });
  const tail = encodeElements({ operationTime: zero, $clusterTime: { clusterTime: zero, signature: SIGNATURE } });
  const valueAt = (name: string): number => tail.indexOf(Buffer.from(`\x11${name}\0`, 'latin1')) + name.length + 2;
  return { tail, offsets: [valueAt('operationTime'), valueAt('clusterTime')] };
}

/** The application name a handshake carries (`client.application.name`), which a fail point's `appName` matches. */
function appNameOf(cmd: Record<string, unknown>): string | undefined {
  const client = cmd.client as { application?: { name?: unknown } } | undefined;
  return typeof client?.application?.name === 'string' ? client.application.name : undefined;
}

function toCode(value: unknown): number | undefined {
  const n = value === undefined || value === null ? undefined : toNumber(value);
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function errorReply(err: unknown, log: (line: string) => void): Record<string, unknown> {
  if (err instanceof FailCommandError) return { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName };
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

/**
 * What a launcher tells its user when the store refuses to start on its data directory (a damaged
 * journal, a directory another store holds), the message naming the fix; `undefined` for any
 * other failure, which is a bug to show in full.
 */
export function storeRefusal(err: unknown): string | undefined {
  return err instanceof JournalError || err instanceof StoreLockedError ? `the embedded store did not start: ${err.message}` : undefined;
}
