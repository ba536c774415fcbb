/**
 * The figures machinery on its own, against the embedded store (or MONGODB_URI): every write of a
 * counted collection moves its cells by the difference, in the write's transaction (a refused
 * write moves none), a cell that comes back to nothing goes, and any sequence of writes leaves the
 * cells equal to a full recount.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type FigureSet, createCounted, findCells, inTransaction, readCells } from '@partnerskap/kit';
import { checkFigures } from '../demo/figures.js';
import { partnerDbs, seedDemoData } from '../demo/seed.js';
import { seededRandom, useStoreClient } from './store-client.js';

const { client, fresh } = useStoreClient('figures');

interface Thing {
  _id: string;
  study: string;
  year: number;
  outcome: string | null;
  rating: number;
  topics: { topic: string; rating: number }[];
}

const byStudy: FigureSet<Thing> = {
  name: 'byStudy',
  key: ['study'],
  sums: ['n', 'admitted', 'ratingSum'],
  cells: (t) => [{ key: { study: t.study }, add: { n: 1, admitted: t.outcome === 'ADMITTED' ? 1 : 0, ratingSum: t.rating } }],
};
const byYearTopic: FigureSet<Thing> = {
  name: 'byYearTopic',
  key: ['year', 'topic'],
  sums: ['n', 'sum'],
  indexes: [{ year: 1 }],
  cells: (t) => t.topics.map((x) => ({ key: { year: t.year, topic: x.topic }, add: { n: 1, sum: x.rating } })),
};

const thing = (id: string, over: Partial<Thing> = {}): Thing => ({ _id: id, study: 's1', year: 2030, outcome: null, rating: 3, topics: [], ...over });

describe('a counted collection', () => {
  it('moves its cells with each write, in the write transaction, and drops a cell that comes back to nothing', async () => {
    const db = fresh();
    const things = createCounted(db, 'things', [byStudy, byYearTopic]);
    await things.ensureIndexes();
    await inTransaction(db, (s) => things.insertOne(thing('a', { topics: [{ topic: 'x', rating: 4 }] }), s));
    await inTransaction(db, (s) =>
      things.insertOne(
        thing('b', {
          rating: 5,
          topics: [
            { topic: 'x', rating: 2 },
            { topic: 'y', rating: 5 },
          ],
        }),
        s,
      ),
    );
    expect(await readCells(things.figures, byStudy, [{ study: 's1' }, { study: 's2' }])).toEqual([
      { _id: 'byStudy|["s1"]', set: 'byStudy', study: 's1', n: 2, admitted: 0, ratingSum: 8 },
      null,
    ]);
    expect((await findCells(things.figures, byYearTopic, { year: 2030 })).map((c) => [c.topic, c.n, c.sum]).sort()).toEqual([
      ['x', 2, 6],
      ['y', 1, 5],
    ]);

    // An update moves the document's contribution from its old cells to its new ones.
    const after = await inTransaction(db, (s) => things.updateOne({ _id: 'b' }, { $set: { study: 's2', outcome: 'ADMITTED' } }, s));
    expect(after).toMatchObject({ _id: 'b', study: 's2' });
    expect((await readCells(things.figures, byStudy, [{ study: 's1' }, { study: 's2' }])).map((c) => c && [c.n, c.admitted, c.ratingSum])).toEqual([
      [1, 0, 3],
      [1, 1, 5],
    ]);
    // Nothing matched: nothing written, null.
    expect(await inTransaction(db, (s) => things.updateOne({ _id: 'b', outcome: null }, { $set: { outcome: 'REJECTED' } }, s))).toBeNull();

    // A write whose transaction aborts moves no cell.
    await expect(
      inTransaction(db, async (s) => {
        await things.insertOne(thing('c', { study: 's3' }), s);
        throw new Error('a rule refused it');
      }),
    ).rejects.toThrow('a rule refused it');
    expect(await readCells(things.figures, byStudy, [{ study: 's3' }])).toEqual([null]);

    // The last document of a cell leaves: the cell goes (a recount would not make it).
    await inTransaction(db, (s) => things.updateMany({ study: 's2' }, { $set: { study: 's1' } }, s));
    expect(await readCells(things.figures, byStudy, [{ study: 's2' }])).toEqual([null]);
    // Replacing counts the replaced document out and the new one in.
    const before = await inTransaction(db, (s) => things.replaceOne(thing('a', { study: 's4', rating: 1 }), s));
    expect(before).toMatchObject({ _id: 'a', study: 's1' });
    expect((await readCells(things.figures, byStudy, [{ study: 's1' }, { study: 's4' }])).map((c) => c && c.n)).toEqual([1, 1]);
    // Deleting counts the document out.
    expect(await inTransaction(db, (s) => things.deleteOne({ _id: 'a' }, s))).toMatchObject({ _id: 'a', study: 's4' });
    expect(await readCells(things.figures, byStudy, [{ study: 's4' }])).toEqual([null]);
    expect(await things.check()).toEqual([]);
  });

  it('finds kept cells that differ from a recount, and a rebuild mends them', async () => {
    const db = fresh();
    const things = createCounted(db, 'things', [byStudy, byYearTopic]);
    await things.ensureIndexes();
    // Written around the counted collection, as a careless script would.
    await things.collection.insertMany([thing('a'), thing('b', { study: 's2', topics: [{ topic: 'x', rating: 1 }] })]);
    await inTransaction(db, (s) => things.insertOne(thing('c'), s));
    await things.figures.insertOne({ _id: 'byStudy|["gone"]', set: 'byStudy', study: 'gone', n: 1, admitted: 0, ratingSum: 0 });
    const found = await things.check();
    expect(found.map((d) => [d.problem, d.id]).sort()).toEqual([
      ['different', 'byStudy|["s1"]'],
      ['extra', 'byStudy|["gone"]'],
      ['missing', 'byStudy|["s2"]'],
      ['missing', 'byYearTopic|[2030,"x"]'],
    ]);
    expect(found.find((d) => d.problem === 'different')).toMatchObject({
      expected: { n: 2, admitted: 0, ratingSum: 6 },
      actual: { n: 1, admitted: 0, ratingSum: 3 },
    });
    expect(await things.rebuild()).toBe(3);
    expect(await things.check()).toEqual([]);
  });

  it('any sequence of inserts, updates, replacements and bulk updates leaves the cells equal to a recount', async () => {
    const db = fresh();
    const things = createCounted(db, 'things', [byStudy, byYearTopic]);
    await things.ensureIndexes();
    // A fixed pseudo-random sequence (a failure reproduces), drawn over few studies and ids so that cells fill, move and empty.
    const rnd = seededRandom(12345);
    const studies = ['s1', 's2', 's3', 's4', 's5'];
    const outcomes = [null, 'ADMITTED', 'WAITLISTED'];
    const topics = () => Array.from({ length: rnd(3) }, (_, i) => ({ topic: ['x', 'y', 'z'][(i + rnd(3)) % 3]!, rating: 1 + rnd(5) }));
    const ids = new Set<string>();
    let emptied = 0;
    let cells = 0;
    for (let step = 0; step < 120; step++) {
      const id = `t${rnd(6)}`;
      const op = rnd(4);
      await inTransaction(db, async (s) => {
        if (op === 0 && !ids.has(id)) {
          await things.insertOne(thing(id, { study: studies[rnd(5)]!, year: 2029 + rnd(2), rating: 1 + rnd(5), topics: topics() }), s);
          ids.add(id);
        } else if (op === 1) await things.updateOne({ _id: id }, { $set: { outcome: outcomes[rnd(3)]!, study: studies[rnd(5)]! } }, s);
        else if (op === 2) {
          await things.replaceOne(thing(id, { year: 2029 + rnd(2), topics: topics() }), s);
          ids.add(id);
        } else await things.updateMany({ study: studies[rnd(5)]! }, { $set: { rating: 1 + rnd(5) } }, s);
      });
      const now = await things.figures.countDocuments();
      if (now < cells) emptied++;
      cells = now;
    }
    // The sequence empties cells too (the path a stale zero would take).
    expect(emptied).toBeGreaterThan(3);
    expect(ids.size).toBeGreaterThan(3);
    expect(await things.check()).toEqual([]);
    expect((await things.recount()).size).toBeGreaterThan(3);
  });

  it("the seed counts every partner's figures from the documents it wrote (in memory), equal to a recount from the store", async () => {
    const dbs = partnerDbs(client(), `figures_seed_${randomBytes(3).toString('hex')}_`);
    const lines: string[] = [];
    await seedDemoData(dbs, (line) => lines.push(line), undefined, { projections: false });
    expect(lines.at(-1)).toMatch(/^figures: [\d,]+ cells the partners serve, counted from their records$/);
    const reports = await checkFigures(dbs);
    expect(reports.map((r) => r.partner).sort()).toEqual(expect.arrayContaining(['admissions', 'catalogue', 'feedback', 'plans']));
    expect(reports.every((r) => r.checked > 0)).toBe(true);
    expect(reports.flatMap((r) => r.differences)).toEqual([]);
    await Promise.all(Object.values(dbs).map((db) => db.dropDatabase()));
  }, 120_000);
});
