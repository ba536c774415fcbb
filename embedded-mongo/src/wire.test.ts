import { Binary, Long, Timestamp, serialize } from 'bson';
import { describe, expect, it } from 'vitest';
import { decode } from './wire.js';

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
    const { command } = decode(opMsg({ find: 'c', filter: { s: '$clusterTime', n: 1.5, at: new Date(0) }, $clusterTime: clusterTime, lsid: { id: 1 }, $db: 'd' }));
    expect(Object.keys(command)).toEqual(['find', 'filter', 'lsid', '$db']);
    expect(command.filter).toMatchObject({ s: '$clusterTime', at: new Date(0) });
  });

  it('keeps a field of that name that is no top-level document', () => {
    expect(decode(opMsg({ ping: 1, q: { $clusterTime: { x: 'y' } }, $db: 'd' })).command.q).toEqual({ $clusterTime: { x: 'y' } });
    expect(decode(opMsg({ ping: 1, $clusterTime: 'text', $db: 'd' })).command.$clusterTime).toBe('text');
  });
});
