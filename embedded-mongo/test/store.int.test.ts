import { Binary, Decimal128, Double, Int32, Long, MongoServerError, ObjectId, type Collection, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_MONGODB, type TestBackend, startBackend } from './backend.js';

// Uses only the official driver, so the same suite runs against a real MongoDB (MONGODB_URI).
let backend: TestBackend;
let n = 0;
/**
 * A fresh collection per test. Untyped on purpose: the tests store numbers and strings as `_id`,
 * which the driver's default typing (ObjectId) refuses.
 */
const fresh = (): Collection<any> => backend.db.collection(`c${++n}`);
const RAW = { promoteValues: false, promoteLongs: false } as const;

beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend?.close();
});

describe('connection', () => {
  it('presents itself as a replica set primary the driver can run transactions against', async () => {
    const hello = await backend.db.admin().command({ hello: 1 });
    expect(hello).toMatchObject({ isWritablePrimary: true, ok: 1 });
    expect(typeof hello.setName).toBe('string');
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(9);
    expect(hello.logicalSessionTimeoutMinutes).toBeGreaterThan(0);
  });

  it('answers ping and buildInfo', async () => {
    expect(await backend.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await backend.db.admin().command({ buildInfo: 1 });
    expect(typeof info.version).toBe('string');
  });

  it('lists databases and collections, creates and drops them', async () => {
    const name = `made${++n}`;
    await backend.db.createCollection(name);
    await expect(backend.db.createCollection(name)).rejects.toMatchObject({ code: 48, codeName: 'NamespaceExists' });
    const colls = await backend.db.listCollections({ name }).toArray();
    expect(colls.map((c) => c.name)).toEqual([name]);
    const dbs = await backend.client.db('admin').admin().listDatabases();
    expect(dbs.databases.map((d) => d.name)).toContain(backend.db.databaseName);
    expect(await backend.db.dropCollection(name)).toBe(true);
    expect(await backend.db.listCollections({ name }).toArray()).toEqual([]);
  });

  it('answers an unknown command with CommandNotFound naming it', async () => {
    await expect(backend.db.command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
      message: expect.stringContaining('frobnicate'),
    });
  });
});

describe('CRUD', () => {
  it('inserts, finds, updates and deletes', async () => {
    const c = fresh();
    const inserted = await c.insertMany([
      { _id: 1, name: 'Oslo', n: 3 },
      { _id: 2, name: 'Bergen', n: 1 },
      { _id: 3, name: 'Tromsø', n: 2 },
    ]);
    expect(inserted.insertedCount).toBe(3);
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, name: 'Bergen', n: 1 });
    expect(
      await c
        .find({ n: { $gte: 2 } })
        .sort({ n: 1 })
        .toArray(),
    ).toEqual([
      { _id: 3, name: 'Tromsø', n: 2 },
      { _id: 1, name: 'Oslo', n: 3 },
    ]);
    const updated = await c.updateMany({ n: { $lt: 3 } }, { $inc: { n: 10 } });
    expect([updated.matchedCount, updated.modifiedCount]).toEqual([2, 2]);
    const same = await c.updateOne({ _id: 1 }, { $set: { n: 3 } });
    expect([same.matchedCount, same.modifiedCount]).toEqual([1, 0]);
    expect(await c.countDocuments()).toBe(3);
    expect(await c.estimatedDocumentCount()).toBe(3);
    expect((await c.deleteOne({ n: { $gt: 10 } })).deletedCount).toBe(1);
    expect((await c.deleteMany({})).deletedCount).toBe(2);
    expect(await c.find().toArray()).toEqual([]);
  });

  it('gives an inserted document an ObjectId _id first', async () => {
    const c = fresh();
    const { insertedId } = await c.insertOne({ a: 1 });
    expect(insertedId).toBeInstanceOf(ObjectId);
    const doc = await c.findOne({ _id: insertedId });
    expect(Object.keys(doc)).toEqual(['_id', 'a']);
  });

  it('refuses a duplicate _id with 11000 and keeps the first document', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'x', v: 1 });
    const err = await c.insertOne({ _id: 'x', v: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(11000);
    expect(await c.find().toArray()).toEqual([{ _id: 'x', v: 1 }]);
  });

  it('stops an ordered insertMany at the first error and goes on when unordered', async () => {
    const c = fresh();
    await expect(c.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }])).rejects.toMatchObject({ code: 11000 });
    expect(await c.countDocuments()).toBe(1);
    await expect(c.insertMany([{ _id: 1 }, { _id: 3 }], { ordered: false })).rejects.toMatchObject({
      code: 11000,
    });
    expect((await c.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 3]);
  });

  it('replaces a document but never its _id', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: 1, b: 2 });
    await c.replaceOne({ _id: 1 }, { c: 3 });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, c: 3 });
    await expect(c.replaceOne({ _id: 1 }, { _id: 2, c: 4 })).rejects.toMatchObject({ code: 66 });
    await expect(c.updateOne({ _id: 1 }, { $set: { _id: 5 } })).rejects.toMatchObject({ code: 66 });
  });
});

describe('cursors', () => {
  it('returns all documents across several getMore batches', async () => {
    const c = fresh();
    await c.insertMany(Array.from({ length: 1050 }, (_, i) => ({ i })));
    const seen = await c.find({}, { batchSize: 100 }).sort({ i: 1 }).toArray();
    expect(seen.map((d) => d.i)).toEqual(Array.from({ length: 1050 }, (_, i) => i));
    const viaAggregate = await c.aggregate([{ $match: { i: { $gte: 500 } } }], { batchSize: 64 }).toArray();
    expect(viaAggregate.length).toBe(550);
  });

  it('kills a cursor on request and then no longer knows it', async () => {
    const c = fresh();
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ i })));
    const found = await backend.db.command({ find: c.collectionName, batchSize: 10 });
    const id = found.cursor.id as Long;
    expect(found.cursor.firstBatch.length).toBe(10);
    const killed = await backend.db.command({ killCursors: c.collectionName, cursors: [id] });
    expect(killed.cursorsKilled.map(String)).toEqual([String(id)]);
    await expect(backend.db.command({ getMore: id, collection: c.collectionName })).rejects.toMatchObject({
      code: 43,
      codeName: 'CursorNotFound',
    });
  });

  it('honours skip, limit, negative limit and singleBatch', async () => {
    const c = fresh();
    await c.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i })));
    const ids = async (docs: Promise<Document[]>): Promise<unknown[]> => (await docs).map((d) => d._id);
    expect(await ids(c.find().sort({ _id: -1 }).skip(5).limit(3).toArray())).toEqual([24, 23, 22]);
    expect(await ids(c.find({}, { limit: -4 }).sort({ _id: 1 }).toArray())).toEqual([0, 1, 2, 3]);
    const single = await backend.db.command({ find: c.collectionName, batchSize: 5, singleBatch: true });
    expect([single.cursor.firstBatch.length, String(single.cursor.id)]).toEqual([5, '0']);
    expect(await ids(c.find().sort({ _id: 1 }).skip(28).toArray())).toEqual([28, 29]);
  });
});

describe('sorting and collation', () => {
  const names = ['Åse', 'Zorro', 'Ørjan', 'Ærlig', 'anne', 'Bjørn', 'Øystein', 'Aasen'];

  it('sorts Norwegian names with collation nb: Æ, Ø, Å after Z, in that order', async () => {
    const c = fresh();
    await c.insertMany(names.map((name) => ({ name })));
    const sorted = await c
      .find({}, { projection: { _id: 0 } })
      .sort({ name: 1 })
      .collation({ locale: 'nb' })
      .toArray();
    // ICU's Norwegian collation (MongoDB's too) reads the old spelling "Aa" as "Å": Aasen sorts last.
    expect(sorted.map((d) => d.name)).toEqual(['anne', 'Bjørn', 'Zorro', 'Ærlig', 'Ørjan', 'Øystein', 'Åse', 'Aasen']);
    const agg = await c.aggregate([{ $sort: { name: -1 } }, { $limit: 2 }], { collation: { locale: 'nb' } }).toArray();
    expect(agg.map((d) => d.name)).toEqual(['Aasen', 'Åse']);
  });

  it('sorts by binary order without a collation', async () => {
    const c = fresh();
    await c.insertMany(names.map((name) => ({ name })));
    const order = (await c.find().sort({ name: 1 }).toArray()).map((d) => d.name);
    // By code point: Å (U+00C5) < Æ (U+00C6) < Ø (U+00D8), and every capital before 'a'.
    expect(order).toEqual(['Aasen', 'Bjørn', 'Zorro', 'anne', 'Åse', 'Ærlig', 'Ørjan', 'Øystein']);
  });

  it('compares strings in range filters with the collation too, as a keyset page needs', async () => {
    const c = fresh();
    await c.insertMany(names.map((name, i) => ({ _id: i, name })));
    const nb = { locale: 'nb' };
    const after = async (filter: Document) => (await c.find(filter).sort({ name: 1, _id: 1 }).collation(nb).toArray()).map((d) => d.name);
    expect(await after({ name: { $gt: 'Zorro' } })).toEqual(['Ærlig', 'Ørjan', 'Øystein', 'Åse', 'Aasen']);
    expect(await after({ name: { $gte: 'Øystein' } })).toEqual(['Øystein', 'Åse', 'Aasen']);
    expect(await after({ name: { $lt: 'Bjørn' } })).toEqual(['anne']);
    expect(await after({ $or: [{ name: { $gt: 'Ørjan' } }, { name: 'Ørjan', _id: { $gt: 2 } }] })).toEqual(['Øystein', 'Åse', 'Aasen']);
    expect(await c.countDocuments({ name: { $lte: 'Ærlig' } }, { collation: nb })).toBe(4);
    const agg = await c.aggregate([{ $match: { name: { $gt: 'Åse' } } }], { collation: nb }).toArray();
    expect(agg.map((d) => d.name)).toEqual(['Aasen']);
    // Without a collation the comparison is binary: 'anne' > 'Zorro' and 'Åse' < 'Ørjan'.
    expect(
      (
        await c
          .find({ name: { $gt: 'Zorro' } })
          .sort({ name: 1 })
          .toArray()
      ).map((d) => d.name),
    ).toEqual(['anne', 'Åse', 'Ærlig', 'Ørjan', 'Øystein']);
    // A number bound still compares numbers only.
    expect(await c.countDocuments({ _id: { $gt: 5 } }, { collation: nb })).toBe(2);
  });
  it('sorts on several keys', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, county: 'Agder', n: 2 },
      { _id: 2, county: 'Oslo', n: 1 },
      { _id: 3, county: 'Agder', n: 5 },
    ]);
    const order = (await c.find().sort({ county: 1, n: -1 }).toArray()).map((d) => d._id);
    expect(order).toEqual([3, 1, 2]);
  });
});

describe('projections', () => {
  it('includes, excludes and reaches into sub-documents', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: 1, b: { c: 2, d: 3 }, list: [1, 2, 3, 4] });
    expect(await c.findOne({}, { projection: { a: 1 } })).toEqual({ _id: 1, a: 1 });
    expect(await c.findOne({}, { projection: { _id: 0, 'b.c': 1 } })).toEqual({ b: { c: 2 } });
    expect(await c.findOne({}, { projection: { b: 0, list: 0 } })).toEqual({ _id: 1, a: 1 });
    expect(await c.findOne({}, { projection: { list: { $slice: 2 }, _id: 0, a: 1 } })).toEqual({ a: 1, list: [1, 2] });
  });
});

describe('update operators', () => {
  it('applies $set, $unset, $inc, $mul, $min, $max, $push, $addToSet, $pull, $rename', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: 1, b: 5, tags: ['x'], gone: true, old: 'o', price: 10, lo: 5, hi: 5 });
    await c.updateOne(
      { _id: 1 },
      {
        $set: { 'nested.deep': 'y' },
        $unset: { gone: '' },
        $inc: { a: 2 },
        $mul: { price: 1.5 },
        $min: { lo: 3 },
        $max: { hi: 9 },
        $push: { tags: { $each: ['y', 'z'] } } as Document,
        $rename: { old: 'renamed' },
      },
    );
    await c.updateOne({ _id: 1 }, { $addToSet: { tags: 'x' } });
    await c.updateOne({ _id: 1 }, { $pull: { tags: 'y' } as Document });
    expect(await c.findOne({ _id: 1 })).toEqual({
      _id: 1,
      a: 3,
      b: 5,
      tags: ['x', 'z'],
      price: 15,
      lo: 3,
      hi: 9,
      nested: { deep: 'y' },
      renamed: 'o',
    });
  });

  it('updates array elements with arrayFilters and the positional $', async () => {
    const c = fresh();
    await c.insertOne({
      _id: 1,
      items: [
        { k: 'a', v: 1 },
        { k: 'b', v: 2 },
        { k: 'c', v: 3 },
      ],
    });
    await c.updateOne({ _id: 1 }, { $set: { 'items.$[e].v': 0 } }, { arrayFilters: [{ 'e.v': { $gte: 2 } }] });
    await c.updateOne({ _id: 1, 'items.k': 'a' }, { $set: { 'items.$.v': 10 } });
    expect((await c.findOne({ _id: 1 }))?.items).toEqual([
      { k: 'a', v: 10 },
      { k: 'b', v: 0 },
      { k: 'c', v: 0 },
    ]);
  });

  it('upserts from the filter and applies $setOnInsert only on insert', async () => {
    const c = fresh();
    const first = await c.updateOne({ owner: '0301', year: 2024 }, { $set: { budget: 100 }, $setOnInsert: { createdBy: 'first' } }, { upsert: true });
    expect(first.upsertedCount).toBe(1);
    const second = await c.updateOne({ owner: '0301', year: 2024 }, { $set: { budget: 200 }, $setOnInsert: { createdBy: 'second' } }, { upsert: true });
    expect([second.upsertedCount, second.matchedCount, second.modifiedCount]).toEqual([0, 1, 1]);
    expect(await c.find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ owner: '0301', year: 2024, budget: 200, createdBy: 'first' }]);
    const replaced = await c.replaceOne({ _id: 'fixed' }, { v: 1 }, { upsert: true });
    expect(replaced.upsertedId).toBe('fixed');
    expect(await c.findOne({ _id: 'fixed' })).toEqual({ _id: 'fixed', v: 1 });
  });

  it('runs a pipeline update', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: 2, b: 3 });
    await c.updateOne({ _id: 1 }, [{ $set: { sum: { $add: ['$a', '$b'] } } }]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, a: 2, b: 3, sum: 5 });
  });
});

describe('findAndModify', () => {
  it('returns the document before or after, upserts, and removes', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, q: 'a', n: 1 },
      { _id: 2, q: 'a', n: 2 },
    ]);
    const before = await c.findOneAndUpdate({ q: 'a' }, { $inc: { n: 10 } }, { sort: { n: -1 } });
    expect(before).toEqual({ _id: 2, q: 'a', n: 2 });
    const after = await c.findOneAndUpdate({ _id: 1 }, { $set: { n: 5 } }, { returnDocument: 'after', projection: { n: 1 } });
    expect(after).toEqual({ _id: 1, n: 5 });
    const upserted = await c.findOneAndUpdate({ _id: 3 }, { $set: { q: 'b' } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true });
    expect(upserted.value).toEqual({ _id: 3, q: 'b' });
    expect(upserted.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false, upserted: 3 });
    expect(await c.findOneAndDelete({ q: 'b' })).toEqual({ _id: 3, q: 'b' });
    expect(await c.findOneAndUpdate({ q: 'none' }, { $set: { x: 1 } })).toBeNull();
    expect(await c.findOneAndReplace({ _id: 1 }, { r: true }, { returnDocument: 'after' })).toEqual({ _id: 1, r: true });
  });
});

describe('aggregation', () => {
  it('groups, looks up within the database and runs facets', async () => {
    const owners = fresh();
    const apps = fresh();
    await owners.insertMany([
      { _id: '0301', name: 'Oslo' },
      { _id: '4601', name: 'Bergen' },
    ]);
    await apps.insertMany([
      { owner: '0301', subject: 'MAT', approved: true },
      { owner: '0301', subject: 'ENG', approved: false },
      { owner: '4601', subject: 'MAT', approved: false },
      { owner: '4601', subject: 'MAT', approved: false },
    ]);
    const grouped = await apps
      .aggregate([
        { $group: { _id: '$owner', total: { $sum: 1 }, approved: { $sum: { $cond: ['$approved', 1, 0] } } } },
        { $lookup: { from: owners.collectionName, localField: '_id', foreignField: '_id', as: 'owner' } },
        { $project: { _id: 1, total: 1, approved: 1, name: { $first: '$owner.name' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(grouped).toEqual([
      { _id: '0301', total: 2, approved: 1, name: 'Oslo' },
      { _id: '4601', total: 2, approved: 0, name: 'Bergen' },
    ]);
    const [facets] = await apps
      .aggregate([
        {
          $facet: {
            bySubject: [{ $sortByCount: '$subject' }],
            total: [{ $count: 'n' }],
          },
        },
      ])
      .toArray();
    expect(facets).toEqual({
      bySubject: [
        { _id: 'MAT', count: 3 },
        { _id: 'ENG', count: 1 },
      ],
      total: [{ n: 4 }],
    });
    expect(await apps.distinct('subject')).toEqual(expect.arrayContaining(['MAT', 'ENG']));
    expect((await apps.distinct('subject')).length).toBe(2);
  });

  it('does not change the stored documents when a stage reshapes them', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: { b: 1 } });
    await c.aggregate([{ $addFields: { 'a.c': 2 } }, { $unset: 'a.b' }]).toArray();
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, a: { b: 1 } });
  });
});

describe('numbers', () => {
  it('compares, sorts, sums and matches Int32, Long, Double and Decimal128 by value', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 'int', v: new Int32(5) },
      { _id: 'long', v: Long.fromNumber(30) },
      { _id: 'double', v: new Double(7.5) },
      { _id: 'decimal', v: Decimal128.fromString('12') },
    ]);
    const desc = (await c.find().sort({ v: -1 }).toArray()).map((d) => d._id);
    expect(desc).toEqual(['long', 'decimal', 'double', 'int']);
    const matched = (
      await c
        .find({ v: { $gt: 6, $lt: 20 } })
        .sort({ v: 1 })
        .toArray()
    ).map((d) => d._id);
    expect(matched).toEqual(['double', 'decimal']);
    expect((await c.find({ v: 30 }).toArray()).map((d) => d._id)).toEqual(['long']);
    expect((await c.find({ v: Long.fromNumber(5) }).toArray()).map((d) => d._id)).toEqual(['int']);
    const [sum] = await c.aggregate([{ $match: { _id: { $ne: 'decimal' } } }, { $group: { _id: null, s: { $sum: '$v' } } }]).toArray();
    expect(sum?.s).toBe(42.5);
    const [longs] = await c
      .aggregate([{ $match: { _id: { $in: ['long', 'int'] } } }, { $group: { _id: null, s: { $sum: '$v' }, m: { $max: '$v' } } }])
      .toArray();
    expect([longs?.s, longs?.m]).toEqual([35, 30]);
  });

  it('keeps every BSON type on the round trip, through updates too', async () => {
    const c = fresh();
    const doc = {
      _id: new ObjectId(),
      int: new Int32(1),
      long: Long.fromString('9007199254740993'),
      double: new Double(2),
      decimal: Decimal128.fromString('1234567.891'),
      date: new Date('2024-03-15T12:00:00Z'),
      bin: new Binary(Buffer.from([1, 2, 3])),
      nested: [[new Int32(1), new Int32(2)], [new Double(3)], { deep: [Long.fromNumber(4)] }],
    };
    await c.insertOne(doc);
    const raw = await c.findOne({ _id: doc._id }, RAW);
    expect(raw).toEqual(doc);
    expect((raw?.int as Int32)._bsontype).toBe('Int32');
    expect((raw?.double as Double)._bsontype).toBe('Double');
    expect((raw?.long as Long).toString()).toBe('9007199254740993');
    await c.updateOne({ _id: doc._id }, { $inc: { int: 1, double: 1, 'nested.2.deep.0': 1 }, $set: { setLong: Long.fromNumber(7) } });
    const after = await c.findOne({ _id: doc._id }, RAW);
    expect(after?.int).toEqual(new Int32(2));
    expect(after?.double).toEqual(new Double(3));
    expect(after?.setLong).toEqual(Long.fromNumber(7));
    expect(after?.nested).toEqual([[new Int32(1), new Int32(2)], [new Double(3)], { deep: [Long.fromNumber(5)] }]);
    expect(after?.decimal).toEqual(doc.decimal);
    expect(after?.bin).toEqual(doc.bin);
  });
});

describe('indexes', () => {
  it('creates, lists and drops indexes', async () => {
    const c = fresh();
    await c.insertOne({ a: 1, b: 1 });
    expect(await c.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1');
    expect(await c.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1');
    await c.createIndex({ b: 1 }, { name: 'by_b', unique: true });
    const listed = (await c.listIndexes().toArray()).map((i) => ({ name: i.name, key: i.key, unique: i.unique }));
    expect(listed).toEqual([
      { name: '_id_', key: { _id: 1 }, unique: undefined },
      { name: 'a_1_b_-1', key: { a: 1, b: -1 }, unique: undefined },
      { name: 'by_b', key: { b: 1 }, unique: true },
    ]);
    await expect(c.createIndex({ b: 1 }, { name: 'by_b' })).rejects.toMatchObject({ codeName: 'IndexOptionsConflict' });
    await c.dropIndex('by_b');
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'a_1_b_-1']);
    await expect(c.dropIndex('nope')).rejects.toMatchObject({ codeName: 'IndexNotFound' });
  });

  it('answers queries on the first field of a compound index exactly, through writes and transactions', async () => {
    const c = fresh();
    await c.createIndex({ study: 1, givenAt: -1 });
    await c.insertMany(Array.from({ length: 60 }, (_, i) => ({ _id: i, study: `s${i % 6}`, givenAt: i, tags: i % 2 ? ['x'] : [] })));
    const ids = async (filter: object) => (await c.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ study: 's1' })).toEqual([1, 7, 13, 19, 25, 31, 37, 43, 49, 55]);
    expect(await ids({ study: { $in: ['s2', 'nope'] }, givenAt: { $lt: 20 } })).toEqual([2, 8, 14]);
    await c.updateOne({ _id: 1 }, { $set: { study: 's2' } });
    await c.deleteOne({ _id: 7 });
    expect(await ids({ study: 's1' })).toEqual([13, 19, 25, 31, 37, 43, 49, 55]);
    expect((await ids({ study: 's2' })).slice(0, 2)).toEqual([1, 2]);
    const session = backend.client.startSession();
    try {
      await session.withTransaction(async () => {
        await c.insertOne({ _id: 100, study: 's1', givenAt: 100 }, { session });
        await c.updateOne({ _id: 13 }, { $set: { study: 's5' } }, { session });
        expect((await c.find({ study: 's1' }, { session }).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([19, 25, 31, 37, 43, 49, 55, 100]);
      });
    } finally {
      await session.endSession();
    }
    expect(await ids({ study: 's1' })).toEqual([19, 25, 31, 37, 43, 49, 55, 100]);
  });

  it('enforces a unique index on insert, update and upsert with keyPattern and keyValue', async () => {
    const c = fresh();
    await c.createIndex({ teacherId: 1, year: 1 }, { unique: true });
    await c.insertOne({ teacherId: 't1', year: 2024 });
    await c.insertOne({ teacherId: 't1', year: 2025 });
    const err = (await c.insertOne({ teacherId: 't1', year: 2024 }).catch((e: unknown) => e)) as MongoServerError;
    expect([err.code, err.keyPattern, err.keyValue]).toEqual([11000, { teacherId: 1, year: 1 }, { teacherId: 't1', year: 2024 }]);
    await expect(c.updateOne({ year: 2025 }, { $set: { year: 2024 } })).rejects.toMatchObject({ code: 11000 });
    await expect(c.updateOne({ teacherId: 't1', year: 2024, missing: true }, { $set: { x: 1 } }, { upsert: true })).rejects.toMatchObject({ code: 11000 });
    expect(await c.countDocuments()).toBe(2);
  });

  it('refuses to build a unique index over duplicates', async () => {
    const c = fresh();
    await c.insertMany([{ k: 1 }, { k: 1 }]);
    await expect(c.createIndex({ k: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('applies a partial unique index only to the documents its filter covers', async () => {
    const c = fresh();
    await c.createIndex({ key: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { key: 'k', active: false },
      { key: 'k', active: false },
      { key: 'k', active: true },
    ]);
    await expect(c.insertOne({ key: 'k', active: true })).rejects.toMatchObject({ code: 11000 });
    expect(await c.countDocuments({ key: 'k' })).toBe(3);
  });

  it('finds by an indexed field, by _id and through $in, with the same answers as a scan', async () => {
    const c = fresh();
    await c.createIndex({ code: 1 });
    await c.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, code: `K${i % 100}`, tags: [`t${i % 7}`] })));
    await c.createIndex({ tags: 1 });
    const viaIndex = (await c.find({ code: { $in: ['K1', 'K2'] } }).toArray()).map((d) => d._id);
    expect(viaIndex).toEqual([1, 2, 101, 102, 201, 202]);
    const viaScan = (await c.find({ $or: [{ code: 'K1' }, { code: 'K2' }] }).toArray()).map((d) => d._id);
    expect(viaScan).toEqual(viaIndex);
    expect((await c.find({ _id: { $in: [5, 299, 1000] } }).toArray()).map((d) => d._id)).toEqual([5, 299]);
    expect(await c.countDocuments({ tags: 't3', code: 'K3' })).toBe(1);
  });

  it('expires documents through a TTL index', async (ctx) => {
    if (REAL_MONGODB) {
      ctx.skip('real MongoDB sweeps TTL indexes only every 60 s; too slow for this suite');
    }
    const c = fresh();
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 1 });
    await c.insertMany([{ at: new Date(Date.now() - 5000), old: true }, { at: new Date(Date.now() + 60_000) }, { at: 'not a date' }]);
    const deadline = Date.now() + 5000;
    while ((await c.countDocuments({ old: true })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await c.countDocuments({ old: true })).toBe(0);
    expect(await c.countDocuments()).toBe(2);
  });
});

describe('refused operations', () => {
  it('answers unsupported or unknown operators with BadValue naming them', async () => {
    const c = fresh();
    await c.insertOne({ a: 1 });
    await expect(c.find({ $where: 'this.a == 1' }).toArray()).rejects.toMatchObject({ message: expect.stringContaining('$where') });
    await expect(c.find({ a: { $frob: 1 } }).toArray()).rejects.toMatchObject({ message: expect.stringContaining('$frob') });
    await expect(c.find({ $text: { $search: 'x' } }).toArray()).rejects.toMatchObject({ message: expect.stringContaining('$text') });
    await expect(c.updateOne({}, { $frob: { a: 1 } })).rejects.toMatchObject({ message: expect.stringContaining('$frob') });
  });

  it('fails a query that exceeds maxTimeMS with code 50', async () => {
    const c = fresh();
    const docs = Array.from({ length: 20_000 }, (_, i) => ({ i, s: `value ${i} ${'x'.repeat(40)}` }));
    for (let i = 0; i < docs.length; i += 5000) await c.insertMany(docs.slice(i, i + 5000));
    await expect(
      c
        .find({ $or: Array.from({ length: 50 }, (_, i) => ({ s: { $regex: `nomatch${i}$` } })) })
        .maxTimeMS(1)
        .toArray(),
    ).rejects.toMatchObject({ code: 50, codeName: 'MaxTimeMSExpired' });
  });
});

describe('transactions', () => {
  it('hides writes from others until commit, then shows them all at once', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'a', v: 0 });
    const session = backend.client.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ _id: 'b', v: 1 }, { session });
      await c.updateOne({ _id: 'a' }, { $set: { v: 1 } }, { session });
      expect(await c.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 'a', v: 1 },
        { _id: 'b', v: 1 },
      ]);
      expect(await c.find().toArray()).toEqual([{ _id: 'a', v: 0 }]);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', v: 1 },
      { _id: 'b', v: 1 },
    ]);
  });

  it('discards writes on abort', async () => {
    const c = fresh();
    const session = backend.client.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ x: 1 }, { session });
      await c.deleteMany({}, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await c.countDocuments()).toBe(0);
  });

  it('answers a conflicting write with WriteConflict and TransientTransactionError', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'x', v: 0 });
    const s1 = backend.client.startSession();
    const s2 = backend.client.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await c.updateOne({ _id: 'x' }, { $set: { v: 1 } }, { session: s1 });
      const err = (await c.updateOne({ _id: 'x' }, { $set: { v: 2 } }, { session: s2 }).catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(112);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await s2.abortTransaction().catch(() => undefined);
      await s1.commitTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(await c.findOne({ _id: 'x' })).toEqual({ _id: 'x', v: 1 });
  });

  it('lets withTransaction retry through a conflict until it commits', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'n', v: 0 });
    const other = backend.client.startSession();
    const session = backend.client.startSession();
    let attempts = 0;
    try {
      other.startTransaction();
      await c.updateOne({ _id: 'n' }, { $inc: { v: 10 } }, { session: other });
      await session.withTransaction(async () => {
        attempts++;
        if (attempts === 2) await other.commitTransaction();
        await c.updateOne({ _id: 'n' }, { $inc: { v: 1 } }, { session });
      });
    } finally {
      await other.endSession();
      await session.endSession();
    }
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await c.findOne({ _id: 'n' })).toEqual({ _id: 'n', v: 11 });
  });

  it('applies a unique index across a transaction', async () => {
    const c = fresh();
    await c.createIndex({ k: 1 }, { unique: true });
    const session = backend.client.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ k: 1 }, { session });
      await expect(c.insertOne({ k: 1 }, { session })).rejects.toMatchObject({ code: 11000 });
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
    expect(await c.countDocuments()).toBe(0);
  });
});
