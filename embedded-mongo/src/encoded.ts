import { serialize } from 'bson';
import { type Doc } from './values.js';

const OPTIONS = { ignoreUndefined: true } as const;

/**
 * Stored documents' BSON, encoded at their first read: a stored document never changes (a write
 * stores a new object), so every later read sends these bytes as they are.
 */
const storedBytes = new WeakMap<Doc, Uint8Array>();

/** The BSON of a reply document; kept for the next read when `stored` (the document is a stored record's). */
export function encodeDoc(doc: Doc, stored: boolean): Uint8Array {
  if (!stored) return serialize(doc, OPTIONS);
  let bytes = storedBytes.get(doc);
  if (!bytes) storedBytes.set(doc, (bytes = serialize(doc, OPTIONS)));
  return bytes;
}

/** Cursor batches whose documents are encoded already: the reply's encoder splices these bytes in. */
const batches = new WeakMap<Doc[], readonly Uint8Array[]>();

/** Registers the encoded documents of a batch (the array a cursor reply sends as `firstBatch` or `nextBatch`). */
export function setBatchBytes(batch: Doc[], bytes: readonly Uint8Array[]): void {
  batches.set(batch, bytes);
}

/** The encoded documents of a batch, when they were registered. */
export function batchBytes(batch: unknown): readonly Uint8Array[] | undefined {
  return Array.isArray(batch) ? batches.get(batch as Doc[]) : undefined;
}
