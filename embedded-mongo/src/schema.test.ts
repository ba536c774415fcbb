import { Double, Int32, Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { compileSchema } from './schema.js';

describe('$jsonSchema', () => {
  it('tells BSON number types apart with bsonType, and checks numbers by value otherwise', () => {
    const check = compileSchema({ properties: { n: { bsonType: 'int' }, m: { bsonType: 'number', minimum: 1, exclusiveMinimum: true } } });
    expect(check({ n: new Int32(1), m: Long.fromNumber(2) })).toEqual([]);
    expect(check({ n: new Double(1) })[0]).toMatchObject({ operatorName: 'properties' });
    expect(check({ m: new Double(1) })[0]?.propertiesNotSatisfied).toEqual([
      { propertyName: 'm', details: [expect.objectContaining({ operatorName: 'minimum', reason: 'comparison failed' })] },
    ]);
  });

  it('reports required, additionalProperties, enum, items and the logic keywords as MongoDB names them', () => {
    const check = compileSchema({
      required: ['a'],
      additionalProperties: false,
      properties: {
        _id: {},
        a: { enum: [1, 2] },
        list: { items: { bsonType: 'string' }, uniqueItems: true },
        o: { anyOf: [{ bsonType: 'string' }, { bsonType: 'bool' }] },
      },
    });
    expect(check({ _id: 1, a: 1, list: ['x', 'y'], o: true })).toEqual([]);
    expect(check({ _id: 1, b: 1 }).map((r) => r.operatorName)).toEqual(['required', 'additionalProperties']);
    expect(check({ a: 3, list: ['x', 'x', 2], o: 1 })[0]?.propertiesNotSatisfied).toHaveLength(3);
  });

  it('refuses keywords MongoDB does not support', () => {
    expect(() => compileSchema({ format: 'email' })).toThrow(/not currently supported/);
    expect(() => compileSchema({ type: 'integer' })).toThrow(/integer/);
    expect(() => compileSchema({ frob: 1 })).toThrow(/Unknown \$jsonSchema keyword: frob/);
    expect(() => compileSchema({ type: 'string', bsonType: 'string' })).toThrow(/both/);
  });
});
