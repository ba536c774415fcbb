/** MongoDB server error codes the store answers with (names as the server spells them). */
export const ErrorCodes = Object.freeze({
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  WriteConflict: 112,
  CommandNotSupported: 115,
  DocumentValidationFailure: 121,
  CommandNotSupportedOnView: 166,
  OptionNotSupportedOnView: 167,
  InvalidPipelineOperator: 168,
  ViewDepthLimitExceeded: 175,
  QueryFeatureNotAllowed: 224,
  SnapshotTooOld: 239,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  OperationNotSupportedInTransaction: 263,
  Location40414: 40414,
  Location17276: 17276,
  Location40323: 40323,
  Location40324: 40324,
  Location40415: 40415,
  DuplicateKey: 11000,
  Location50791: 50791,
  OutOfDiskSpace: 14031,
  // Field names and _id (storage rules), the $out and $merge stages, the collectionless aggregate.
  NotSingleValueField: 28,
  DollarPrefixedFieldName: 52,
  InvalidIdField: 53,
  MergeStageNoMatchingDocument: 13113,
  Location17385: 17385,
  Location40228: 40228,
  Location5858203: 5858203,
  Location31319: 31319,
  Location31320: 31320,
  Location31321: 31321,
  Location31441: 31441,
  Location31465: 31465,
  Location40600: 40600,
  Location40601: 40601,
  Location40602: 40602,
  Location51047: 51047,
  Location51132: 51132,
  Location51181: 51181,
  Location51183: 51183,
  Location51185: 51185,
  Location51199: 51199,
  Location51273: 51273,
} as const);

/** The name of an error code in {@link ErrorCodes}. */
export type ErrorCodeName = keyof typeof ErrorCodes;

/** An error the store answers to the client as `{ ok: 0, code, codeName, errmsg }`. */
export class MongoServerError extends Error {
  readonly code: number;
  readonly codeName: ErrorCodeName;
  readonly errorLabels: string[];
  readonly extra: Record<string, unknown>;

  constructor(codeName: ErrorCodeName, message: string, extra: Record<string, unknown> = {}, labels: string[] = []) {
    super(message);
    this.codeName = codeName;
    this.code = ErrorCodes[codeName];
    this.extra = extra;
    this.errorLabels = labels;
  }
}

/** Shorthand for a `BadValue` error. */
export function badValue(message: string): MongoServerError {
  return new MongoServerError('BadValue', message);
}
