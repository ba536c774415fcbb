import { isEqual } from 'mingo/util';
import { MongoServerError, badValue } from './errors.js';
import { type Doc, asText, toView } from './values.js';

/**
 * A collation as the store runs it: the fields MongoDB accepts, with `locale` in the BCP 47 form
 * `Intl.Collator` and mingo's `$sort` take (`en_US` becomes `en-US`, `de@collation=phonebook`
 * becomes `de-u-co-phonebk`). `spec` is the collation as the client sent it, for error messages.
 */
export interface Collation {
  locale: string;
  strength?: number;
  caseLevel?: boolean;
  caseFirst?: 'upper' | 'lower' | 'off';
  numericOrdering?: boolean;
  alternate?: 'non-ignorable' | 'shifted';
}

// The locales MongoDB 7.0's ICU build accepts (its documentation's list), with their collation variants.
const LOCALES: Record<string, readonly string[]> = {
  af: [],
  am: [],
  ar: ['compat'],
  as: [],
  az: ['search'],
  be: [],
  bg: [],
  bn: ['traditional'],
  bo: [],
  bs: ['search'],
  bs_Cyrl: [],
  ca: ['search'],
  chr: [],
  cs: ['search'],
  cy: [],
  da: ['search'],
  de: ['phonebook', 'search'],
  de_AT: ['phonebook'],
  dsb: [],
  dz: [],
  ee: [],
  el: [],
  en: [],
  en_US: [],
  en_US_POSIX: [],
  eo: [],
  es: ['search', 'traditional'],
  et: [],
  fa: [],
  fa_AF: [],
  fi: ['search', 'traditional'],
  fil: [],
  fo: ['search'],
  fr: [],
  fr_CA: [],
  ga: [],
  gl: ['search'],
  gu: [],
  ha: [],
  haw: [],
  he: ['search'],
  hi: [],
  hr: ['search'],
  hsb: [],
  hu: [],
  hy: [],
  id: [],
  ig: [],
  is: ['search'],
  it: [],
  ja: ['unihan'],
  ka: [],
  kk: [],
  kl: ['search'],
  km: [],
  kn: ['traditional'],
  ko: ['search', 'searchjl', 'unihan'],
  kok: [],
  ky: [],
  lb: [],
  lkt: [],
  ln: ['phonetic'],
  lo: [],
  lt: [],
  lv: [],
  mk: [],
  ml: [],
  mn: [],
  mr: [],
  ms: [],
  mt: [],
  my: [],
  nb: ['search'],
  ne: [],
  nl: [],
  nn: ['search'],
  om: [],
  or: [],
  pa: [],
  pl: [],
  ps: [],
  pt: [],
  ro: [],
  ru: [],
  se: ['search'],
  si: ['dictionary'],
  sk: ['search'],
  sl: [],
  smn: ['search'],
  sq: [],
  sr: [],
  sr_Latn: ['search'],
  sv: ['search'],
  sw: [],
  ta: [],
  te: [],
  th: [],
  to: [],
  tr: ['search'],
  ug: ['search'],
  uk: [],
  ur: [],
  vi: ['traditional'],
  wae: [],
  yi: ['search'],
  yo: [],
  zh: ['big5han', 'gb2312han', 'unihan', 'zhuyin'],
  zh_Hant: [],
  zu: [],
};
// ICU's names of collation variants against the BCP 47 keys `Intl.Collator` takes.
const VARIANT_KEYS: Record<string, string> = {
  big5han: 'big5han',
  compat: 'compat',
  dictionary: 'dict',
  gb2312han: 'gb2312',
  phonebook: 'phonebk',
  phonetic: 'phonetic',
  search: 'search',
  searchjl: 'searchjl',
  traditional: 'trad',
  unihan: 'unihan',
  zhuyin: 'zhuyin',
};
const FIELDS = new Set([
  'locale',
  'strength',
  'caseLevel',
  'caseFirst',
  'numericOrdering',
  'alternate',
  'maxVariable',
  'backwards',
  'normalization',
  'version',
]);

/** The collation spec as MongoDB prints it in a message: `{ locale: "xx", strength: 2 }`. */
function shown(spec: Doc): string {
  const parts = Object.entries(spec).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  return parts.length > 0 ? `{ ${parts.join(', ')} }` : '{}';
}

function failed(message: string): MongoServerError {
  return new MongoServerError('FailedToParse', message);
}

/** The BCP 47 tag of a MongoDB locale, or undefined when MongoDB does not accept it. */
function bcp47(locale: string): string | undefined {
  const [base = '', variant] = locale.split('@collation=');
  const variants = LOCALES[base];
  if (!variants || !Object.hasOwn(LOCALES, base)) return undefined;
  const tag = base.replaceAll('_', '-');
  if (variant === undefined) return locale.includes('@') ? undefined : tag;
  return variants.includes(variant) ? `${tag}-u-co-${VARIANT_KEYS[variant]}` : undefined;
}

/**
 * Validates a collation as MongoDB does and returns it for the store, or undefined for none and for
 * `{ locale: 'simple' }` (binary comparison). An unknown locale is `BadValue` with MongoDB's message
 * ("Field 'locale' is invalid in: ...", with "Did you mean 'en'?" where ICU would fall back).
 */
export function parseCollation(raw: unknown): Collation | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MongoServerError('TypeMismatch', "BSON field 'collation' is the wrong type, expected type 'object'");
  }
  const spec = toView(raw) as Doc;
  for (const key of Object.keys(spec)) {
    if (!FIELDS.has(key)) throw failed(`Collation spec contains unknown field. Collation spec: ${shown(spec)}`);
  }
  const { locale } = spec;
  if (locale === undefined) throw new MongoServerError('Location40414', "BSON field 'locale' is missing but a required field");
  if (typeof locale !== 'string') throw new MongoServerError('TypeMismatch', `"locale" had the wrong type. Expected string, found ${typeof locale}`);
  if (locale === 'simple') {
    if (Object.keys(spec).length > 1) throw failed(`If locale=simple, no other fields should be present in: ${shown(spec)}`);
    return undefined;
  }
  if (locale === '') throw badValue(`Field 'locale' cannot be the empty string in: ${shown(spec)}`);
  const tag = bcp47(locale);
  if (!tag) {
    const base = locale.split(/[_@]/)[0] ?? '';
    const hint = base !== locale && Object.hasOwn(LOCALES, base) ? `. Did you mean '${base}'?` : '';
    throw badValue(`Field 'locale' is invalid in: ${shown(spec)}${hint}`);
  }
  const out: Collation = { locale: tag };
  const { strength, caseLevel, caseFirst, numericOrdering, alternate, maxVariable, backwards } = spec;
  if (strength !== undefined) {
    if (typeof strength !== 'number' || !Number.isInteger(strength) || strength < 1 || strength > 5) {
      throw failed(`Field 'strength' must be an integer 1 through 5. Got: ${asText(strength)}`);
    }
    out.strength = strength;
  }
  for (const [name, value] of [
    ['caseLevel', caseLevel],
    ['numericOrdering', numericOrdering],
    ['backwards', backwards],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new MongoServerError('TypeMismatch', `"${name}" had the wrong type. Expected bool, found ${typeof value}`);
    }
  }
  if (caseLevel !== undefined) out.caseLevel = caseLevel as boolean;
  if (numericOrdering !== undefined) out.numericOrdering = numericOrdering as boolean;
  if (caseFirst !== undefined) {
    if (caseFirst !== 'upper' && caseFirst !== 'lower' && caseFirst !== 'off') {
      throw failed(`Field 'caseFirst' must be 'upper', 'lower', or 'off'. Got: ${asText(caseFirst)}`);
    }
    if (caseFirst !== 'off' && caseLevel !== true && (out.strength ?? 3) < 3) {
      throw badValue(`'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is greater than 2 in: ${shown(spec)}`);
    }
    out.caseFirst = caseFirst;
  }
  if (alternate !== undefined) {
    if (alternate !== 'non-ignorable' && alternate !== 'shifted') {
      throw failed(`Field 'alternate' must be 'non-ignorable' or 'shifted'. Got: ${asText(alternate)}`);
    }
    out.alternate = alternate;
  }
  if (maxVariable !== undefined && maxVariable !== 'punct' && maxVariable !== 'space') {
    throw failed(`Field 'maxVariable' must be 'punct' or 'space'. Got: ${asText(maxVariable)}`);
  }
  if (backwards === true && out.strength === 1) throw badValue(`'backwards' is invalid with 'strength' of 1 in: ${shown(spec)}`);
  return out;
}

const SENSITIVITY = { 1: 'base', 2: 'accent', 3: 'variant' } as const;
const collators = new Map<string, Intl.Collator>();
const collatorFor = new WeakMap<Collation, Intl.Collator>();

/**
 * The `Intl.Collator` of a collation, with the options mingo's `$sort` derives from the same spec, so
 * that matching and sorting agree. Strengths 4 and 5 compare as 3 (see {@link collatedEqual}).
 */
export function collatorOf(collation: Collation): Intl.Collator {
  // A command compares many strings under one collation object: its collator is found once.
  const known = collatorFor.get(collation);
  if (known) return known;
  const key = JSON.stringify(collation);
  let found = collators.get(key);
  if (!found) {
    let sensitivity: Intl.CollatorOptions['sensitivity'] = SENSITIVITY[(collation.strength ?? 3) as 1 | 2 | 3] ?? 'variant';
    if (collation.caseLevel === true) sensitivity = sensitivity === 'base' ? 'case' : sensitivity === 'accent' ? 'variant' : sensitivity;
    const options: Intl.CollatorOptions = { sensitivity, numeric: collation.numericOrdering ?? false, ignorePunctuation: collation.alternate === 'shifted' };
    if (collation.caseFirst) options.caseFirst = collation.caseFirst === 'off' ? 'false' : collation.caseFirst;
    found = new Intl.Collator(collation.locale, options);
    if (collators.size > 64) collators.clear();
    collators.set(key, found);
  }
  collatorFor.set(collation, found);
  return found;
}

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** Whether a query value holds a string anywhere (only then does a collation change how it compares). */
export function holdsString(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (Array.isArray(v)) return v.some(holdsString);
  if (isPlain(v)) return Object.values(v).some(holdsString);
  return false;
}

/** Compares two strings under a collation; strength 5 (identical) also tells canonically different strings apart. */
export function compareStrings(collation: Collation, a: string, b: string): number {
  const c = collatorOf(collation).compare(a, b);
  if (c !== 0 || (collation.strength ?? 3) < 5) return c;
  const [x, y] = [a.normalize('NFD'), b.normalize('NFD')];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** MongoDB's equality under a collation: strings by the collator, arrays and documents field by field, anything else as mingo. */
export function collatedEqual(collation: Collation, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(collation, a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => collatedEqual(collation, x, b[i]));
  if (isPlain(a) && isPlain(b)) {
    const [ka, kb] = [Object.keys(a), Object.keys(b)];
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && collatedEqual(collation, a[k], b[k]));
  }
  return isEqual(a, b);
}
