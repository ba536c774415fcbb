import { readFileSync, readdirSync } from 'node:fs';
import { Supergraph, printSchema } from '@apollo/federation-internals';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const dir = new URL('./', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.graphql'));
// The API schema (what clients see), rebuilt from its SDL: federation-internals loads graphql as CommonJS.
const api = buildSchema(
  printSchema(Supergraph.build(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'), { supportedFeatures: null }).apiSchema()),
);

describe('registered operations', () => {
  it('holds the README example and one operation per partner', () => {
    expect(files.sort()).toEqual([
      'catalogue-studies.graphql',
      'english-studies.graphql',
      'erase-teacher.graphql',
      'insights-funnel.graphql',
      'institution-applications.graphql',
      'owner-overview.graphql',
      'owner-picture.graphql',
      'teacher-data.graphql',
      'union-overview.graphql',
    ]);
  });

  it.each(files)('%s is valid against the supergraph', (file) => {
    const document = parse(readFileSync(new URL(file, dir), 'utf8'));
    expect(validate(api, document).map((e) => e.message)).toEqual([]);
  });
});
