import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collection, type Db, type Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../src/index.js';
import { EMBEDDED_ONLY, REAL_MONGODB, type TestBackend, failure, startBackend } from './backend.js';

// What MongoDB 7.0 does with `_id` values, dotted and `$`-prefixed field names, the `$out` and
// `$merge` stages and the collectionless aggregate (`db.aggregate`), through the official driver.
// Every expectation holds on a real MongoDB 7.0 replica set too (MONGODB_URI); what only the
// embedded store does is skipped there.
let backend: TestBackend;
let other: Db;
let n = 0;
const fresh = (): Collection<any> => backend.db.collection(`c${++n}`);
const name = (): string => `c${++n}`;

beforeAll(async () => {
  backend = await startBackend();
  other = backend.client.db(`${backend.db.databaseName}_other`);
});
afterAll(async () => {
  await other?.dropDatabase().catch(() => undefined);
  await backend?.close();
});

const sorted = async (c: Collection<Document>): Promise<Document[]> => c.find().sort({ _id: 1 }).toArray();

describe('_id: null and the _id values MongoDB refuses', () => {
  it('keeps an upsert’s _id: null from the filter or the replacement', async () => {
    const a = fresh();
    const res = await a.updateOne({ _id: null }, { $set: { x: 1 } }, { upsert: true });
    expect(res.upsertedId).toBeNull();
    expect(await a.find().toArray()).toEqual([{ _id: null, x: 1 }]);
    const b = fresh();
    await b.replaceOne({}, { _id: null, y: 2 }, { upsert: true });
    expect(await b.find().toArray()).toEqual([{ _id: null, y: 2 }]);
    const c = fresh();
    const found = await c.findOneAndUpdate({ _id: null }, { $set: { z: 3 } }, { upsert: true, returnDocument: 'after' });
    expect(found).toEqual({ _id: null, z: 3 });
  });

  it('gives an upsert the _id its $set or $setOnInsert names, and refuses changing one its filter pinned (66)', async () => {
    const c = fresh();
    await c.updateOne({ k: 1 }, { $setOnInsert: { _id: 'a' }, $set: { v: 1 } }, { upsert: true });
    await c.updateOne({ k: 2 }, { $set: { _id: 'b' } }, { upsert: true });
    expect(await sorted(c)).toEqual([
      { _id: 'a', k: 1, v: 1 },
      { _id: 'b', k: 2 },
    ]);
    expect((await failure(c.updateOne({ _id: 'c' }, { $set: { _id: 'd' } }, { upsert: true }))).code).toBe(66);
  });

  it('keeps an inserted _id: null that reaches the server (the driver itself replaces it in insertOne)', async () => {
    const c = fresh();
    await backend.db.command({ insert: c.collectionName, documents: [{ _id: null, x: 1 }] });
    expect(await c.find().toArray()).toEqual([{ _id: null, x: 1 }]);
  });

  it('does not take a regular expression in an upsert’s filter for the new _id', async () => {
    const c = fresh();
    const res = await c.updateOne({ _id: /abc/ }, { $set: { x: 1 } }, { upsert: true });
    expect(res.upsertedId?.constructor.name).toBe('ObjectId');
  });

  it('refuses a regex, an array or a $-prefixed field in an inserted _id (BadValue, 52)', async () => {
    const c = fresh();
    const regex = await failure(c.insertOne({ _id: /abc/i }));
    expect(regex.code).toBe(2);
    expect(regex.message).toContain("can't use a regex for _id");
    const array = await failure(c.insertMany([{ _id: [1, 2] }]));
    expect(array.code).toBe(2);
    expect(array.message).toContain("can't use an array for _id");
    expect((await failure(c.insertOne({ _id: { $a: 1 } }))).code).toBe(52);
    expect((await failure(c.insertOne({ _id: { a: { $b: 1 } } }))).code).toBe(52);
    // A dotted name inside _id is data, and so is a DBRef.
    await c.insertOne({ _id: { 'a.b': 1 } });
    await c.insertOne({ _id: { $ref: 'x', $id: 1 } });
    expect(await c.countDocuments()).toBe(2);
  });

  it('refuses them in an upsert’s new document and a replacement (InvalidIdField 53, 52)', async () => {
    const c = fresh();
    const array = await failure(c.updateOne({ _id: [] }, { $unset: { a: '' } }, { upsert: true }));
    expect(array.code).toBe(53);
    expect(array.message).toContain("The '_id' value cannot be of type array");
    expect((await failure(c.updateMany({ _id: [1] }, { $set: { a: 1 } }, { upsert: true }))).code).toBe(53);
    const regex = await failure(c.replaceOne({}, { _id: /abc/i }, { upsert: true }));
    expect(regex.code).toBe(53);
    expect(regex.message).toContain("The '_id' value cannot be of type regex");
    await failure(c.replaceOne({}, { _id: [] }, { upsert: true }));
    expect((await failure(c.updateOne({ x: 1 }, { $set: { _id: { $a: 1 } } }, { upsert: true }))).code).toBe(52);
    expect((await failure(c.findOneAndUpdate({ _id: [2] }, { $set: { a: 1 } }, { upsert: true }))).code).toBe(53);
    expect(await c.countDocuments()).toBe(0);
  });
});

describe('dots and dollars in field names (MongoDB 5.0+)', () => {
  it('stores dotted and nested $-prefixed field names from a replacement', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const res = await c.replaceOne({ _id: 1 }, { _id: 1, 'a.b': 1, n: { $c: 2, 'd.e': 3 } });
    expect(res.modifiedCount).toBe(1);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, 'a.b': 1, n: { $c: 2, 'd.e': 3 } });
    await c.findOneAndReplace({ _id: 1 }, { 'x.y': true });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, 'x.y': true });
    await c.replaceOne({ _id: 2 }, { 'p.q': 1 }, { upsert: true });
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, 'p.q': 1 });
  });

  it('refuses a top-level $-prefixed field in the replacement of a stored document (52)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: 1 });
    const err = await failure(c.replaceOne({ _id: 1 }, { y: 1, $x: 1 }));
    expect(err.code).toBe(52);
    expect(err.message).toContain("The dollar ($) prefixed field '$x' in '$x'");
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, a: 1 });
  });

  it('stores dotted and $-prefixed names an insert or a $replaceWith / $setField pipeline writes', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, $a: 1, 'b.c': 2, d: { $db: 'x' } });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, $a: 1, 'b.c': 2, d: { $db: 'x' } });
    await c.updateOne({ _id: 1 }, [{ $replaceWith: { $setField: { field: { $literal: '$z' }, input: '$$ROOT', value: 5 } } }]);
    await c.updateOne({ _id: 1 }, [{ $replaceWith: { $setField: { field: 'y.w', input: '$$ROOT', value: 6 } } }]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, $a: 1, 'b.c': 2, d: { $db: 'x' }, $z: 5, 'y.w': 6 });
    const got = await c.aggregate([{ $project: { _id: 0, v: { $getField: 'y.w' }, w: { $getField: { $literal: '$z' } } } }]).toArray();
    expect(got).toEqual([{ v: 6, w: 5 }]);
  });

  it('refuses an unknown update modifier with FailedToParse (9)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const res = await backend.db.command({ update: c.collectionName, updates: [{ q: { _id: 1 }, u: { $set: { a: 1 }, b: 2 } }] });
    expect(res.writeErrors?.[0]?.code).toBe(9);
    expect(res.writeErrors?.[0]?.errmsg).toContain('Unknown modifier: b');
  });
});

describe('$out', () => {
  it('writes the results to a new collection and answers an empty cursor', async () => {
    const src = fresh();
    await src.insertMany([
      { _id: 1, x: 11 },
      { _id: 2, x: 22 },
      { _id: 3, x: 33 },
    ]);
    const target = name();
    const out = await src.aggregate([{ $match: { _id: { $gt: 1 } } }, { $sort: { x: 1 } }, { $out: target }]).toArray();
    expect(out).toEqual([]);
    expect(await sorted(backend.db.collection(target))).toEqual([
      { _id: 2, x: 22 },
      { _id: 3, x: 33 },
    ]);
  });

  it('replaces an existing collection, keeping its indexes and validator; a failure leaves it as it was', async () => {
    const src = fresh();
    const target = fresh();
    await target.createIndex({ k: 1 }, { unique: true, name: 'k_unique' });
    await backend.db.command({ collMod: target.collectionName, validator: { k: { $type: 'number' } } });
    await target.insertMany([{ _id: 'old', k: 0 }]);
    await src.insertMany([
      { _id: 1, k: 1 },
      { _id: 2, k: 2 },
    ]);
    await src.aggregate([{ $out: target.collectionName }]).toArray();
    expect(await sorted(target)).toEqual([
      { _id: 1, k: 1 },
      { _id: 2, k: 2 },
    ]);
    expect((await target.indexes()).map((i) => i.name).sort()).toEqual(['_id_', 'k_unique']);
    await src.insertOne({ _id: 3, k: 2 });
    expect((await failure(src.aggregate([{ $out: target.collectionName }]).toArray())).code).toBe(11000);
    await src.deleteOne({ _id: 3 });
    await src.insertOne({ _id: 4, k: 'four' });
    expect((await failure(src.aggregate([{ $out: target.collectionName }]).toArray())).code).toBe(121);
    expect(await sorted(target)).toEqual([
      { _id: 1, k: 1 },
      { _id: 2, k: 2 },
    ]);
    await src.aggregate([{ $out: target.collectionName }], { bypassDocumentValidation: true }).toArray();
    expect(await target.countDocuments()).toBe(3);
  });

  it('writes to another database, gives documents without _id one, and takes read and write concerns', async () => {
    const src = fresh();
    await src.insertMany([
      { _id: 1, g: 'a' },
      { _id: 2, g: 'a' },
      { _id: 3, g: 'b' },
    ]);
    const target = name();
    await src
      .aggregate([{ $group: { _id: '$g', n: { $sum: 1 } } }, { $project: { _id: 0, g: '$_id', n: 1 } }, { $out: { db: other.databaseName, coll: target } }], {
        readConcern: { level: 'majority' },
        writeConcern: { w: 1 },
      })
      .toArray();
    const docs = await other.collection(target).find().sort({ g: 1 }).toArray();
    expect(docs.map(({ _id, ...rest }) => [typeof _id, rest])).toEqual([
      ['object', { n: 2, g: 'a' }],
      ['object', { n: 1, g: 'b' }],
    ]);
  });

  it('refuses $out or $merge anywhere but last, in $facet, $lookup and $unionWith, and in a view', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const t = name();
    expect((await failure(c.aggregate([{ $out: t }, { $match: {} }]).toArray())).code).toBe(40601);
    expect((await failure(c.aggregate([{ $merge: t }, { $match: {} }]).toArray())).code).toBe(40601);
    expect((await failure(c.aggregate([{ $facet: { a: [{ $out: t }] } }]).toArray())).code).toBe(40600);
    expect((await failure(c.aggregate([{ $lookup: { from: t, pipeline: [{ $out: t }], as: 'x' } }]).toArray())).code).toBe(51047);
    expect((await failure(c.aggregate([{ $unionWith: { coll: t, pipeline: [{ $merge: t }] } }]).toArray())).code).toBe(31441);
    expect((await failure(backend.db.createCollection(name(), { viewOn: c.collectionName, pipeline: [{ $out: t }] }))).code).toBe(167);
  });

  it('refuses a special collection, an internal database and a linearizable read', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    expect((await failure(c.aggregate([{ $out: 'system.x' }]).toArray())).code).toBe(17385);
    expect((await failure(c.aggregate([{ $out: { db: 'admin', coll: 'x' } }]).toArray())).code).toBe(31321);
    expect((await failure(c.aggregate([{ $merge: { into: { db: 'config', coll: 'x' } } }]).toArray())).code).toBe(31320);
    expect((await failure(c.aggregate([{ $out: name() }], { readConcern: { level: 'linearizable' } }).toArray())).code).toBe(72);
  });

  it('refuses $out and $merge in a transaction (263)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const target = fresh();
    await target.insertOne({ _id: 'kept' });
    const session = backend.client.startSession();
    try {
      for (const stage of [{ $out: target.collectionName }, { $merge: { into: target.collectionName } }]) {
        session.startTransaction();
        const err = await failure(c.aggregate([stage], { session }).toArray());
        expect(err.code).toBe(263);
        await session.abortTransaction().catch(() => undefined);
      }
    } finally {
      await session.endSession();
    }
    expect(await sorted(target)).toEqual([{ _id: 'kept' }]);
  });
});

describe('$merge', () => {
  it('merges by default: inserts new documents, sets the fields of matched ones', async () => {
    const src = fresh();
    const target = fresh();
    await target.insertMany([{ _id: 1, a: 1, keep: true }]);
    await src.insertMany([
      { _id: 1, a: 10, b: 2 },
      { _id: 2, a: 20 },
    ]);
    expect(await src.aggregate([{ $merge: target.collectionName }]).toArray()).toEqual([]);
    expect(await sorted(target)).toEqual([
      { _id: 1, a: 10, keep: true, b: 2 },
      { _id: 2, a: 20 },
    ]);
  });

  it('replaces, keeps existing, fails on a match (11000) or discards and fails on no match (13113)', async () => {
    const src = fresh();
    await src.insertMany([
      { _id: 1, v: 'new' },
      { _id: 2, v: 'new' },
    ]);
    const target = fresh();
    const reset = async (): Promise<void> => {
      await target.deleteMany({});
      await target.insertOne({ _id: 1, v: 'old', w: 1 });
    };
    const merge = (spec: Document) => src.aggregate([{ $sort: { _id: 1 } }, { $merge: { into: target.collectionName, ...spec } }]).toArray();
    await reset();
    await merge({ whenMatched: 'replace' });
    expect(await sorted(target)).toEqual([
      { _id: 1, v: 'new' },
      { _id: 2, v: 'new' },
    ]);
    await reset();
    await merge({ whenMatched: 'keepExisting' });
    expect(await sorted(target)).toEqual([
      { _id: 1, v: 'old', w: 1 },
      { _id: 2, v: 'new' },
    ]);
    await reset();
    expect((await failure(merge({ whenMatched: 'fail' }))).code).toBe(11000);
    await reset();
    await merge({ whenMatched: 'replace', whenNotMatched: 'discard' });
    expect(await sorted(target)).toEqual([{ _id: 1, v: 'new' }]);
    await reset();
    expect((await failure(merge({ whenMatched: 'merge', whenNotMatched: 'fail' }))).code).toBe(13113);
    // As MongoDB, the writes before the failure stay.
    expect(await sorted(target)).toEqual([{ _id: 1, v: 'new', w: 1 }]);
  });

  it('runs a whenMatched pipeline with $$new and let variables', async () => {
    const src = fresh();
    const target = fresh();
    await target.insertMany([{ _id: 'a', total: 5, n: 1 }]);
    await src.insertMany([
      { _id: 'a', amount: 3 },
      { _id: 'b', amount: 4 },
    ]);
    await src
      .aggregate([
        {
          $merge: {
            into: target.collectionName,
            let: { amt: '$amount' },
            whenMatched: [{ $set: { total: { $add: ['$total', '$$amt'] }, n: { $add: ['$n', 1] }, last: '$$new.amount' } }],
          },
        },
      ])
      .toArray();
    expect(await sorted(target)).toEqual([
      { _id: 'a', total: 8, n: 2, last: 3 },
      { _id: 'b', amount: 4 },
    ]);
  });

  it('matches on other fields through a unique index, and refuses without one (51183)', async () => {
    const src = fresh();
    const target = fresh();
    await src.insertMany([
      { _id: 1, code: 'x', v: 1 },
      { _id: 2, code: 'y', v: 2 },
    ]);
    const merge = () => src.aggregate([{ $project: { _id: 0 } }, { $merge: { into: target.collectionName, on: 'code', whenMatched: 'replace' } }]).toArray();
    await target.insertOne({ _id: 'keep', code: 'x', v: 0 });
    expect((await failure(merge())).code).toBe(51183);
    await target.createIndex({ code: 1 }, { unique: true });
    await merge();
    const docs = await target
      .find({}, { projection: { _id: 0 } })
      .sort({ code: 1 })
      .toArray();
    expect(docs).toEqual([
      { code: 'x', v: 1 },
      { code: 'y', v: 2 },
    ]);
    expect(await target.countDocuments({ _id: 'keep' })).toBe(1);
  });

  it('refuses the mode pairs and options MongoDB refuses', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const t = name();
    expect((await failure(c.aggregate([{ $merge: { into: t, whenMatched: 'keepExisting', whenNotMatched: 'discard' } }]).toArray())).code).toBe(51181);
    expect((await failure(c.aggregate([{ $merge: { into: t, whenMatched: 'fail', whenNotMatched: 'fail' } }]).toArray())).code).toBe(51181);
    expect((await failure(c.aggregate([{ $merge: { into: t, whenMatched: 'replace', let: { x: 1 } } }]).toArray())).code).toBe(51199);
    expect((await failure(c.aggregate([{ $merge: { into: t, on: ['a', 'a'] } }]).toArray())).code).toBe(31465);
    expect((await failure(c.aggregate([{ $merge: { into: t, frob: 1 } }]).toArray())).code).toBe(40415);
  });

  it('writes into another database', async () => {
    const src = fresh();
    await src.insertMany([{ _id: 1 }, { _id: 2 }]);
    const target = name();
    await src.aggregate([{ $merge: { into: { db: other.databaseName, coll: target } } }]).toArray();
    expect(await other.collection(target).countDocuments()).toBe(2);
  });
});

describe('the collectionless aggregate (db.aggregate)', () => {
  it('runs $documents and the stages after it', async () => {
    const docs = await backend.db.aggregate([{ $documents: [{ a: 1 }, { a: 2 }, { a: 3 }] }, { $match: { a: { $gte: 2 } } }, { $sort: { a: -1 } }]).toArray();
    expect(docs).toEqual([{ a: 3 }, { a: 2 }]);
    const computed = await backend.db
      .aggregate([{ $documents: { $map: { input: { $range: [0, 3] }, in: { x: '$$this', k: '$$k' } } } }], { let: { k: 'v' } })
      .toArray();
    expect(computed).toEqual([
      { x: 0, k: 'v' },
      { x: 1, k: 'v' },
      { x: 2, k: 'v' },
    ]);
  });

  it('writes $documents with $out and $merge', async () => {
    const target = name();
    await backend.db
      .aggregate([
        {
          $documents: [
            { _id: 1, a: 1 },
            { _id: 2, a: 2 },
          ],
        },
        { $out: target },
      ])
      .toArray();
    expect(await sorted(backend.db.collection(target))).toEqual([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
    ]);
    await backend.db.aggregate([{ $documents: [{ _id: 2, b: 2 }, { _id: 3 }] }, { $merge: { into: target } }]).toArray();
    expect(await sorted(backend.db.collection(target))).toEqual([{ _id: 1, a: 1 }, { _id: 2, a: 2, b: 2 }, { _id: 3 }]);
  });

  it('lists the local sessions with $listLocalSessions', async () => {
    const sessions = await backend.db.aggregate([{ $listLocalSessions: {} }]).toArray();
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions[0]!._id.id.sub_type).toBe(4);
  });

  it('refuses what MongoDB refuses: a stage that needs a collection (73), misplaced $documents (40602), non-objects (40228)', async () => {
    expect((await failure(backend.db.aggregate([{ $match: {} }]).toArray())).code).toBe(73);
    expect((await failure(backend.db.aggregate([{ $project: { a: 1 } }, { $documents: [{ a: 1 }] }]).toArray())).code).toBe(73);
    expect((await failure(backend.db.aggregate([{ $documents: [1, 2] }]).toArray())).code).toBe(40228);
    const c = fresh();
    await c.insertOne({ _id: 1 });
    expect((await failure(c.aggregate([{ $documents: [{ a: 1 }] }]).toArray())).code).toBe(73);
    expect((await failure(c.aggregate([{ $project: { a: 1 } }, { $documents: [{ a: 1 }] }]).toArray())).code).toBe(40602);
  });

  it.skipIf(REAL_MONGODB)(`refuses clearly the collectionless stages the store does not have (${EMBEDDED_ONLY})`, async () => {
    const err = await failure(
      backend.client
        .db('admin')
        .aggregate([{ $currentOp: {} }])
        .toArray(),
    );
    expect(err.code).toBe(2);
    expect(err.message).toContain('not supported by the embedded store');
  });
});

describe.skipIf(REAL_MONGODB)(`the journal keeps what $out and $merge wrote (${EMBEDDED_ONLY})`, () => {
  const big = (db: Db): Collection<any> => db.collection('big');
  it('replays a $out replacing a collection, one larger than a journal record (written as several) and a $merge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-crud-'));
    try {
      let store = await startEmbeddedMongo({ dir });
      let client = await MongoClient.connect(store.uri);
      let db = client.db('j');
      await big(db).createIndex({ i: 1 }, { unique: true });
      await big(db).insertOne({ _id: 'old', i: -1 });
      const pad = 'x'.repeat(4000);
      const many = { $map: { input: { $range: [0, 3000] }, in: { _id: '$$this', i: '$$this', pad } } };
      await db.aggregate([{ $documents: many }, { $out: 'big' }]).toArray();
      await db.aggregate([{ $documents: [{ _id: 1, tag: 'merged' }] }, { $merge: 'big' }]).toArray();
      await client.close();
      await store.close();

      store = await startEmbeddedMongo({ dir });
      client = await MongoClient.connect(store.uri);
      db = client.db('j');
      expect(await big(db).countDocuments()).toBe(3000);
      expect(await big(db).countDocuments({ _id: 'old' })).toBe(0);
      expect(await big(db).findOne({ _id: 1 }, { projection: { pad: 0 } })).toEqual({ _id: 1, i: 1, tag: 'merged' });
      expect((await big(db).indexes()).map((i) => i.name).sort()).toEqual(['_id_', 'i_1']);
      await client.close();
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
