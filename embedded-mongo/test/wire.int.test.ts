import { type Socket, connect } from 'node:net';
import { deserialize, serialize } from 'bson';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedMongo, startEmbeddedMongo } from '../src/index.js';
import { crc32c } from '../src/wire.js';
import { EMBEDDED_ONLY, REAL_MONGODB } from './backend.js';

// Raw bytes on a socket: this tests the embedded server's wire handling, not MongoDB's.
let store: EmbeddedMongo;
let client: MongoClient;
const logs: string[] = [];

beforeAll(async () => {
  if (REAL_MONGODB) return;
  store = await startEmbeddedMongo({ log: (line) => logs.push(line), maxMessageBytes: 1 << 20 });
  client = await MongoClient.connect(store.uri);
});
afterAll(async () => {
  await client?.close();
  await store?.close();
});

const open = (): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(store.port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

/** Sends bytes and resolves with the first whole reply, or `'closed'` when the server hangs up. */
function exchange(socket: Socket, bytes: Buffer): Promise<Buffer | 'closed'> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('neither a reply nor a close within 2 s')), 2000);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= got.readInt32LE(0)) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.write(bytes);
  });
}

function header(length: number, opCode: number, requestId = 7): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opMsg(body: object, flags = 0): Buffer {
  const doc = serialize(body);
  const checksum = (flags & 1) !== 0;
  const msg = Buffer.concat([header(16 + 5 + doc.length + (checksum ? 4 : 0), 2013), Buffer.alloc(5), doc, Buffer.alloc(checksum ? 4 : 0)]);
  msg.writeUInt32LE(flags, 16);
  msg.writeUInt8(0, 20);
  if (!checksum) return msg;
  const sum = Buffer.alloc(4);
  sum.writeUInt32LE(crc32c(msg, 0, msg.length - 4), 0);
  msg.set(sum, msg.length - 4);
  return msg;
}

const replyBody = (reply: Buffer): Record<string, unknown> => deserialize(reply.subarray(reply.readInt32LE(12) === 1 ? 36 : 21));

describe.skipIf(REAL_MONGODB)(`wire protocol (${EMBEDDED_ONLY})`, () => {
  it('answers a legacy OP_QUERY isMaster with an OP_REPLY', async () => {
    const socket = await open();
    const query = serialize({ isMaster: 1 });
    const ns = Buffer.from('admin.$cmd\0');
    const body = Buffer.concat([Buffer.alloc(4), ns, Buffer.alloc(8), query]);
    body.writeInt32LE(-1, 4 + ns.length + 4);
    const reply = await exchange(socket, Buffer.concat([header(16 + body.length, 2004), body]));
    socket.destroy();
    expect(reply).not.toBe('closed');
    const buf = reply as Buffer;
    expect([buf.readInt32LE(8), buf.readInt32LE(12), buf.readInt32LE(32)]).toEqual([7, 1, 1]);
    expect(replyBody(buf)).toMatchObject({ ismaster: true, setName: 'embedded', maxWireVersion: 21, ok: 1 });
  });

  it('answers an OP_MSG that carries a checksum', async () => {
    const socket = await open();
    const reply = await exchange(socket, opMsg({ ping: 1, $db: 'admin' }, 1));
    socket.destroy();
    expect(replyBody(reply as Buffer)).toMatchObject({ ok: 1 });
  });

  const bad: [string, () => Buffer][] = [
    ['an unknown opcode', () => Buffer.concat([header(20, 9999), Buffer.alloc(4)])],
    ['a length over the limit', () => header(100_000_000, 2013)],
    ['a length under a header', () => header(3, 2013)],
    [
      'a BSON document that overruns its message',
      () => {
        const msg = opMsg({ ping: 1, $db: 'admin' });
        msg.writeInt32LE(10_000, 21);
        return msg;
      },
    ],
    [
      'a wrong checksum',
      () => {
        const msg = opMsg({ ping: 1, $db: 'admin' }, 1);
        msg.writeUInt32LE(12345, msg.length - 4);
        return msg;
      },
    ],
    [
      'an unknown section kind',
      () => {
        const msg = opMsg({ ping: 1, $db: 'admin' });
        msg.writeUInt8(7, 20);
        return msg;
      },
    ],
  ];

  it.each(bad)('closes the connection that sends %s, logs it, and keeps serving others', async (_name, make) => {
    const before = logs.length;
    const socket = await open();
    expect(await exchange(socket, make())).toBe('closed');
    expect(logs.length).toBe(before + 1);
    expect(logs[before]).toMatch(/^connection \d+ from .*; closing it$/);
    const coll = client.db('wire').collection('alive');
    await coll.insertOne({ at: logs.length });
    expect(await client.db('wire').command({ ping: 1 })).toMatchObject({ ok: 1 });
    expect(await coll.countDocuments({ at: logs.length })).toBe(1);
  });

  it('stores an unacknowledged (moreToCome) write without replying', async () => {
    const socket = await open();
    const sent = opMsg({ insert: 'quiet', documents: [{ _id: 'w0' }], $db: 'wire' }, 2);
    const outcome = await Promise.race([exchange(socket, sent), new Promise<'silent'>((resolve) => setTimeout(() => resolve('silent'), 300))]);
    socket.destroy();
    expect(outcome).toBe('silent');
    expect(await client.db('wire').collection('quiet').find().toArray()).toEqual([{ _id: 'w0' }]);
  });
});
