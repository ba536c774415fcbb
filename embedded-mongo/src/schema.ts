import { MongoServerError } from './errors.js';
import { type Doc, keyOf, numericType, toNumber, toView } from './values.js';

/**
 * MongoDB's `$jsonSchema` (JSON Schema draft 4 with `bsonType`, without `$ref`, `format`,
 * `default`, `definitions` or `id`), checked on typed BSON documents so that `bsonType: 'int'`
 * and `'double'` tell Int32 from Double. A failure comes back as the rules it broke, in the shape
 * MongoDB 5.0+ puts in `errInfo.details.schemaRulesNotSatisfied` (the keywords, the values
 * considered and a reason; the wording of reasons may differ from the server's).
 */
export type SchemaCheck = (value: unknown) => Doc[];

const BSON_TYPES = new Set([
  'double',
  'string',
  'object',
  'array',
  'binData',
  'undefined',
  'objectId',
  'bool',
  'date',
  'null',
  'regex',
  'dbPointer',
  'javascript',
  'symbol',
  'javascriptWithScope',
  'int',
  'timestamp',
  'long',
  'decimal',
  'minKey',
  'maxKey',
  'number',
]);
const JSON_TYPES = new Set(['object', 'array', 'number', 'boolean', 'string', 'null']);
const KEYWORDS = new Set([
  'bsonType',
  'type',
  'enum',
  'required',
  'properties',
  'patternProperties',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'dependencies',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'title',
  'description',
]);
const UNSUPPORTED = new Set(['$ref', '$schema', 'default', 'definitions', 'format', 'id', 'encrypt', 'encryptMetadata']);

function failed(message: string): MongoServerError {
  return new MongoServerError('FailedToParse', message);
}

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** The BSON type name (`$type`'s alias) of a typed or view value; a plain JS number is typed as the driver sends it. */
export function bsonTypeOf(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? 'int' : 'double';
    case 'bigint':
      return 'long';
    default:
      break;
  }
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  const t = (v as { _bsontype?: string })._bsontype;
  switch (t) {
    case undefined:
      return 'object';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Long':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
    case 'UUID':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'BSONRegExp':
      return 'regex';
    case 'Code':
      return (v as { scope?: unknown }).scope ? 'javascriptWithScope' : 'javascript';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'BSONSymbol':
      return 'symbol';
    case 'DBRef':
      return 'object';
    default:
      return t;
  }
}

function jsonTypeOf(bsonType: string): string | undefined {
  if (bsonType === 'int' || bsonType === 'long' || bsonType === 'double' || bsonType === 'decimal') return 'number';
  if (bsonType === 'bool') return 'boolean';
  return JSON_TYPES.has(bsonType) ? bsonType : undefined;
}

const isNumber = (v: unknown) => typeof v === 'number' || numericType(v) !== undefined;
const nonNegativeInteger = (v: unknown) => isNumber(v) && Number.isInteger(toNumber(v)) && toNumber(v) >= 0;

/** Compiles a `$jsonSchema` document, refusing what MongoDB refuses when the validator or query is given. */
export function compileSchema(schemaTyped: unknown): SchemaCheck {
  if (!isPlain(schemaTyped)) throw new MongoServerError('TypeMismatch', '$jsonSchema must be an object');
  return compile(schemaTyped);
}

function compile(schema: Doc): SchemaCheck {
  const checks: SchemaCheck[] = [];
  for (const key of Object.keys(schema)) {
    if (UNSUPPORTED.has(key)) throw failed(`$jsonSchema keyword '${key}' is not currently supported`);
    if (!KEYWORDS.has(key)) throw failed(`Unknown $jsonSchema keyword: ${key}`);
  }
  if (schema.type !== undefined && schema.bsonType !== undefined) throw failed("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
  const spec = (key: string): Doc => ({ [key]: schema[key] });
  const types = (key: 'type' | 'bsonType', known: Set<string>): string[] | undefined => {
    const value = schema[key];
    if (value === undefined) return undefined;
    const list = Array.isArray(value) ? value : [value];
    for (const t of list) {
      if (t === 'integer' && key === 'type') throw failed("$jsonSchema type 'integer' is not currently supported.");
      if (typeof t !== 'string' || !known.has(t)) throw failed(`Unknown type name alias: ${String(t)}`);
    }
    return list as string[];
  };
  const bsonTypes = types('bsonType', BSON_TYPES);
  if (bsonTypes) {
    checks.push((v) => {
      const t = bsonTypeOf(v);
      if (v === undefined || bsonTypes.some((want) => want === t || (want === 'number' && jsonTypeOf(t) === 'number'))) return [];
      return [{ operatorName: 'bsonType', specifiedAs: spec('bsonType'), reason: 'type did not match', consideredValue: v, consideredType: t }];
    });
  }
  const jsonTypes = types('type', JSON_TYPES);
  if (jsonTypes) {
    checks.push((v) => {
      const t = bsonTypeOf(v);
      if (v === undefined || jsonTypes.includes(jsonTypeOf(t) ?? '')) return [];
      return [{ operatorName: 'type', specifiedAs: spec('type'), reason: 'type did not match', consideredValue: v, consideredType: t }];
    });
  }
  for (const key of ['title', 'description']) {
    if (schema[key] !== undefined && typeof schema[key] !== 'string') throw failed(`$jsonSchema keyword '${key}' must be a string`);
  }
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) throw failed("$jsonSchema keyword 'enum' must be a non-empty array");
    const keys = new Set(schema.enum.map((e) => keyOf(toView(e))));
    checks.push((v) =>
      v === undefined || keys.has(keyOf(toView(v)))
        ? []
        : [{ operatorName: 'enum', specifiedAs: spec('enum'), reason: 'value was not found in enum', consideredValue: v }],
    );
  }
  checks.push(...objectChecks(schema, spec), ...arrayChecks(schema, spec), ...scalarChecks(schema, spec), ...logicChecks(schema, spec));
  return (value) => checks.flatMap((check) => check(value));
}

function objectChecks(schema: Doc, spec: (k: string) => Doc): SchemaCheck[] {
  const checks: SchemaCheck[] = [];
  const onObjects =
    (check: (o: Doc) => Doc[]): SchemaCheck =>
    (v) =>
      bsonTypeOf(v) === 'object' ? check(v as Doc) : [];
  if (schema.required !== undefined) {
    const required = schema.required;
    if (!Array.isArray(required) || required.length === 0 || !required.every((r) => typeof r === 'string')) {
      throw failed("$jsonSchema keyword 'required' must be a non-empty array of strings");
    }
    checks.push(
      onObjects((o) => {
        const missing = required.filter((r) => o[r] === undefined);
        return missing.length === 0 ? [] : [{ operatorName: 'required', specifiedAs: spec('required'), missingProperties: missing }];
      }),
    );
  }
  const properties = new Map<string, SchemaCheck>();
  if (schema.properties !== undefined) {
    if (!isPlain(schema.properties)) throw failed("$jsonSchema keyword 'properties' must be an object");
    for (const [name, sub] of Object.entries(schema.properties)) {
      if (!isPlain(sub)) throw failed(`Nested schema for $jsonSchema property '${name}' must be an object`);
      properties.set(name, compile(sub));
    }
    checks.push(
      onObjects((o) => {
        const notSatisfied: Doc[] = [];
        for (const [name, check] of properties) {
          const details = o[name] === undefined ? [] : check(o[name]);
          if (details.length > 0) {
            const description = ((schema.properties as Doc)[name] as Doc).description;
            notSatisfied.push({ propertyName: name, ...(description !== undefined ? { description } : {}), details });
          }
        }
        return notSatisfied.length === 0 ? [] : [{ operatorName: 'properties', propertiesNotSatisfied: notSatisfied }];
      }),
    );
  }
  const patterns: [RegExp, SchemaCheck][] = [];
  if (schema.patternProperties !== undefined) {
    if (!isPlain(schema.patternProperties)) throw failed("$jsonSchema keyword 'patternProperties' must be an object");
    for (const [pattern, sub] of Object.entries(schema.patternProperties)) {
      if (!isPlain(sub)) throw failed(`Nested schema for $jsonSchema patternProperties '${pattern}' must be an object`);
      patterns.push([new RegExp(pattern, 'u'), compile(sub)]);
    }
    checks.push(
      onObjects((o) => {
        const details = Object.entries(o).flatMap(([k, v]) => patterns.filter(([re]) => re.test(k)).flatMap(([, check]) => check(v)));
        return details.length === 0 ? [] : [{ operatorName: 'patternProperties', details }];
      }),
    );
  }
  const additional = schema.additionalProperties;
  if (additional !== undefined) {
    if (typeof additional !== 'boolean' && !isPlain(additional)) throw failed("$jsonSchema keyword 'additionalProperties' must be a boolean or an object");
    const check = isPlain(additional) ? compile(additional) : undefined;
    checks.push(
      onObjects((o) => {
        const extra = Object.keys(o).filter((k) => !properties.has(k) && !patterns.some(([re]) => re.test(k)));
        if (additional === false) {
          return extra.length === 0 ? [] : [{ operatorName: 'additionalProperties', specifiedAs: spec('additionalProperties'), additionalProperties: extra }];
        }
        const details = check ? extra.flatMap((k) => check(o[k])) : [];
        return details.length === 0 ? [] : [{ operatorName: 'additionalProperties', details }];
      }),
    );
  }
  for (const [key, holds] of [
    ['minProperties', (n: number, m: number) => n >= m],
    ['maxProperties', (n: number, m: number) => n <= m],
  ] as const) {
    if (schema[key] === undefined) continue;
    if (!nonNegativeInteger(schema[key])) throw failed(`$jsonSchema keyword '${key}' must be a non-negative integer`);
    const bound = toNumber(schema[key]);
    checks.push(
      onObjects((o) => {
        const n = Object.keys(o).length;
        return holds(n, bound)
          ? []
          : [{ operatorName: key, specifiedAs: spec(key), reason: 'specified number of properties was not satisfied', numberOfProperties: n }];
      }),
    );
  }
  if (schema.dependencies !== undefined) {
    if (!isPlain(schema.dependencies)) throw failed("$jsonSchema keyword 'dependencies' must be an object");
    const deps = Object.entries(schema.dependencies).map(([name, dep]) => {
      if (Array.isArray(dep)) return [name, dep as string[]] as const;
      if (isPlain(dep)) return [name, compile(dep)] as const;
      throw failed(`Expected an object or array for $jsonSchema dependency '${name}'`);
    });
    checks.push(
      onObjects((o) => {
        const details: Doc[] = [];
        for (const [name, dep] of deps) {
          if (o[name] === undefined) continue;
          if (Array.isArray(dep)) {
            const missing = dep.filter((d) => o[d] === undefined);
            if (missing.length > 0) details.push({ conditionalProperty: name, missingProperties: missing });
          } else {
            const inner = dep(o);
            if (inner.length > 0) details.push({ conditionalProperty: name, details: inner });
          }
        }
        return details.length === 0 ? [] : [{ operatorName: 'dependencies', failingDependencies: details }];
      }),
    );
  }
  return checks;
}

function arrayChecks(schema: Doc, spec: (k: string) => Doc): SchemaCheck[] {
  const checks: SchemaCheck[] = [];
  const onArrays =
    (check: (a: unknown[]) => Doc[]): SchemaCheck =>
    (v) =>
      Array.isArray(v) ? check(v) : [];
  const { items, additionalItems } = schema;
  if (items !== undefined) {
    if (isPlain(items)) {
      const check = compile(items);
      checks.push(
        onArrays((a) => {
          const details = a.flatMap((item, i) => check(item).map((d) => ({ ...d, itemIndex: i })));
          return details.length === 0 ? [] : [{ operatorName: 'items', reason: 'At least one item did not match the sub-schema', details }];
        }),
      );
    } else if (Array.isArray(items)) {
      const each = items.map((s, i) => {
        if (!isPlain(s)) throw failed(`$jsonSchema keyword 'items' requires that each element of the array is an object, but found element ${i}`);
        return compile(s);
      });
      const rest = additionalItems === false ? false : isPlain(additionalItems) ? compile(additionalItems) : undefined;
      checks.push(
        onArrays((a) => {
          const details = a.flatMap((item, i) => (i < each.length ? each[i]!(item) : []));
          if (rest === false && a.length > each.length) {
            details.push({
              operatorName: 'additionalItems',
              specifiedAs: spec('additionalItems'),
              reason: 'found additional items',
              additionalItems: a.slice(each.length),
            });
          } else if (rest) details.push(...a.slice(each.length).flatMap((item) => rest(item)));
          return details.length === 0 ? [] : [{ operatorName: 'items', details }];
        }),
      );
    } else throw failed("$jsonSchema keyword 'items' must be either an array or an object");
  }
  if (additionalItems !== undefined && typeof additionalItems !== 'boolean' && !isPlain(additionalItems)) {
    throw failed("$jsonSchema keyword 'additionalItems' must be either an object or a boolean");
  }
  for (const [key, holds] of [
    ['minItems', (n: number, m: number) => n >= m],
    ['maxItems', (n: number, m: number) => n <= m],
  ] as const) {
    if (schema[key] === undefined) continue;
    if (!nonNegativeInteger(schema[key])) throw failed(`$jsonSchema keyword '${key}' must be a non-negative integer`);
    const bound = toNumber(schema[key]);
    checks.push(
      onArrays((a) =>
        holds(a.length, bound) ? [] : [{ operatorName: key, specifiedAs: spec(key), reason: 'array did not match specified length', consideredValue: a }],
      ),
    );
  }
  if (schema.uniqueItems !== undefined) {
    if (typeof schema.uniqueItems !== 'boolean') throw failed("$jsonSchema keyword 'uniqueItems' must be a boolean");
    if (schema.uniqueItems) {
      checks.push(
        onArrays((a) => {
          const seen = new Set<string>();
          for (const item of a) {
            const k = keyOf(toView(item));
            if (seen.has(k))
              return [
                { operatorName: 'uniqueItems', specifiedAs: spec('uniqueItems'), reason: 'found a duplicate item', consideredValue: a, duplicatedValue: item },
              ];
            seen.add(k);
          }
          return [];
        }),
      );
    }
  }
  return checks;
}

function scalarChecks(schema: Doc, spec: (k: string) => Doc): SchemaCheck[] {
  const checks: SchemaCheck[] = [];
  for (const [key, holds] of [
    ['minLength', (n: number, m: number) => n >= m],
    ['maxLength', (n: number, m: number) => n <= m],
  ] as const) {
    if (schema[key] === undefined) continue;
    if (!nonNegativeInteger(schema[key])) throw failed(`$jsonSchema keyword '${key}' must be a non-negative integer`);
    const bound = toNumber(schema[key]);
    checks.push((v) =>
      typeof v !== 'string' || holds([...v].length, bound)
        ? []
        : [{ operatorName: key, specifiedAs: spec(key), reason: 'specified string length was not satisfied', consideredValue: v }],
    );
  }
  if (schema.pattern !== undefined) {
    if (typeof schema.pattern !== 'string') throw failed("$jsonSchema keyword 'pattern' must be a string");
    const re = new RegExp(schema.pattern, 'u');
    checks.push((v) =>
      typeof v !== 'string' || re.test(v)
        ? []
        : [{ operatorName: 'pattern', specifiedAs: spec('pattern'), reason: 'regular expression did not match', consideredValue: v }],
    );
  }
  for (const [key, exclusiveKey, holds, strict] of [
    ['minimum', 'exclusiveMinimum', (n: number, m: number) => n >= m, (n: number, m: number) => n > m],
    ['maximum', 'exclusiveMaximum', (n: number, m: number) => n <= m, (n: number, m: number) => n < m],
  ] as const) {
    const exclusive = schema[exclusiveKey];
    if (exclusive !== undefined) {
      if (typeof exclusive !== 'boolean') throw failed(`$jsonSchema keyword '${exclusiveKey}' must be a boolean`);
      if (schema[key] === undefined) throw failed(`$jsonSchema keyword '${key}' must be a present if ${exclusiveKey} is present`);
    }
    if (schema[key] === undefined) continue;
    if (!isNumber(schema[key])) throw failed(`$jsonSchema keyword '${key}' must be a number`);
    const bound = toNumber(schema[key]);
    const test = exclusive === true ? strict : holds;
    checks.push((v) =>
      !isNumber(v) || test(toNumber(v), bound)
        ? []
        : [
            {
              operatorName: key,
              specifiedAs: exclusive === undefined ? spec(key) : { ...spec(key), ...spec(exclusiveKey) },
              reason: 'comparison failed',
              consideredValue: v,
            },
          ],
    );
  }
  if (schema.multipleOf !== undefined) {
    if (!isNumber(schema.multipleOf) || toNumber(schema.multipleOf) <= 0) throw failed("$jsonSchema keyword 'multipleOf' must be a positive number");
    const by = toNumber(schema.multipleOf);
    checks.push((v) =>
      !isNumber(v) || toNumber(v) % by === 0
        ? []
        : [
            {
              operatorName: 'multipleOf',
              specifiedAs: spec('multipleOf'),
              reason: 'considered value was not a multiple of specified value',
              consideredValue: v,
            },
          ],
    );
  }
  return checks;
}

function logicChecks(schema: Doc, spec: (k: string) => Doc): SchemaCheck[] {
  const checks: SchemaCheck[] = [];
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isPlain)) throw failed(`$jsonSchema keyword '${key}' must be a non-empty array of objects`);
    const subs = list.map((s) => compile(s));
    checks.push((v) => {
      if (v === undefined) return [];
      const results = subs.map((check) => check(v));
      const passed = results.filter((r) => r.length === 0).length;
      const ok = key === 'allOf' ? passed === subs.length : key === 'anyOf' ? passed > 0 : passed === 1;
      if (ok) return [];
      const details = results.map((r, index) => ({ index, details: r })).filter((r) => r.details.length > 0);
      return [{ operatorName: key, ...(key === 'oneOf' && passed > 1 ? { reason: 'more than one subschema matched' } : {}), schemasNotSatisfied: details }];
    });
  }
  if (schema.not !== undefined) {
    if (!isPlain(schema.not)) throw failed("$jsonSchema keyword 'not' must be an object");
    const check = compile(schema.not);
    checks.push((v) => (v === undefined || check(v).length > 0 ? [] : [{ operatorName: 'not', specifiedAs: spec('not'), reason: 'child expression matched' }]));
  }
  return checks;
}
