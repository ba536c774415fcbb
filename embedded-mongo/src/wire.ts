import { type Document, deserialize, serialize } from 'bson';
import { batchBytes } from './encoded.js';

/** Opcodes of the MongoDB wire protocol that the store speaks. */
export const OpCode = Object.freeze({ REPLY: 1, QUERY: 2004, COMPRESSED: 2012, MSG: 2013 } as const);

const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;
const EXHAUST_ALLOWED = 1 << 16;
const KNOWN_FLAGS = CHECKSUM_PRESENT | MORE_TO_COME | EXHAUST_ALLOWED;
const HEADER = 16;

// Keep numbers as their BSON wrappers so that their types survive the round trip.
const DESERIALIZE = { promoteValues: false, promoteBuffers: false, bsonRegExp: false } as const;

/** A request decoded from one wire message. */
export interface Request {
  requestId: number;
  opCode: number;
  /** The command: OP_MSG's body with its document sequences merged in, or OP_QUERY's query. */
  command: Document;
  /** OP_MSG with moreToCome: the client wants no reply (unacknowledged writes). */
  noReply: boolean;
}

/** A message the store cannot read: the connection that sent it is closed. */
export class ProtocolError extends Error {}

let table: Uint32Array | undefined;

/** CRC-32C (Castagnoli), the checksum OP_MSG carries when its checksum flag is set. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = table[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The length a complete message at the start of `buf` declares, or undefined when not enough has arrived. */
export function messageLength(buf: Buffer, maxBytes: number): number | undefined {
  if (buf.length < 4) return undefined;
  const length = buf.readInt32LE(0);
  if (length < HEADER || length > maxBytes) {
    throw new ProtocolError(`message length ${length} is outside 16..${maxBytes} bytes`);
  }
  return length;
}

function readDocument(buf: Buffer, offset: number, end: number, body = false): [Document, number] {
  if (offset + 5 > end) throw new ProtocolError('truncated BSON document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new ProtocolError(`BSON document of ${size} bytes overruns its message`);
  try {
    const bytes = body ? withoutClusterTime(buf, offset, offset + size) : buf.subarray(offset, offset + size);
    return [deserialize(bytes, DESERIALIZE), offset + size];
  } catch (err) {
    throw new ProtocolError(`invalid BSON: ${(err as Error).message}`);
  }
}

const CLUSTER_TIME = Buffer.from('$clusterTime', 'latin1');

/**
 * A command's bytes without its top-level `$clusterTime`: the driver gossips it back with every
 * command, and the store has no use for it, so it is not decoded (a Timestamp, a Binary and a
 * Long each time). Anything the walk does not expect leaves the bytes whole.
 */
function withoutClusterTime(buf: Buffer, start: number, end: number): Buffer {
  const whole = buf.subarray(start, end);
  const hit = buf.indexOf(CLUSTER_TIME, start);
  if (hit < 0 || hit >= end) return whole;
  let pos = start + 4;
  while (pos < end - 1) {
    const type = buf[pos]!;
    const nameEnd = buf.indexOf(0, pos + 1);
    if (nameEnd < 0 || nameEnd >= end) return whole;
    const next = valueEnd(buf, type, nameEnd + 1);
    if (next <= nameEnd || next > end - 1) return whole;
    if (type === 0x03 && nameEnd - pos - 1 === CLUSTER_TIME.length && buf.compare(CLUSTER_TIME, 0, CLUSTER_TIME.length, pos + 1, nameEnd) === 0) {
      const out = Buffer.allocUnsafe(end - start - (next - pos));
      buf.copy(out, 0, start, pos);
      buf.copy(out, pos - start, next, end);
      out.writeInt32LE(out.length, 0);
      return out;
    }
    pos = next;
  }
  return whole;
}

/** Where the value of a BSON element of `type` that starts at `at` ends; -1 for a type not walked. */
function valueEnd(buf: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // int64
      return at + 8;
    case 0x02: // string
    case 0x0d: // JavaScript code
    case 0x0e: // symbol
      return at + 4 + buf.readInt32LE(at);
    case 0x03: // document
    case 0x04: // array
    case 0x0f: // code with scope
      return at + buf.readInt32LE(at);
    case 0x05: // binary: length, subtype, bytes
      return at + 5 + buf.readInt32LE(at);
    case 0x06: // undefined
    case 0x0a: // null
    case 0x7f: // max key
    case 0xff: // min key
      return at;
    case 0x07: // ObjectId
      return at + 12;
    case 0x08: // boolean
      return at + 1;
    case 0x10: // int32
      return at + 4;
    case 0x13: // decimal128
      return at + 16;
    default:
      return -1;
  }
}

/** Decodes one whole message (header included). */
export function decode(msg: Buffer): Request {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OpCode.MSG) return decodeMsg(msg, requestId);
  if (opCode === OpCode.QUERY) return decodeQuery(msg, requestId);
  throw new ProtocolError(`unsupported opcode ${opCode}`);
}

function decodeMsg(msg: Buffer, requestId: number): Request {
  if (msg.length < HEADER + 5) throw new ProtocolError('OP_MSG too short');
  const flags = msg.readUInt32LE(HEADER);
  if ((flags & 0xffff & ~KNOWN_FLAGS) !== 0) throw new ProtocolError(`OP_MSG has unknown required flags ${flags}`);
  let end = msg.length;
  if (flags & CHECKSUM_PRESENT) {
    end -= 4;
    if (end < HEADER + 4) throw new ProtocolError('OP_MSG too short for its checksum');
    if (crc32c(msg, 0, end) !== msg.readUInt32LE(end)) throw new ProtocolError('OP_MSG checksum mismatch');
  }
  let offset = HEADER + 4;
  let body: Document | undefined;
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = msg[offset++];
    if (kind === 0) {
      if (body) throw new ProtocolError('OP_MSG has more than one body section');
      [body, offset] = readDocument(msg, offset, end, true);
    } else if (kind === 1) {
      if (offset + 4 > end) throw new ProtocolError('truncated document sequence');
      const size = msg.readInt32LE(offset);
      const seqEnd = offset + size;
      if (size < 5 || seqEnd > end) throw new ProtocolError('document sequence overruns its message');
      const nul = msg.indexOf(0, offset + 4);
      if (nul < 0 || nul >= seqEnd) throw new ProtocolError('document sequence has no identifier');
      const id = msg.toString('utf8', offset + 4, nul);
      const docs: Document[] = [];
      let pos = nul + 1;
      while (pos < seqEnd) {
        let doc: Document;
        [doc, pos] = readDocument(msg, pos, seqEnd);
        docs.push(doc);
      }
      sequences[id] = docs;
      offset = seqEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${String(kind)}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG has no body section');
  for (const [id, docs] of Object.entries(sequences)) body[id] = docs;
  return { requestId, opCode: OpCode.MSG, command: body, noReply: (flags & MORE_TO_COME) !== 0 };
}

function decodeQuery(msg: Buffer, requestId: number): Request {
  const nul = msg.indexOf(0, HEADER + 4);
  if (nul < 0) throw new ProtocolError('OP_QUERY has no collection name');
  const collection = msg.toString('utf8', HEADER + 4, nul);
  const [query] = readDocument(msg, nul + 1 + 8, msg.length);
  const command = (query.$query as Document | undefined) ?? query;
  const db = collection.endsWith('.$cmd') ? collection.slice(0, -5) : collection;
  return { requestId, opCode: OpCode.QUERY, command: { ...command, $db: db }, noReply: false };
}

/**
 * The BSON elements of `fields`, to append to replies with {@link encodeReply}: fields every
 * reply carries (the logical clock) are encoded once, not per reply.
 */
export function encodeElements(fields: Document): Buffer {
  const doc = serialize(fields);
  return Buffer.from(doc.buffer, doc.byteOffset + 4, doc.length - 5);
}

/**
 * Encodes a reply in the form the request came in: OP_MSG, or OP_REPLY for a legacy OP_QUERY.
 * `tail` (from {@link encodeElements}) is appended to the reply document's fields.
 */
export function encodeReply(request: Request, reply: Document, requestId: number, tail?: Buffer): Buffer {
  const doc = encodeDocument(reply);
  const extra = tail?.length ?? 0;
  const size = doc.length + extra;
  let at: number;
  let out: Buffer;
  if (request.opCode === OpCode.QUERY) {
    out = Buffer.allocUnsafe(HEADER + 20 + size);
    writeHeader(out, requestId, request.requestId, OpCode.REPLY);
    out.writeInt32LE(0, HEADER);
    out.writeBigInt64LE(0n, HEADER + 4);
    out.writeInt32LE(0, HEADER + 12);
    out.writeInt32LE(1, HEADER + 16);
    at = HEADER + 20;
  } else {
    out = Buffer.allocUnsafe(HEADER + 5 + size);
    writeHeader(out, requestId, request.requestId, OpCode.MSG);
    out.writeUInt32LE(0, HEADER);
    out.writeUInt8(0, HEADER + 4);
    at = HEADER + 5;
  }
  // The document without its closing 0, the tail's elements, the 0, and the new length.
  out.set(doc.subarray(0, doc.length - 1), at);
  if (tail) out.set(tail, at + doc.length - 1);
  out.writeUInt8(0, at + size - 1);
  out.writeInt32LE(size, at);
  return out;
}

/**
 * A reply document's BSON. A cursor reply whose batch is encoded already (see {@link batchBytes}) is
 * serialized with an empty batch, and the documents' bytes go in its place: no document is
 * serialized twice, and a stored one not at all after its first read.
 */
function encodeDocument(reply: Document): Uint8Array {
  const cursor = reply.cursor as Document | undefined;
  const key =
    cursor === null || typeof cursor !== 'object' ? undefined : 'firstBatch' in cursor ? 'firstBatch' : 'nextBatch' in cursor ? 'nextBatch' : undefined;
  const docs = key ? batchBytes(cursor![key]) : undefined;
  if (!key || !docs) return serialize(reply, { ignoreUndefined: true });
  const bytes = serialize({ ...reply, cursor: { ...cursor, [key]: [] } }, { ignoreUndefined: true });
  const envelope = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const at = elementValue(envelope, 0, 0x03, 'cursor');
  const batchAt = at < 0 ? -1 : elementValue(envelope, at, 0x04, key);
  if (batchAt < 0) return serialize(reply, { ignoreUndefined: true });
  let size = 5;
  for (let i = 0; i < docs.length; i++) size += 2 + String(i).length + docs[i]!.length;
  const grown = size - 5;
  const out = Buffer.allocUnsafe(envelope.length + grown);
  envelope.copy(out, 0, 0, batchAt);
  let pos = batchAt;
  out.writeInt32LE(size, pos);
  pos += 4;
  for (let i = 0; i < docs.length; i++) {
    out[pos++] = 0x03;
    pos += out.write(String(i), pos, 'latin1');
    out[pos++] = 0;
    out.set(docs[i]!, pos);
    pos += docs[i]!.length;
  }
  out[pos++] = 0;
  envelope.copy(out, pos, batchAt + 5);
  out.writeInt32LE(envelope.readInt32LE(0) + grown, 0);
  out.writeInt32LE(envelope.readInt32LE(at) + grown, at);
  return out;
}

/** Where the value of the element `name` of `type` starts in the BSON document at `start`, or -1. */
function elementValue(buf: Buffer, start: number, type: number, name: string): number {
  const end = start + buf.readInt32LE(start);
  let pos = start + 4;
  while (pos < end - 1) {
    const t = buf[pos]!;
    const nameEnd = buf.indexOf(0, pos + 1);
    if (nameEnd < 0 || nameEnd >= end) return -1;
    if (t === type && buf.toString('latin1', pos + 1, nameEnd) === name) return nameEnd + 1;
    const next = valueEnd(buf, t, nameEnd + 1);
    if (next <= nameEnd) return -1;
    pos = next;
  }
  return -1;
}

function writeHeader(out: Buffer, requestId: number, responseTo: number, opCode: number): void {
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(opCode, 12);
}
