import { MongoServerError } from './errors.js';
import { type Doc, toNumber } from './values.js';

/**
 * MongoDB's `failCommand` fail point, for the driver's retry and transaction tests: the store
 * answers `configureFailPoint` only when started with test commands enabled, as mongod with
 * `enableTestCommands`. What each option does follows the server (and the specifications' test
 * README): `closeConnection` first, then `blockConnection`, then `errorCode`; `writeConcernError`
 * runs the command and adds the error to its reply.
 */

/** What a triggered fail point does to one command. */
export interface FailAction {
  closeConnection: boolean;
  /** Milliseconds the connection waits before the command runs (0: none). */
  blockTimeMS: number;
  errorCode: number | undefined;
  /** Replaces the labels the store would give the error (an empty list removes them). */
  errorLabels: string[] | undefined;
  writeConcernError: Doc | undefined;
}

/**
 * What `onPrimaryTransactionalWrite` does to one statement of a retryable write, as mongod does where
 * the statement is about to commit: it closes the connection unless `closeConnection` is false (the
 * statement still commits, the reply is lost), and with `failBeforeCommitExceptionCode` the statement
 * fails with that code instead of committing.
 */
export interface PrimaryWriteAction {
  closeConnection: boolean;
  failCode: number | undefined;
}

type Mode = { kind: 'off' } | { kind: 'alwaysOn' } | { kind: 'times'; left: number } | { kind: 'skip'; left: number } | { kind: 'random'; p: number };

// The server's RetriableError category: a retryable write (or a commit) failing with one gets RetryableWriteError.
const RETRIABLE = new Set([6, 7, 89, 91, 133, 134, 189, 202, 262, 9001, 10107, 11600, 11602, 13435, 13436]);
// Errors after which a whole transaction may be retried (the server's isTransientTransactionError).
const TRANSIENT = new Set([24, 63, 112, 150, 239, 246, 249, 250, 267, 13388]);

// Code names of the errors tests ask a fail point for; the driver reads some by name (UnknownTransactionCommitResult).
const CODE_NAMES = new Map<number, string>([
  [1, 'InternalError'],
  [2, 'BadValue'],
  [6, 'HostUnreachable'],
  [7, 'HostNotFound'],
  [11, 'UserNotFound'],
  [13, 'Unauthorized'],
  [18, 'AuthenticationFailed'],
  [20, 'IllegalOperation'],
  [24, 'LockTimeout'],
  [26, 'NamespaceNotFound'],
  [43, 'CursorNotFound'],
  [50, 'MaxTimeMSExpired'],
  [59, 'CommandNotFound'],
  [64, 'WriteConcernFailed'],
  [79, 'UnknownReplWriteConcern'],
  [89, 'NetworkTimeout'],
  [91, 'ShutdownInProgress'],
  [100, 'UnsatisfiableWriteConcern'],
  [112, 'WriteConflict'],
  [133, 'FailedToSatisfyReadPreference'],
  [134, 'ReadConcernMajorityNotAvailableYet'],
  [189, 'PrimarySteppedDown'],
  [202, 'NetworkInterfaceExceededTimeLimit'],
  [211, 'KeyNotFound'],
  [246, 'SnapshotUnavailable'],
  [251, 'NoSuchTransaction'],
  [256, 'TransactionCommitted'],
  [262, 'ExceededTimeLimit'],
  [263, 'OperationNotSupportedInTransaction'],
  [267, 'PreparedTransactionInProgress'],
  [9001, 'SocketException'],
  [10107, 'NotWritablePrimary'],
  [11000, 'DuplicateKey'],
  [11600, 'InterruptedAtShutdown'],
  [11601, 'Interrupted'],
  [11602, 'InterruptedDueToReplStateChange'],
  [13435, 'NotPrimaryNoSecondaryOk'],
  [13436, 'NotPrimaryOrSecondary'],
]);

/** The name MongoDB gives a code; an unnamed one is `Location<code>`, as the server spells it. */
export function codeNameOf(code: number): string {
  return CODE_NAMES.get(code) ?? `Location${code}`;
}

/** The error a fail point's `errorCode` makes: any code, with the server's message. */
export class FailCommandError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(code: number, message = "Failing command via 'failCommand' failpoint") {
    super(message);
    this.code = code;
    this.codeName = codeNameOf(code);
  }
}

/**
 * The labels the server puts on a failed command (its ErrorLabelBuilder): TransientTransactionError
 * for an error in a transaction the driver may retry whole, else RetryableWriteError for a
 * retriable error (or write concern error) of a retryable write or of a commit or abort.
 */
export function errorLabelsFor(cmd: Doc, code: number | undefined, wcCode: number | undefined): string[] {
  const name = Object.keys(cmd)[0] ?? '';
  const hasTxnNumber = cmd.txnNumber !== undefined;
  const inTxn = cmd.autocommit !== undefined;
  const commitOrAbort = name === 'commitTransaction' || name === 'abortTransaction';
  if (code !== undefined && hasTxnNumber && inTxn) {
    let transient = TRANSIENT.has(code);
    if (commitOrAbort) transient ||= code === 251 && wcCode === undefined;
    else transient ||= RETRIABLE.has(code) || code === 251;
    if (transient) return ['TransientTransactionError'];
  }
  if (hasTxnNumber && (!inTxn || commitOrAbort)) {
    if ((code !== undefined && RETRIABLE.has(code)) || (wcCode !== undefined && RETRIABLE.has(wcCode))) return ['RetryableWriteError'];
  }
  return [];
}

/** The store's fail points: `failCommand` and `onPrimaryTransactionalWrite`. */
export class FailPoints {
  #mode: Mode = { kind: 'off' };
  #data: Doc = {};
  #entered = 0;
  #write: { mode: Mode; data: Doc; entered: number } = { mode: { kind: 'off' }, data: {}, entered: 0 };

  /** Runs `configureFailPoint`; answers as the server does, with how often the fail point triggered before. */
  configure(cmd: Doc): Doc {
    const name = cmd.configureFailPoint;
    if (name === 'onPrimaryTransactionalWrite') {
      const count = this.#write.entered;
      this.#write = { mode: parseMode(cmd.mode), data: (cmd.data ?? {}) as Doc, entered: 0 };
      return { count, ok: 1 };
    }
    if (name !== 'failCommand') {
      throw new MongoServerError('BadValue', `Cannot find failpoint: ${String(name)} (the embedded store has failCommand and onPrimaryTransactionalWrite)`);
    }
    const mode = parseMode(cmd.mode);
    const data = (cmd.data ?? {}) as Doc;
    if (mode.kind !== 'off') {
      const commands = data.failCommands;
      if (data.failAllCommands !== true && (!Array.isArray(commands) || commands.some((c) => typeof c !== 'string'))) {
        throw new MongoServerError('BadValue', 'failCommand needs data.failCommands, an array of command names');
      }
      if (data.blockConnection === true && (data.blockTimeMS === undefined || toNumber(data.blockTimeMS) < 0)) {
        throw new MongoServerError('InvalidOptions', "must specify 'blockTimeMS' when 'blockConnection' is true");
      }
    }
    const count = this.#entered;
    this.#mode = mode;
    this.#data = data;
    this.#entered = 0;
    return { count, ok: 1 };
  }

  /** What the fail point does to this command from a client named `appName`, counting it as one trigger; undefined when it does not apply. */
  trigger(cmd: Doc, appName: string | undefined): FailAction | undefined {
    const mode = this.#mode;
    if (mode.kind === 'off') return undefined;
    const name = Object.keys(cmd)[0] ?? '';
    const data = this.#data;
    // configureFailPoint is never failed, so that a test can always turn the fail point off.
    if (name === 'configureFailPoint') return undefined;
    if (data.failAllCommands !== true && !(data.failCommands as string[]).includes(name)) return undefined;
    if (typeof data.appName === 'string' && data.appName !== appName) return undefined;
    if (typeof data.namespace === 'string' && data.namespace !== `${String(cmd.$db)}.${String(cmd[name])}`) return undefined;
    const action: FailAction = {
      closeConnection: data.closeConnection === true,
      blockTimeMS: data.blockConnection === true ? toNumber(data.blockTimeMS) : 0,
      errorCode: data.errorCode !== undefined ? toNumber(data.errorCode) : undefined,
      errorLabels: Array.isArray(data.errorLabels) ? (data.errorLabels as string[]) : undefined,
      writeConcernError: data.writeConcernError as Doc | undefined,
    };
    if (!action.closeConnection && action.blockTimeMS <= 0 && action.errorCode === undefined && !action.writeConcernError) return undefined;
    if (!fires(mode)) return undefined;
    if (mode.kind === 'times' && mode.left <= 0) this.#mode = { kind: 'off' };
    this.#entered++;
    return action;
  }

  /** Whether `onPrimaryTransactionalWrite` may trigger: retryable writes then run statement by statement. */
  get primaryWriteArmed(): boolean {
    return this.#write.mode.kind !== 'off';
  }

  /** What `onPrimaryTransactionalWrite` does to a retryable write's statement about to commit, counting it; undefined when it does not trigger. */
  primaryWrite(): PrimaryWriteAction | undefined {
    const point = this.#write;
    if (!fires(point.mode)) return undefined;
    if (point.mode.kind === 'times' && point.mode.left <= 0) point.mode = { kind: 'off' };
    point.entered++;
    const code = point.data.failBeforeCommitExceptionCode;
    // mongod closes the connection unless told not to (an absent closeConnection means true).
    return { closeConnection: point.data.closeConnection !== false, failCode: code !== undefined ? toNumber(code) : undefined };
  }
}

/** Whether a fail point in `mode` triggers now (a `times` mode counted down, a `skip` one too). */
function fires(mode: Mode): boolean {
  switch (mode.kind) {
    case 'off':
      return false;
    case 'skip':
      if (mode.left <= 0) return true;
      mode.left--;
      return false;
    case 'random':
      return Math.random() < mode.p;
    case 'times':
      mode.left--;
      return true;
    default:
      return true;
  }
}

function parseMode(mode: unknown): Mode {
  if (mode === 'off') return { kind: 'off' };
  if (mode === 'alwaysOn') return { kind: 'alwaysOn' };
  if (mode !== null && typeof mode === 'object') {
    const m = mode as Doc;
    if (m.times !== undefined) {
      const n = toNumber(m.times);
      return n > 0 ? { kind: 'times', left: n } : { kind: 'off' };
    }
    if (m.skip !== undefined) return { kind: 'skip', left: toNumber(m.skip) };
    if (m.activationProbability !== undefined) return { kind: 'random', p: toNumber(m.activationProbability) };
  }
  throw new MongoServerError(
    'BadValue',
    `invalid fail point mode ${JSON.stringify(mode)}: 'alwaysOn', 'off', { times: n }, { skip: n } or { activationProbability: p }`,
  );
}
