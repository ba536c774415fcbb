import { type CollationOptions, Double, Int32, MongoServerError, type Collection, type Document } from 'mongodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../src/index.js';
import { EMBEDDED_ONLY, REAL_MONGODB, type TestBackend, failure, startBackend } from './backend.js';

// MongoDB's semantics for collation, `let`, pipeline updates, validators, views and the 7.0 command
// set, through the official driver. Every test that touches data holds on a real MongoDB 7.0 too
// (MONGODB_URI); a refusal of something MongoDB does is asserted only on the embedded store.
let backend: TestBackend;
let serverMajor = 7;
let n = 0;
const fresh = (): Collection<any> => backend.db.collection(`s${++n}`);
const name = (): string => `s${++n}`;
const EN2 = { locale: 'en', strength: 2 } as const;

beforeAll(async () => {
  backend = await startBackend();
  const info = await backend.db.admin().command({ buildInfo: 1 });
  serverMajor = Number(String(info.version).split('.')[0]);
});
afterAll(async () => {
  await backend?.close();
});

const ids = (docs: Document[]): unknown[] => docs.map((d) => d._id);

describe('collation in matching', () => {
  const pings = [
    { _id: 1, x: 'PING' },
    { _id: 2, x: 'ping' },
    { _id: 3, x: 'pong' },
    { _id: 4, x: 'Ping', tags: ['A', 'b'] },
  ];

  it('matches equality, $in, $ne and $nin under strength 2 (and not without a collation)', async () => {
    const c = fresh();
    await c.insertMany(pings);
    const find = async (filter: Document, collation?: CollationOptions) =>
      ids(
        await c
          .find(filter, collation ? { collation } : {})
          .sort({ _id: 1 })
          .toArray(),
      );
    expect(await find({ x: 'PING' })).toEqual([1]);
    expect(await find({ x: 'PING' }, EN2)).toEqual([1, 2, 4]);
    expect(await find({ x: { $eq: 'ping' } }, { locale: 'en_US', strength: 2 })).toEqual([1, 2, 4]);
    expect(await find({ x: { $in: ['PONG', 'nope'] } }, EN2)).toEqual([3]);
    expect(await find({ x: { $ne: 'ping' } }, EN2)).toEqual([3]);
    expect(await find({ x: { $nin: ['ping'] } }, EN2)).toEqual([3]);
    expect(await find({ tags: 'a' }, EN2)).toEqual([4]);
    expect(await find({ tags: 'a' })).toEqual([]);
    expect(await find({ tags: { $all: ['a', 'B'] } }, EN2)).toEqual([4]);
    expect(await find({ tags: { $all: ['a', 'B'] } })).toEqual([]);
    expect(await find({ $expr: { $eq: ['$x', 'ping'] } }, EN2)).toEqual([1, 2, 4]);
    expect(await c.countDocuments({ x: 'ping' }, { collation: EN2 })).toBe(3);
    const agg = await c.aggregate([{ $match: { x: 'ping' } }, { $sort: { _id: 1 } }], { collation: EN2 }).toArray();
    expect(ids(agg)).toEqual([1, 2, 4]);
  });

  it('compares accents only from strength 2, and case only from 3 or with caseLevel', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, w: 'cafe' },
      { _id: 2, w: 'café' },
      { _id: 3, w: 'Cafe' },
    ]);
    const find = async (collation: CollationOptions) => ids(await c.find({ w: 'cafe' }, { collation }).sort({ _id: 1 }).toArray());
    expect(await find({ locale: 'fr', strength: 1 })).toEqual([1, 2, 3]);
    expect(await find({ locale: 'fr', strength: 2 })).toEqual([1, 3]);
    expect(await find({ locale: 'fr', strength: 3 })).toEqual([1]);
    expect(await find({ locale: 'fr', strength: 1, caseLevel: true })).toEqual([1, 2]);
    expect(await find({ locale: 'simple' })).toEqual([1]);
  });

  it('compares numbers inside strings with numericOrdering, in ranges and in sorts alike', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, v: '9' },
      { _id: 2, v: '10' },
      { _id: 3, v: '100' },
    ]);
    const collation = { locale: 'en', numericOrdering: true };
    expect(
      ids(
        await c
          .find({ v: { $gt: '9' } }, { collation })
          .sort({ v: 1 })
          .toArray(),
      ),
    ).toEqual([2, 3]);
    expect(
      ids(
        await c
          .find({ v: { $gt: '9' } })
          .sort({ v: 1 })
          .toArray(),
      ),
    ).toEqual([]);
    expect(ids(await c.find({}, { collation }).sort({ v: -1 }).toArray())).toEqual([3, 2, 1]);
  });

  it('updates, deletes, finds and modifies, and counts distinct values under the collation', async () => {
    const c = fresh();
    await c.insertMany(pings);
    const updated = await c.updateMany({ x: 'ping' }, { $set: { seen: true } }, { collation: EN2 });
    expect([updated.matchedCount, updated.modifiedCount]).toEqual([3, 3]);
    expect(await c.distinct('x', {}, { collation: EN2 })).toEqual(['PING', 'pong']);
    expect((await c.distinct('x')).length).toBe(4);
    const found = await c.findOneAndUpdate({ x: 'PONG' }, { $set: { y: 1 } }, { collation: EN2, returnDocument: 'after' });
    expect(found).toMatchObject({ _id: 3, y: 1 });
    expect((await c.deleteMany({ x: 'PiNg' }, { collation: EN2 })).deletedCount).toBe(3);
    expect(ids(await c.find().toArray())).toEqual([3]);
  });

  it('pulls array elements with the statement collation', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, tags: ['Oslo', 'oslo', 'Bergen'] });
    await c.updateOne({ _id: 1 }, { $pull: { tags: 'OSLO' } as Document }, { collation: EN2 });
    expect((await c.findOne({ _id: 1 }))?.tags).toEqual(['Bergen']);
  });

  it('finds every case variant through an index without a collation', async () => {
    const c = fresh();
    await c.createIndex({ code: 1 });
    await c.insertMany([
      { _id: 1, code: 'ab' },
      { _id: 2, code: 'AB' },
      { _id: 3, code: 'Ab', n: 1 },
    ]);
    expect(ids(await c.find({ code: 'aB' }, { collation: EN2 }).sort({ _id: 1 }).toArray())).toEqual([1, 2, 3]);
    expect(ids(await c.find({ code: { $in: ['AB'] }, n: 1 }, { collation: EN2 }).toArray())).toEqual([3]);
    expect(ids(await c.find({ code: 'AB' }).toArray())).toEqual([2]);
  });

  it("uses a collection's default collation unless the command asks for another ({ locale: 'simple' }: binary)", async () => {
    const coll = name();
    await backend.db.createCollection(coll, { collation: EN2 });
    const c = backend.db.collection(coll);
    await c.insertMany([
      { _id: 1, x: 'Oslo' },
      { _id: 2, x: 'OSLO' },
    ] as never[]);
    expect(await c.countDocuments({ x: 'oslo' })).toBe(2);
    expect(await c.countDocuments({ x: 'oslo' }, { collation: { locale: 'simple' } })).toBe(0);
    const [info] = await backend.db.listCollections({ name: coll }).toArray();
    expect((info as Document).options.collation).toMatchObject({ locale: 'en', strength: 2 });
  });

  it("refuses an unknown locale with BadValue and MongoDB's message", async () => {
    const c = fresh();
    await c.insertOne({ x: 1 });
    const err = await failure(c.find({}, { collation: { locale: 'xx' } }).toArray());
    expect(err.code).toBe(2);
    expect(err.message).toMatch(/Field 'locale' is invalid in: \{ locale: "xx" \}/);
    await expect(c.countDocuments({}, { collation: { locale: 'nb' } })).resolves.toBe(1);
    await expect(c.countDocuments({}, { collation: { locale: 'de@collation=phonebook' } })).resolves.toBe(1);
    await expect(c.updateOne({}, { $set: { y: 1 } }, { collation: { locale: 'xx' } })).rejects.toMatchObject({ code: 2 });
    await expect(c.createIndex({ x: 1 }, { collation: { locale: 'xx' } })).rejects.toMatchObject({ code: 2 });
  });
});

describe('let variables', () => {
  it('reads $$variables in find, aggregate, count and delete filters', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, name: 'a' },
      { _id: 2, name: 'b' },
      { _id: 3, name: 'b' },
    ]);
    expect(ids(await c.find({ $expr: { $eq: ['$_id', '$$id'] } }, { let: { id: 1 } }).toArray())).toEqual([1]);
    const agg = await c
      .aggregate([{ $match: { $expr: { $eq: ['$name', '$$n'] } } }, { $project: { _id: 1, v: '$$v' } }], { let: { n: 'b', v: { $literal: '$x' } } })
      .toArray();
    expect(agg).toEqual([
      { _id: 2, v: '$x' },
      { _id: 3, v: '$x' },
    ]);
    expect(await c.countDocuments({ $expr: { $eq: ['$name', '$$n'] } }, { let: { n: 'b' } })).toBe(2);
    expect((await c.deleteMany({ $expr: { $eq: ['$name', '$$n'] } }, { let: { n: 'b' } })).deletedCount).toBe(2);
    expect(ids(await c.find().toArray())).toEqual([1]);
  });

  it('reads $$variables in pipeline updates and findAndModify', async () => {
    const c = fresh();
    await c.insertMany([{ _id: 1 }, { _id: 2 }]);
    const result = await c.updateOne({ $expr: { $eq: ['$_id', '$$id'] } }, [{ $set: { x: '$$x', y: '$$y' } }], {
      let: { id: 1, x: 'foo', y: { $literal: 'bar' } },
    });
    expect([result.matchedCount, result.modifiedCount]).toEqual([1, 1]);
    const before = await c.findOneAndUpdate({ $expr: { $eq: ['$_id', '$$id'] } }, [{ $set: { z: { $add: ['$$a', 1] } } }], { let: { id: 2, a: 41 } });
    expect(before).toEqual({ _id: 2 });
    await c.findOneAndDelete({ $expr: { $eq: ['$x', '$$x'] } }, { let: { x: 'nope' } });
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 'foo', y: 'bar' },
      { _id: 2, z: 42 },
    ]);
  });

  it('takes an update statement its constants c', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    await backend.db.command({ update: c.collectionName, updates: [{ q: { _id: 1 }, u: [{ $set: { k: '$$k' } }], c: { k: 5 } }] });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, k: 5 });
  });

  it('refuses an undefined variable (17276) and a variable name MongoDB does not allow', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const err = await failure(c.find({ $expr: { $eq: ['$_id', '$$missing'] } }).toArray());
    expect(err.code).toBe(17276);
    expect(err.message).toContain('missing');
    await expect(c.find({}, { let: { Upper: 1 } }).toArray()).rejects.toBeInstanceOf(MongoServerError);
  });
});

describe('pipeline updates', () => {
  it('keeps the original _id when $replaceRoot, $project or $unset drops it', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, x: 1, y: 1, t: { u: { v: 1 } } },
      { _id: 2, x: 2, y: 1 },
    ]);
    const one = await c.updateOne({ _id: 1 }, [{ $replaceRoot: { newRoot: '$t' } }, { $addFields: { foo: 1 } }]);
    expect([one.matchedCount, one.modifiedCount]).toEqual([1, 1]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, u: { v: 1 }, foo: 1 });
    await c.updateMany({}, [{ $project: { _id: 0, x: 1 } }, { $addFields: { foo: 1 } }]);
    await c.updateOne({ _id: 2 }, [{ $unset: '_id' }, { $replaceWith: { $mergeObjects: ['$$ROOT', { bar: 2 }] } }]);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, foo: 1 },
      { _id: 2, x: 2, foo: 1, bar: 2 },
    ]);
    const modified = await c.findOneAndUpdate({ _id: 1 }, [{ $replaceWith: { n: 1 } }], { returnDocument: 'after' });
    expect(modified).toEqual({ _id: 1, n: 1 });
  });

  it('refuses a pipeline that changes _id (ImmutableField, 66)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1, a: { id: 2 } });
    const err = await failure(c.updateOne({ _id: 1 }, [{ $replaceRoot: { newRoot: { _id: '$a.id' } } }]));
    expect(err.code).toBe(66);
    await expect(c.updateOne({ _id: 1 }, [{ $set: { _id: 5 } }])).rejects.toMatchObject({ code: 66 });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, a: { id: 2 } });
  });

  it('refuses a stage an update may not run (InvalidOptions, 72)', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    for (const stage of [
      { $match: { _id: 1 } },
      { $group: { _id: null } },
      { $sort: { _id: 1 } },
      { $lookup: { from: 'x', localField: 'a', foreignField: 'b', as: 'c' } },
    ]) {
      const err = await failure(c.updateOne({ _id: 1 }, [stage]));
      expect(err.code).toBe(72);
      expect(err.message).toBe(`${Object.keys(stage)[0]} is not allowed to be used within an update`);
    }
  });

  it('upserts through a pipeline from the filter', async () => {
    const c = fresh();
    const r = await c.updateOne({ _id: 7, k: 'x' }, [{ $set: { n: { $add: [1, 2] } } }], { upsert: true });
    expect(r.upsertedId).toBe(7);
    expect(await c.findOne({ _id: 7 })).toEqual({ _id: 7, k: 'x', n: 3 });
  });
});

describe('document validation', () => {
  const schema = {
    $jsonSchema: {
      bsonType: 'object',
      required: ['name', 'n'],
      properties: {
        name: { bsonType: 'string', minLength: 2 },
        n: { bsonType: 'int', minimum: 0 },
        tags: { bsonType: 'array', items: { enum: ['a', 'b'] } },
      },
    },
  };

  it('enforces a $jsonSchema validator on insert and update with 121 and errInfo', async () => {
    const coll = name();
    await backend.db.createCollection(coll, { validator: schema });
    const c = backend.db.collection(coll);
    await c.insertOne({ _id: 1, name: 'ok', n: 1, tags: ['a'] } as never);
    const err = await failure(c.insertOne({ _id: 2, n: 1 } as never));
    expect(err.code).toBe(121);
    expect(err.message).toBe('Document failed validation');
    expect(err.errInfo?.failingDocumentId).toBe(2);
    const details = err.errInfo?.details as Document;
    expect(details.operatorName).toBe('$jsonSchema');
    expect(details.schemaRulesNotSatisfied).toContainEqual(expect.objectContaining({ operatorName: 'required', missingProperties: ['name'] }));
    // bsonType tells an Int32 from a Double.
    await expect(c.insertOne({ _id: 3, name: 'ok', n: new Double(1) } as never)).rejects.toMatchObject({ code: 121 });
    await expect(c.insertOne({ _id: 4, name: 'ok', n: new Int32(-1) } as never)).rejects.toMatchObject({ code: 121 });
    await expect(c.insertOne({ _id: 5, name: 'ok', n: 1, tags: ['c'] } as never)).rejects.toMatchObject({ code: 121 });
    await expect(c.updateOne({ _id: 1 } as never, { $set: { name: 'x' } })).rejects.toMatchObject({ code: 121 });
    await expect(c.findOneAndUpdate({ _id: 1 } as never, { $unset: { n: '' } })).rejects.toMatchObject({ code: 121 });
    await expect(c.replaceOne({ _id: 1 } as never, { name: 'ok' })).rejects.toMatchObject({ code: 121 });
    await expect(c.updateOne({ _id: 9 } as never, { $set: { name: 'up' } }, { upsert: true })).rejects.toMatchObject({ code: 121 });
    await c.insertOne({ _id: 6, n: 1 } as never, { bypassDocumentValidation: true });
    expect(await c.countDocuments()).toBe(2);
    expect(await c.findOne({ _id: 1 } as never)).toEqual({ _id: 1, name: 'ok', n: 1, tags: ['a'] });
    // A write error of an insertMany carries the same code.
    const many = await failure(c.insertMany([{ _id: 7, name: 'ok', n: 2 }, { _id: 8 }] as never[], { ordered: false }));
    expect(many.code).toBe(121);
    expect(await c.countDocuments({ _id: 7 } as never)).toBe(1);
  });

  it('finds documents with $jsonSchema in a query', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, name: 'ok', n: 1 },
      { _id: 2, name: 'x', n: 1 },
      { _id: 3, name: 'ok' },
    ]);
    expect(ids(await c.find(schema).toArray())).toEqual([1]);
    expect(
      ids(
        await c
          .find({ $nor: [schema] })
          .sort({ _id: 1 })
          .toArray(),
      ),
    ).toEqual([2, 3]);
  });

  it('enforces a query-operator validator and shows it in listCollections', async () => {
    const coll = name();
    const validator = { status: { $in: ['A', 'B'] }, $expr: { $lte: ['$lo', '$hi'] } };
    await backend.db.createCollection(coll, { validator });
    const c = backend.db.collection(coll);
    await c.insertOne({ status: 'A', lo: 1, hi: 2 });
    const err = await failure(c.insertOne({ status: 'C', lo: 1, hi: 2 }));
    expect(err.code).toBe(121);
    expect(err.errInfo?.details).toBeDefined();
    await expect(c.insertOne({ status: 'B', lo: 3, hi: 2 })).rejects.toMatchObject({ code: 121 });
    const [info] = await backend.db.listCollections({ name: coll }).toArray();
    expect((info as Document).options.validator).toEqual(validator);
  });

  it('lets moderate pass updates of invalid documents and warn pass everything; collMod changes the rules', async () => {
    const coll = name();
    await backend.db.createCollection(coll);
    const c = backend.db.collection(coll);
    await c.insertMany([
      { _id: 1, n: -1 },
      { _id: 2, n: 1 },
    ] as never[]);
    await backend.db.command({ collMod: coll, validator: { n: { $gte: 0 } }, validationLevel: 'moderate' });
    // Documents already stored are not checked again; an invalid one may still be updated under moderate.
    await c.updateOne({ _id: 1 } as never, { $set: { n: -2 } });
    await expect(c.updateOne({ _id: 2 } as never, { $set: { n: -1 } })).rejects.toMatchObject({ code: 121 });
    await expect(c.insertOne({ _id: 3, n: -1 } as never)).rejects.toMatchObject({ code: 121 });
    await backend.db.command({ collMod: coll, validationLevel: 'strict' });
    await expect(c.updateOne({ _id: 1 } as never, { $set: { n: -3 } })).rejects.toMatchObject({ code: 121 });
    await backend.db.command({ collMod: coll, validationAction: 'warn' });
    await c.insertOne({ _id: 4, n: -4 } as never);
    const [info] = await backend.db.listCollections({ name: coll }).toArray();
    expect((info as Document).options).toMatchObject({ validator: { n: { $gte: 0 } }, validationLevel: 'strict', validationAction: 'warn' });
    expect(await c.countDocuments()).toBe(3);
  });

  it('refuses a bad validator, level or action, and collMod on a missing collection', async () => {
    await expect(backend.db.createCollection(name(), { validator: { $jsonSchema: { bsonType: 'nosuchtype' } } })).rejects.toBeInstanceOf(MongoServerError);
    await expect(backend.db.createCollection(name(), { validator: { a: { $frob: 1 } } })).rejects.toBeInstanceOf(MongoServerError);
    await expect(backend.db.createCollection(name(), { validationLevel: 'sometimes' })).rejects.toMatchObject({ code: 2 });
    await expect(backend.db.command({ collMod: name(), validator: {} })).rejects.toMatchObject({ code: 26 });
  });
});

describe('views', () => {
  it('reads a view through find, count, distinct and aggregate, and refuses writes to it', async () => {
    const base = fresh();
    await base.insertMany([
      { _id: 1, name: 'Oslo', active: true, secret: 'x' },
      { _id: 2, name: 'Bergen', active: false, secret: 'y' },
      { _id: 3, name: 'Tromsø', active: true, secret: 'z' },
    ]);
    const view = name();
    await backend.db.createCollection(view, { viewOn: base.collectionName, pipeline: [{ $match: { active: true } }, { $project: { secret: 0 } }] });
    const v = backend.db.collection(view);
    expect(await v.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, name: 'Oslo', active: true },
      { _id: 3, name: 'Tromsø', active: true },
    ]);
    expect(await v.find({ name: { $gt: 'P' } }, { projection: { name: 1 } }).toArray()).toEqual([{ _id: 3, name: 'Tromsø' }]);
    expect(ids(await v.find().sort({ _id: -1 }).skip(1).limit(1).toArray())).toEqual([1]);
    expect(await v.countDocuments()).toBe(2);
    expect(await v.estimatedDocumentCount()).toBe(2);
    expect((await v.distinct('name')).sort()).toEqual(['Oslo', 'Tromsø']);
    expect(await v.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]).toArray()).toEqual([{ _id: null, n: 2 }]);
    const [info] = await backend.db.listCollections({ name: view }).toArray();
    expect(info).toMatchObject({ type: 'view', options: { viewOn: base.collectionName } });
    for (const write of [
      () => v.insertOne({ x: 1 }),
      () => v.updateOne({}, { $set: { x: 1 } }),
      () => v.deleteMany({}),
      () => v.createIndex({ x: 1 }),
      () => v.dropIndex('x_1'),
    ]) {
      expect((await failure(write())).code).toBe(166);
    }
    expect(await base.countDocuments()).toBe(3);
    // A view has its own default collation (here the simple one), which a read cannot override.
    await expect(v.find({}, { collation: EN2 }).toArray()).rejects.toMatchObject({ code: 167 });
  });

  it('reads a view on a view, and a view from $lookup', async () => {
    const base = fresh();
    await base.insertMany([
      { _id: 1, n: 1 },
      { _id: 2, n: 2 },
      { _id: 3, n: 3 },
    ]);
    const big = name();
    const bigger = name();
    await backend.db.createCollection(big, { viewOn: base.collectionName, pipeline: [{ $match: { n: { $gte: 2 } } }] });
    await backend.db.createCollection(bigger, { viewOn: big, pipeline: [{ $set: { twice: { $multiply: ['$n', 2] } } }] });
    expect(await backend.db.collection(bigger).find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 2, n: 2, twice: 4 },
      { _id: 3, n: 3, twice: 6 },
    ]);
    const joined = await base.aggregate([{ $lookup: { from: big, localField: '_id', foreignField: '_id', as: 'b' } }, { $sort: { _id: 1 } }]).toArray();
    expect(joined.map((d) => d.b.length)).toEqual([0, 1, 1]);
    await backend.db.command({ collMod: big, viewOn: base.collectionName, pipeline: [{ $match: { n: 1 } }] });
    expect(ids(await backend.db.collection(big).find().toArray())).toEqual([1]);
    expect(await backend.db.dropCollection(bigger)).toBe(true);
  });
});

describe('what MongoDB 7.0 does not have', () => {
  it('refuses updateOne and replaceOne with sort (8.0) as 7.0 refuses an unknown field', async (ctx) => {
    if (serverMajor >= 8) ctx.skip();
    const c = fresh();
    await c.insertMany([
      { _id: 1, x: 1 },
      { _id: 2, x: 2 },
    ]);
    const err = await failure(c.updateOne({}, { $inc: { x: 1 } }, { sort: { _id: -1 } } as never));
    expect(err.code).toBe(40415);
    expect(err.message).toContain("BSON field 'update.updates.sort' is an unknown field");
    await expect(c.replaceOne({}, { y: 1 }, { sort: { _id: -1 } } as never)).rejects.toMatchObject({ code: 40415 });
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 1 },
      { _id: 2, x: 2 },
    ]);
  });

  it('refuses an unknown create option and an expression newer than 7.0', async (ctx) => {
    if (serverMajor >= 8) ctx.skip();
    await expect(backend.db.command({ create: name(), frob: 1 })).rejects.toMatchObject({ code: 40415 });
    const c = fresh();
    await c.insertOne({ x: 1 });
    await expect(c.aggregate([{ $project: { s: { $sigmoid: '$x' } } }]).toArray()).rejects.toMatchObject({ code: 168 });
  });

  it('refuses an unknown stage (40324), an unknown expression (168) and a hint naming no index (2)', async (ctx) => {
    if (serverMajor >= 8) ctx.skip();
    const c = fresh();
    await c.createIndex({ k: 1 }, { name: 'by_k' });
    await c.insertOne({ _id: 1, k: 1 });
    await expect(c.aggregate([{ $rankFusion: { input: { pipelines: {} } } }]).toArray()).rejects.toMatchObject({ code: 40324 });
    await expect(c.aggregate([{ $project: { v: { $frob: 1 } } }]).toArray()).rejects.toMatchObject({ code: 168 });
    await expect(c.find({ k: 1 }).hint('nope').toArray()).rejects.toMatchObject({ code: 2 });
    await expect(c.find({ k: 1 }).hint({ other: 1 }).toArray()).rejects.toMatchObject({ code: 2 });
    expect(ids(await c.find({ k: 1 }).hint('by_k').toArray())).toEqual([1]);
    expect(ids(await c.find({ k: 1 }).hint({ k: 1 }).toArray())).toEqual([1]);
    expect(await c.countDocuments({}, { hint: { $natural: 1 } })).toBe(1);
    await expect(c.updateOne({ k: 1 }, { $set: { x: 1 } }, { hint: 'nope' })).rejects.toMatchObject({ code: 2 });
  });

  it.skipIf(REAL_MONGODB)('refuses clearly the collection kinds the embedded store does not have', async () => {
    for (const options of [{ capped: true, size: 4096 }, { timeseries: { timeField: 't' } }, { clusteredIndex: { key: { _id: 1 }, unique: true } }]) {
      const err = await failure(backend.db.createCollection(name(), options));
      expect(err.code).toBe(115);
      expect(err.message).toContain('not supported by the embedded store');
    }
  });
});

describe.skipIf(REAL_MONGODB)(`the journal keeps collection options (${EMBEDDED_ONLY})`, () => {
  it('replays a validator changed by collMod, a default collation and a view after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-semantics-'));
    try {
      let store = await startEmbeddedMongo({ dir });
      let client = await MongoClient.connect(store.uri);
      let db = client.db('j');
      await db.createCollection('people', { collation: EN2 });
      await db.collection('people').insertMany([{ name: 'Kari' }, { name: 'KARI' }]);
      await db.command({ collMod: 'people', validator: { name: { $type: 'string' } } });
      // A view does not take its source's default collation: it has its own.
      await db.createCollection('karis', { viewOn: 'people', pipeline: [{ $match: { name: 'kari' } }], collation: EN2 });
      await db.createCollection('binary', { viewOn: 'people', pipeline: [{ $match: { name: 'kari' } }] });
      await client.close();
      await store.close();

      store = await startEmbeddedMongo({ dir });
      client = await MongoClient.connect(store.uri);
      db = client.db('j');
      expect(await db.collection('karis').countDocuments()).toBe(2);
      expect(await db.collection('binary').countDocuments()).toBe(0);
      expect(await db.collection('people').countDocuments({ name: 'kari' })).toBe(2);
      await expect(db.collection('people').insertOne({ name: 5 })).rejects.toMatchObject({ code: 121 });
      await expect(db.collection('karis').insertOne({ name: 'x' })).rejects.toMatchObject({ code: 166 });
      await client.close();
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
