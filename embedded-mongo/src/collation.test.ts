import { describe, expect, it } from 'vitest';
import { collatedEqual, compareStrings, parseCollation } from './collation.js';
import { type MongoServerError } from './errors.js';

describe('parseCollation', () => {
  it("takes MongoDB's locales in the form Intl.Collator wants, and none for 'simple'", () => {
    expect(parseCollation({ locale: 'en_US', strength: 2 })).toEqual({ locale: 'en-US', strength: 2 });
    expect(parseCollation({ locale: 'de@collation=phonebook' })).toEqual({ locale: 'de-u-co-phonebk' });
    expect(parseCollation({ locale: 'zh_Hant' })).toEqual({ locale: 'zh-Hant' });
    expect(parseCollation({ locale: 'simple' })).toBeUndefined();
    expect(parseCollation(undefined)).toBeUndefined();
  });

  it('refuses what MongoDB refuses, with its codes and messages', () => {
    const fails = (spec: unknown) => {
      try {
        parseCollation(spec);
      } catch (err) {
        return err as MongoServerError;
      }
      throw new Error(`accepted ${JSON.stringify(spec)}`);
    };
    expect(fails({ locale: 'xx' })).toMatchObject({ code: 2, message: `Field 'locale' is invalid in: { locale: "xx" }` });
    expect(fails({ locale: 'en_GB' }).message).toContain("Did you mean 'en'?");
    expect(fails({ locale: 'en@collation=phonebook' }).code).toBe(2);
    expect(fails({ locale: 'en', strength: 6 }).code).toBe(9);
    expect(fails({ locale: 'en', frob: 1 }).code).toBe(9);
    expect(fails({ locale: 'simple', strength: 1 }).code).toBe(9);
    expect(fails({ locale: 'en', strength: 1, caseFirst: 'upper' }).code).toBe(2);
    expect(fails({ strength: 1 }).code).toBe(40414);
  });
});

describe('collated comparison', () => {
  it('compares strings by strength, and values holding strings field by field', () => {
    const s1 = { locale: 'en', strength: 1 };
    const s2 = { locale: 'en', strength: 2 };
    expect(compareStrings(s1, 'résumé', 'RESUME')).toBe(0);
    expect(compareStrings(s2, 'résumé', 'RESUME')).not.toBe(0);
    expect(compareStrings({ locale: 'nb' }, 'Ørsta', 'Åsnes')).toBeLessThan(0);
    expect(collatedEqual(s2, { a: ['X', 1] }, { a: ['x', 1] })).toBe(true);
    expect(collatedEqual(s2, { a: 'x', b: 1 }, { b: 1, a: 'x' })).toBe(false);
    // Strength 5 (identical) tells canonically equivalent strings apart only by code points after NFD.
    expect(compareStrings({ locale: 'en', strength: 5 }, 'e\u0301', '\u00e9')).toBe(0);
  });
});
