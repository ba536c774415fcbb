import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file in a data directory: one store owns the directory at a time. */
export const LOCK_FILE = 'store.lock';

/** What the lock file says about its holder (one line of JSON). */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO time). */
  startedAt: string;
  /** Linux: the boot and the process's start (clock ticks since boot), so a reused pid is not taken for the holder. */
  bootId?: string;
  processStart?: string;
  /** Which of a process's stores holds it (two stores in one process share the pid). */
  token: string;
}

/** A second store on a directory another store holds. */
export class StoreLockedError extends Error {
  readonly lockFile: string;
  readonly holder: LockHolder | undefined;

  constructor(lockFile: string, holder: LockHolder | undefined, dir: string) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}` : 'a store that is writing its lock file just now';
    const elsewhere = holder && holder.host !== hostname() ? `; if no store runs on ${holder.host} any more, remove ${lockFile}` : '';
    super(`the data directory ${dir} is in use by another store (${who}; lock file ${lockFile}): stop that store or use another directory${elsewhere}`);
    this.name = 'StoreLockedError';
    this.lockFile = lockFile;
    this.holder = holder;
  }
}

/** A held lock. */
export interface DirectoryLock {
  readonly file: string;
  /** Removes the lock file if it is still this lock's. */
  release(): void;
}

/**
 * Takes the lock of `dir`: creates the lock file exclusively with this process as its holder. A
 * lock whose holder is gone (its pid not running on this host, or now another process, or a lock
 * from before the machine restarted) is taken over, with a log line; a live holder's is refused
 * with {@link StoreLockedError}.
 */
export function lockDirectory(dir: string, log: (line: string) => void): DirectoryLock {
  const file = join(dir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...linuxIdentity(process.pid),
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(file, `${JSON.stringify(me)}\n`)) return { file, release: () => release(file, me.token) };
    const raw = read(file);
    if (raw === undefined) continue;
    const holder = parse(raw);
    const gone = holder ? goneWhy(holder) : emptyAndOld(file);
    if (gone === undefined) throw new StoreLockedError(file, holder, dir);
    if (takeOver(file, raw)) {
      const who = holder ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}` : 'an empty or unreadable lock file';
      log(`lock: took over ${file} from ${who}: ${gone}`);
    }
  }
  throw new StoreLockedError(file, undefined, dir);
}

/** Creates the lock file with its content; false when it exists. */
function create(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    // A lock naming nobody would block the next start: none at all, and say why.
    closeSync(fd);
    unlinkSync(file);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(`cannot write the lock file ${file} (${code}): a few kB must be free to start the store`, { cause: err });
  }
  closeSync(fd);
  return true;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse(raw: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(raw) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Why the holder is gone, or undefined while it may be alive. */
function goneWhy(holder: LockHolder): string | undefined {
  // Another host's processes cannot be seen from here.
  if (holder.host !== hostname()) return undefined;
  const now = linuxIdentity(holder.pid);
  if (holder.bootId && now.bootId && holder.bootId !== now.bootId) return 'the machine has restarted since';
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return `pid ${holder.pid} is not running`;
    return undefined; // EPERM: alive, another user's
  }
  if (holder.processStart && now.processStart && holder.processStart !== now.processStart) return `pid ${holder.pid} is another process now`;
  return undefined;
}

/** An empty or unreadable lock is a start cut off between creating and writing it, unless it is new. */
function emptyAndOld(file: string): string | undefined {
  try {
    return Date.now() - statSync(file).mtimeMs > 5000 ? 'it names no holder and is older than 5 s' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the stale lock `raw` unless another store replaced it meanwhile: moved aside first (one
 * mover wins), and put back when what was moved is not the lock judged stale.
 */
function takeOver(file: string, raw: string): boolean {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = read(aside);
  if (moved !== raw) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone holds the name again already: theirs stands.
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

function release(file: string, token: string): void {
  const raw = read(file);
  if (raw !== undefined && parse(raw)?.token === token) unlinkSync(file);
}

/** Linux: the boot id and a process's start time; elsewhere nothing (the pid alone is checked). */
function linuxIdentity(pid: number): { bootId?: string; processStart?: string } {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which may hold spaces and parentheses.
    const processStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return processStart ? { bootId, processStart } : { bootId };
  } catch {
    return {};
  }
}
