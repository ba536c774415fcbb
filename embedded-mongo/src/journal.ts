import {
  closeSync,
  copyFileSync,
  constants,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { deserialize, serialize } from 'bson';
import { type Engine, type Op } from './engine.js';
import { MongoServerError } from './errors.js';

/**
 * When the journal reaches the disk. `always`: every acknowledged write is fsynced before its
 * reply (survives a power cut). `interval`: written to the file before the reply (survives a
 * crash or kill -9 of the process) and fsynced every `fsyncIntervalMs` (a power cut may lose
 * that window).
 */
export type FsyncMode = 'always' | 'interval';

/**
 * The journal's file writes and its look at the free space: node:fs by default. A test passes
 * one whose writes fail as a full disk's do (a real `ENOSPC` from `/dev/full`).
 */
export interface JournalFiles {
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
  /** Bytes free for this process on the file system of `dir` (undefined: unknown). */
  freeBytes(dir: string): number | undefined;
}

/** The files of node:fs. */
export const NODE_FILES: JournalFiles = {
  writeSync: (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length),
  freeBytes: (dir) => {
    try {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    } catch {
      return undefined;
    }
  },
};

/** Options of the append-only journal. */
export interface JournalOptions {
  dir: string;
  /** Default `always`. */
  fsync?: FsyncMode;
  /** With `fsync: 'interval'`; default 100 ms. */
  fsyncIntervalMs?: number;
  /** Start from the valid records of a damaged journal, keeping the damaged file aside. */
  salvage?: boolean;
  files?: JournalFiles;
  log: (line: string) => void;
}

/** A journal the store refuses to start from, saying why and what to do. */
export class JournalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JournalError';
  }
}

/** A journal damaged before its end: the start is refused (nothing is changed) unless salvaging. */
export class JournalCorruptError extends JournalError {
  readonly file: string;
  /** The first damaged byte. */
  readonly offset: number;
  /** Records (and bytes) valid before the damage. */
  readonly recordsBefore: number;
  /** Valid records after the damage, and where the first of them starts. */
  readonly recordsAfter: number;
  readonly nextValidOffset: number;

  constructor(file: string, survey: Survey) {
    const [first, second] = survey.segments as [Segment, Segment];
    const after = survey.segments.slice(1);
    const recordsAfter = after.reduce((n, s) => n + s.records, 0);
    const bytesAfter = after.reduce((n, s) => n + s.end - s.start, 0);
    super(
      `journal ${file} is damaged at byte ${first.end} of ${survey.size}: ${first.records} records (${first.end} bytes) before it are valid, ` +
        `and ${recordsAfter} valid records (${bytesAfter} bytes) follow it from byte ${second.start}, so it is not a write cut off by a crash. ` +
        'Nothing was changed. To start from the valid records before and after the damage, keeping the damaged file aside: ' +
        `npm run mongo -- --dir ${survey.dir} --salvage (or startEmbeddedMongo({ dir, salvage: true })); see docs/contributing.md`,
    );
    this.name = 'JournalCorruptError';
    this.file = file;
    this.offset = first.end;
    this.recordsBefore = first.records;
    this.recordsAfter = recordsAfter;
    this.nextValidOffset = second.start;
  }
}

const FILE = 'journal.bin';
const RECORD_HEADER = 8;
/** The smallest BSON document: its length and its terminating zero. */
const MIN_BODY = 5;
/** Room kept free beyond a compacted copy's size before writing one. */
const FREE_MARGIN = 64 * 1024;
/** What a change's `t` looks like (`put`, `dropIndex`, ...): a resync also accepts kinds added after this was written. */
const OP_KIND = /^[A-Za-z]{1,32}$/;

/**
 * A record: body length, CRC-32 of the body, the body (one BSON op). The CRC covers the body,
 * and the length must equal the BSON document's own length (the body's first 4 bytes, which
 * the CRC covers), so a damaged byte anywhere in a record is caught.
 */
function frame(op: Op): Buffer {
  const body = serialize(op, { ignoreUndefined: true });
  const out = Buffer.alloc(RECORD_HEADER + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(body), 4);
  out.set(body, RECORD_HEADER);
  return out;
}

/** The end of the valid record at `offset`, or -1. */
function recordEnd(buf: Buffer, offset: number): number {
  if (offset + RECORD_HEADER + MIN_BODY > buf.length) return -1;
  const length = buf.readUInt32LE(offset);
  const end = offset + RECORD_HEADER + length;
  if (length < MIN_BODY || end > buf.length || buf.readInt32LE(offset + RECORD_HEADER) !== length || buf[end - 1] !== 0) return -1;
  return crc32(buf.subarray(offset + RECORD_HEADER, end)) === buf.readUInt32LE(offset + 4) ? end : -1;
}

/** The next offset from `from` where a valid record starts (one that decodes to an op), or -1. */
function resync(buf: Buffer, from: number): number {
  for (let at = from; at + RECORD_HEADER + MIN_BODY <= buf.length; at++) {
    // The cheap tests first: this runs at every byte of a damaged stretch.
    const length = buf.readUInt32LE(at);
    if (length < MIN_BODY || at + RECORD_HEADER + length > buf.length || buf.readInt32LE(at + RECORD_HEADER) !== length) continue;
    const end = recordEnd(buf, at);
    if (end > 0 && isOp(buf.subarray(at + RECORD_HEADER, end))) return at;
  }
  return -1;
}

function isOp(body: Buffer): boolean {
  try {
    const op = deserialize(body, { promoteValues: false }) as { t?: unknown };
    return typeof op.t === 'string' && OP_KIND.test(op.t);
  } catch {
    return false;
  }
}

/** A run of valid records. */
interface Segment {
  start: number;
  end: number;
  records: number;
}

/** A journal file read through: its runs of valid records; more than one means damage before the end. */
interface Survey {
  dir: string;
  size: number;
  segments: Segment[];
}

function survey(dir: string, buf: Buffer): Survey {
  const segments: Segment[] = [];
  let offset = 0;
  for (;;) {
    const start = offset;
    let records = 0;
    for (let end = recordEnd(buf, offset); end > 0; end = recordEnd(buf, offset)) {
      records++;
      offset = end;
    }
    segments.push({ start, end: offset, records });
    if (offset >= buf.length) break;
    const next = resync(buf, offset + 1);
    if (next < 0) break;
    offset = next;
  }
  return { dir, size: buf.length, segments };
}

function replaySegment(buf: Buffer, segment: Segment, engine: Engine, file: string): void {
  for (let offset = segment.start; offset < segment.end;) {
    const end = offset + RECORD_HEADER + buf.readUInt32LE(offset);
    const op = deserialize(buf.subarray(offset + RECORD_HEADER, end), { promoteValues: false }) as Op;
    try {
      engine.apply(op, false);
    } catch (err) {
      throw new JournalError(`journal ${file}: the record at byte ${offset} could not be applied: ${(err as Error).message}`, { cause: err });
    }
    offset = end;
  }
}

/** An append-only journal of applied ops: replayed and compacted on open. */
export class Journal {
  readonly #fd: number;
  readonly #mode: FsyncMode;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #files: JournalFiles;
  readonly #log: (line: string) => void;
  readonly #path: string;
  /** The file's length after the last whole record: a failed write is cut back to it. */
  #size: number;
  /** A failed write could not be cut back: the next write does it first. */
  #cutPending = false;
  #dirty = false;
  /** The failure being reported: logged once, and once when that works again. */
  #failing: { what: 'write' | 'fsync'; code: string } | undefined;

  private constructor(fd: number, size: number, path: string, options: JournalOptions) {
    this.#fd = fd;
    this.#size = size;
    this.#path = path;
    this.#mode = options.fsync ?? 'always';
    this.#files = options.files ?? NODE_FILES;
    this.#log = options.log;
    if (this.#mode === 'interval') {
      this.#timer = setInterval(() => this.#syncInBackground(), options.fsyncIntervalMs ?? 100);
      this.#timer.unref();
    }
  }

  /**
   * Replays the journal in `dir` into `engine`, rewrites it compacted when that is safe, and opens
   * it for appending. A journal damaged before its end is refused with {@link JournalCorruptError}
   * (nothing changed) unless `salvage` is set.
   */
  static open(engine: Engine, options: JournalOptions): Journal {
    const { dir, log } = options;
    const files = options.files ?? NODE_FILES;
    mkdirSync(dir, { recursive: true });
    const path = join(dir, FILE);
    const tmp = `${path}.tmp`;
    if (!existsSync(path) && existsSync(tmp) && statSync(tmp).size > 0) {
      throw new JournalError(`journal ${path} is missing but ${tmp} is there: rename it to ${FILE} to start from it, or remove it to start empty`);
    }
    const buf = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    const found = survey(dir, buf);
    const damaged = found.segments.length > 1;
    if (damaged && !options.salvage) throw new JournalCorruptError(path, found);
    const [first] = found.segments as [Segment];
    const replayed = damaged ? found.segments : [first];
    for (const segment of replayed) replaySegment(buf, segment, engine, path);
    const records = replayed.reduce((n, s) => n + s.records, 0);
    const validBytes = replayed.reduce((n, s) => n + s.end - s.start, 0);
    const tail = found.segments.at(-1)!;
    if (!damaged && tail.end < buf.length) {
      const torn = buf.length - tail.end;
      log(`journal: dropped a torn last record at byte ${tail.end} of ${buf.length} (${torn} bytes: a write cut off by a crash); ${records} records replayed`);
    }
    if (existsSync(tmp)) {
      // Never renamed over the journal, so the journal has all it holds.
      unlinkSync(tmp);
      log(`journal: removed ${tmp}, left by a compaction that did not finish (${FILE} is the journal)`);
    }

    if (damaged) {
      const compacted = compact(engine, dir, path, files, validBytes);
      if (!compacted.ok) {
        throw new JournalError(`journal ${path}: salvage could not write the valid records (${compacted.why}); nothing was changed`);
      }
      let aside: string;
      try {
        aside = keepAside(path);
      } catch (err) {
        unlinkSync(tmp);
        const why = (err as Error).message;
        throw new JournalError(`journal ${path}: salvage could not keep the damaged file aside (${why}); nothing was changed`, { cause: err });
      }
      renameSync(tmp, path);
      syncDirectory(dir);
      const gaps = found.segments.slice(1).map((s, i) => `bytes ${found.segments[i]!.end}-${s.start}`);
      if (tail.end < buf.length) gaps.push(`bytes ${tail.end}-${buf.length} (the end)`);
      log(
        `journal: salvaged ${path}: ${records} valid records replayed, the damaged ${gaps.join(', ')} skipped ` +
          `(a write recorded there is lost); the damaged file is kept as ${aside}`,
      );
      return Journal.#append(engine, path, options);
    }
    if (options.salvage) log(`journal: salvage asked for, but ${path} is not damaged: nothing to salvage`);
    // The compacted copy is at most the journal's size: without room for that, keep the journal as it is.
    const compacted = compact(engine, dir, path, files, buf.length);
    if (compacted.ok) {
      renameSync(tmp, path);
      syncDirectory(dir);
    } else {
      log(`journal: not compacted on start (${compacted.why}); appending to ${path} as it is, compacted on a later start with more space`);
      if (tail.end < buf.length) {
        // The torn tail goes, or the next record would follow half a record.
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, tail.end);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    return Journal.#append(engine, path, options);
  }

  static #append(engine: Engine, path: string, options: JournalOptions): Journal {
    const fd = openSync(path, 'a');
    const journal = new Journal(fd, fstatSync(fd).size, path, options);
    engine.onApply((op) => journal.append(op));
    return journal;
  }

  /**
   * Writes an op before it is applied. A write that fails (a full disk) is cut back out of the
   * file and thrown (`OutOfDiskSpace` for a full disk): the op is then not applied. Returns how
   * to take the record back out when applying it fails.
   */
  append(op: Op): () => void {
    const buf = frame(op);
    const start = this.#size;
    try {
      if (this.#cutPending) this.#cut();
      let written = 0;
      while (written < buf.length) written += this.#files.writeSync(this.#fd, buf, written, buf.length - written);
    } catch (err) {
      this.#cutPending = true;
      try {
        this.#cut();
      } catch {
        // Cut before the next write; a refused write never leaves half a record before another.
      }
      throw this.#failed(err, 'write');
    }
    this.#size = start + buf.length;
    this.#dirty = true;
    this.#recovered('write');
    return () => {
      this.#size = start;
      this.#cutPending = true;
      try {
        this.#cut();
      } catch {
        // Cut before the next write or at close.
      }
    };
  }

  #cut(): void {
    ftruncateSync(this.#fd, this.#size);
    this.#cutPending = false;
  }

  /** Makes the command's writes durable: fsyncs in `always` mode (the writes themselves are done). */
  flush(): void {
    if (this.#mode !== 'always' || !this.#dirty) return;
    try {
      fdatasyncSync(this.#fd);
      this.#dirty = false;
    } catch (err) {
      throw this.#failed(err, 'fsync');
    }
    this.#recovered('fsync');
  }

  #syncInBackground(): void {
    if (!this.#dirty) return;
    try {
      fdatasyncSync(this.#fd);
      this.#dirty = false;
    } catch (err) {
      // Retried at the next tick; the writes are in the file already.
      this.#failed(err, 'fsync');
      return;
    }
    this.#recovered('fsync');
  }

  /** The error a client gets for a failed journal write, logged once per episode. */
  #failed(err: unknown, what: 'write' | 'fsync'): Error {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (this.#failing?.what !== what || this.#failing.code !== code) {
      this.#failing = { what, code };
      const meanwhile = what === 'write' ? 'writes are refused and reads served' : 'written changes may not survive a power cut';
      this.#log(`journal: ${what} to ${this.#path} failed (${code}): ${meanwhile} until it works again`);
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const outcome = what === 'write' ? 'the write was not applied' : 'the write is applied but may not survive a power cut';
      const message = `the embedded store's disk is full (${code} on its journal): ${outcome}; writes work again when space is freed`;
      return new MongoServerError('OutOfDiskSpace', message);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  #recovered(what: 'write' | 'fsync'): void {
    if (this.#failing?.what !== what) return;
    this.#log(`journal: ${what}s to ${this.#path} work again (after ${this.#failing.code})`);
    this.#failing = undefined;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    try {
      if (this.#cutPending) this.#cut();
      if (this.#dirty) fdatasyncSync(this.#fd);
    } catch (err) {
      this.#log(`journal: closing ${this.#path}: ${(err as Error).message}`);
    }
    closeSync(this.#fd);
  }
}

/**
 * Writes the engine's state, compacted, to `journal.bin.tmp`, fsyncs it and reads it back; the
 * caller renames it over the journal. Refused without room for `upTo` bytes; on any failure the
 * journal is untouched and the temporary file removed.
 */
function compact(engine: Engine, dir: string, path: string, files: JournalFiles, upTo: number): { ok: true } | { ok: false; why: string } {
  const free = files.freeBytes(dir);
  if (free !== undefined && free < upTo + FREE_MARGIN) {
    return { ok: false, why: `${free} bytes free on its disk, the compacted copy may need up to ${upTo}` };
  }
  const tmp = `${path}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (err) {
    return { ok: false, why: `creating ${tmp}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let written = 0;
  let records = 0;
  let crc = 0;
  try {
    const chunk: Buffer[] = [];
    let size = 0;
    const write = (): void => {
      const buf = Buffer.concat(chunk);
      for (let at = 0; at < buf.length;) at += files.writeSync(fd, buf, at, buf.length - at);
      crc = crc32(buf, crc);
      written += buf.length;
      chunk.length = 0;
      size = 0;
    };
    for (const op of engine.snapshot()) {
      const buf = frame(op);
      chunk.push(buf);
      size += buf.length;
      records++;
      if (size > 1 << 20) write();
    }
    if (chunk.length > 0) write();
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    return { ok: false, why: `writing ${tmp}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  closeSync(fd);
  // Read back before it replaces anything: the same bytes, and a journal of as many whole records.
  const back = readFileSync(tmp);
  const check = survey(dir, back);
  const [only] = check.segments as [Segment];
  if (back.length !== written || crc32(back) !== crc || check.segments.length !== 1 || only.end !== written || only.records !== records) {
    unlinkSync(tmp);
    return { ok: false, why: `${tmp} did not read back as written (${back.length} of ${written} bytes); the journal is kept` };
  }
  return { ok: true };
}

/** Keeps the damaged journal under a new name that nothing overwrites: a hard link, else a copy. */
function keepAside(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const aside = `${path}.damaged-${stamp}${n > 0 ? `-${n}` : ''}`;
    try {
      linkSync(path, aside);
      return aside;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      copyFileSync(path, aside, constants.COPYFILE_EXCL);
      return aside;
    }
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
