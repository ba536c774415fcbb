import { Binary, Double, Long, Timestamp, serialize } from 'bson';
import { describe, expect, it } from 'vitest';
import { encodeDoc, setBatchBytes } from './encoded.js';
import { decode, encodeElements, encodeReply } from './wire.js';

/** An OP_MSG with one body section. */
function opMsg(body: object): Buffer {
  const doc = serialize(body);
  const msg = Buffer.alloc(16 + 5 + doc.length);
  msg.writeInt32LE(msg.length, 0);
  msg.writeInt32LE(2013, 12);
  msg.set(doc, 21);
  return msg;
}

describe('decode', () => {
  const clusterTime = { clusterTime: new Timestamp({ t: 5, i: 1 }), signature: { hash: new Binary(Buffer.alloc(20)), keyId: Long.ZERO } };

  it('leaves out the $clusterTime the driver gossips back, and nothing else', () => {
    const { command } = decode(
      opMsg({ find: 'c', filter: { s: '$clusterTime', n: 1.5, at: new Date(0) }, $clusterTime: clusterTime, lsid: { id: 1 }, $db: 'd' }),
    );
    expect(Object.keys(command)).toEqual(['find', 'filter', 'lsid', '$db']);
    expect(command.filter).toMatchObject({ s: '$clusterTime', at: new Date(0) });
  });

  it('keeps a field of that name that is no top-level document', () => {
    expect(decode(opMsg({ ping: 1, q: { $clusterTime: { x: 'y' } }, $db: 'd' })).command.q).toEqual({ $clusterTime: { x: 'y' } });
    expect(decode(opMsg({ ping: 1, $clusterTime: 'text', $db: 'd' })).command.$clusterTime).toBe('text');
  });
});

describe('encodeReply', () => {
  const request = decode(opMsg({ ping: 1, $db: 'd' }));
  const tail = encodeElements({ operationTime: new Timestamp({ t: 7, i: 2 }) });

  it('splices a batch encoded beforehand into the same bytes serializing it whole gives', () => {
    for (const key of ['firstBatch', 'nextBatch']) {
      const docs = Array.from({ length: 12 }, (_, i) => ({ _id: `id-${i}`, n: new Double(i / 2), tags: ['a', { b: i }], at: new Date(i) }));
      const plain = { cursor: { [key]: docs.slice(), id: Long.fromNumber(9), ns: 'd.c' }, ok: 1, gone: undefined };
      const batch = docs.slice();
      setBatchBytes(
        batch,
        batch.map((d, i) => encodeDoc(d, i % 2 === 0)),
      );
      const spliced = { cursor: { [key]: batch, id: Long.fromNumber(9), ns: 'd.c', atClusterTime: new Timestamp({ t: 1, i: 1 }) }, ok: 1 };
      const withTime = { ...plain, cursor: { ...plain.cursor, atClusterTime: new Timestamp({ t: 1, i: 1 }) } };
      expect(encodeReply(request, spliced, 3, tail)).toEqual(encodeReply(request, withTime, 3, tail));
      const empty: object[] = [];
      setBatchBytes(empty as never, []);
      expect(encodeReply(request, { cursor: { [key]: empty, id: Long.ZERO, ns: 'd.c' }, ok: 1 }, 3)).toEqual(
        encodeReply(request, { cursor: { [key]: [], id: Long.ZERO, ns: 'd.c' }, ok: 1 }, 3),
      );
    }
  });
});
