import { Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import { castLike, keyOf, retype, toView, valuesAt } from './values.js';

describe('toView', () => {
  it('turns every BSON number into a JS number and leaves other values alone', () => {
    const id = new ObjectId();
    const date = new Date(0);
    expect(toView({ a: new Int32(1), b: Long.fromNumber(2), c: new Double(2.5), d: Decimal128.fromString('4'), id, date, s: 'x' })).toEqual({
      a: 1,
      b: 2,
      c: 2.5,
      d: 4,
      id,
      date,
      s: 'x',
    });
  });
});

describe('keyOf', () => {
  it('gives equal numbers of any BSON type the same key, and different types different keys', () => {
    expect(new Set([keyOf(1), keyOf(new Int32(1)), keyOf(Long.fromNumber(1)), keyOf(new Double(1))]).size).toBe(1);
    expect(keyOf('1')).not.toBe(keyOf(1));
    expect(keyOf(null)).toBe(keyOf(undefined));
    const id = new ObjectId();
    expect(keyOf(new ObjectId(id.toHexString()))).toBe(keyOf(id));
  });
});

describe('retype', () => {
  it('keeps the type of an unchanged number and of a changed one, and types new numbers as MongoDB does', () => {
    const before = { same: Long.fromNumber(5), inc: new Double(1), list: [new Int32(1)] };
    const after = retype({ same: 5, inc: 2, list: [1, 2], fresh: 3, big: 2 ** 40, frac: 0.5 }, [before]);
    expect(after).toEqual({
      same: Long.fromNumber(5),
      inc: new Double(2),
      list: [new Int32(1), new Int32(2)],
      fresh: new Int32(3),
      big: Long.fromNumber(2 ** 40),
      frac: new Double(0.5),
    });
  });

  it('casts a number to the type of the value it replaces', () => {
    expect(castLike(3, new Int32(1))).toEqual(new Int32(3));
    expect(castLike(2 ** 33, new Int32(1))).toEqual(Long.fromNumber(2 ** 33));
    expect(castLike(1.5, Decimal128.fromString('1'))).toEqual(Decimal128.fromString('1.5'));
  });
});

describe('valuesAt', () => {
  it('collects values through arrays of sub-documents', () => {
    expect(valuesAt({ a: [{ b: 1 }, { b: 2 }, { c: 3 }] }, 'a.b')).toEqual([1, 2, undefined]);
    expect(valuesAt({ a: [10, 20] }, 'a.1')).toEqual([20]);
  });
});
