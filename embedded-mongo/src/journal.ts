import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { deserialize, serialize } from 'bson';
import { type Engine, type Op } from './engine.js';

/**
 * When the journal reaches the disk. `always`: every acknowledged write is fsynced before its
 * reply (survives a power cut). `interval`: written to the file before the reply (survives a
 * crash or kill -9 of the process) and fsynced every `fsyncIntervalMs` (a power cut may lose
 * that window).
 */
export type FsyncMode = 'always' | 'interval';

/** Options of the append-only journal. */
export interface JournalOptions {
  dir: string;
  /** Default `always`. */
  fsync?: FsyncMode;
  /** With `fsync: 'interval'`; default 100 ms. */
  fsyncIntervalMs?: number;
  log: (line: string) => void;
}

const FILE = 'journal.bin';
const RECORD_HEADER = 8;

function frame(op: Op): Buffer {
  const body = serialize(op as never, { ignoreUndefined: true });
  const out = Buffer.alloc(RECORD_HEADER + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  out.set(body, RECORD_HEADER);
  return out;
}

/** An append-only journal of applied ops: replayed and compacted on open. */
export class Journal {
  readonly #fd: number;
  readonly #mode: FsyncMode;
  readonly #timer: NodeJS.Timeout | undefined;
  #pending: Buffer[] = [];
  #dirty = false;

  private constructor(fd: number, mode: FsyncMode, intervalMs: number) {
    this.#fd = fd;
    this.#mode = mode;
    if (mode === 'interval') {
      this.#timer = setInterval(() => this.#sync(), intervalMs);
      this.#timer.unref();
    }
  }

  /** Replays the journal in `dir` into `engine`, rewrites it compacted, and opens it for appending. */
  static open(engine: Engine, options: JournalOptions): Journal {
    mkdirSync(options.dir, { recursive: true });
    const path = join(options.dir, FILE);
    if (existsSync(path)) replay(readFileSync(path), engine, options.log);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    const chunk: Buffer[] = [];
    let size = 0;
    for (const op of engine.snapshot()) {
      const buf = frame(op);
      chunk.push(buf);
      size += buf.length;
      if (size > 1 << 20) {
        writeSync(fd, Buffer.concat(chunk));
        chunk.length = 0;
        size = 0;
      }
    }
    if (chunk.length > 0) writeSync(fd, Buffer.concat(chunk));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    syncDirectory(options.dir);
    const journal = new Journal(openSync(path, 'a'), options.fsync ?? 'always', options.fsyncIntervalMs ?? 100);
    engine.onApply((op) => journal.append(op));
    return journal;
  }

  /** Queues an applied op; {@link flush} writes it before the reply goes out. */
  append(op: Op): void {
    this.#pending.push(frame(op));
  }

  /** Writes every queued op (one write for the whole command) and fsyncs in `always` mode. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    this.#pending = [];
    let written = 0;
    while (written < buf.length) written += writeSync(this.#fd, buf, written);
    this.#dirty = true;
    if (this.#mode === 'always') this.#sync();
  }

  #sync(): void {
    if (!this.#dirty) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.flush();
    this.#sync();
    closeSync(this.#fd);
  }
}

function replay(buf: Buffer, engine: Engine, log: (line: string) => void): void {
  let offset = 0;
  let count = 0;
  while (offset < buf.length) {
    const bodyLength = offset + RECORD_HEADER <= buf.length ? buf.readUInt32LE(offset) : -1;
    const end = offset + RECORD_HEADER + bodyLength;
    if (bodyLength < 0 || end > buf.length || crc32(buf.subarray(offset + RECORD_HEADER, end)) !== buf.readUInt32LE(offset + 4)) {
      log(`journal: dropped a torn or corrupt record at byte ${offset} of ${buf.length} (the last write before a crash); ${count} records replayed`);
      return;
    }
    const op = deserialize(buf.subarray(offset + RECORD_HEADER, end), { promoteValues: false }) as Op;
    engine.apply(op, false);
    count++;
    offset = end;
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Some file systems refuse to fsync a directory; the rename is still atomic there.
  }
}
