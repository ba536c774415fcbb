import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_FETCH_PATHS, fetchPaths } from './fetch-paths.js';

describe('fetchPaths', () => {
  it('a root fetch: each top-level field by its response name', () => {
    expect(fetchPaths({ query: 'query Q__catalogue__0 { subjects { code } a: institution(orgNumber: "1") { __typename orgNumber } __typename }' })).toEqual([
      ['subjects'],
      ['a'],
    ]);
  });

  it('an entity fetch: each field of each entity, by the fragment on its type', () => {
    const query =
      'query Q__admissions__1($representations: [_Any!]!) { _entities(representations: $representations) { ... on Study { applicants vacantSeats } ... on Institution { name } } }';
    const variables = {
      representations: [
        { __typename: 'Study', id: 's1' },
        { __typename: 'Institution', orgNumber: '1' },
      ],
    };
    expect(fetchPaths({ query, variables })).toEqual([
      ['_entities', 0, 'applicants'],
      ['_entities', 0, 'vacantSeats'],
      ['_entities', 1, 'name'],
    ]);
  });

  it('leaves out what the client did not ask (a key or an input for a later fetch)', () => {
    const query = 'query Q($representations: [_Any!]!) { _entities(representations: $representations) { ... on Study { places applicants } } }';
    const client = parse('{ studies { edges { node { applicants } } } }');
    expect(fetchPaths({ query, variables: { representations: [{ __typename: 'Study', id: 's1' }] } }, client)).toEqual([['_entities', 0, 'applicants']]);
    expect(fetchPaths({ query: '{ hidden }' }, client)).toEqual([]);
  });

  it('names the fields that @require what failed (Apollo leaves their entity out of the later fetch), at every remove', () => {
    const query =
      'query Q($representations: [_Any!]!) { _entities(representations: $representations) { ... on Study { places } ... on Application { ownerDecision { outcome } } } }';
    const variables = {
      representations: [
        { __typename: 'Study', id: 's1' },
        { __typename: 'Application', id: 'a1' },
      ],
    };
    const requires: Record<string, string[]> = { 'Study.places': ['vacantSeats'], 'Study.vacantSeats': ['seatsNote'], 'Application.ownerDecision': ['status'] };
    const requiredBy = (typename: string, field: string) => requires[`${typename}.${field}`] ?? [];
    const client = parse('{ studies { edges { node { vacantSeats seatsNote } } } applications { edges { node { status } } } }');
    expect(fetchPaths({ query, variables }, client, requiredBy)).toEqual([
      ['_entities', 0, 'vacantSeats'],
      ['_entities', 0, 'seatsNote'],
      ['_entities', 1, 'status'],
    ]);
  });

  it('expands named fragments, caps the paths, and gives none for what it cannot read', () => {
    expect(fetchPaths({ query: 'query { ...F } fragment F on Query { subjects { code } }' })).toEqual([['subjects']]);
    const representations = Array.from({ length: MAX_FETCH_PATHS + 5 }, (_, i) => ({ __typename: 'Study', id: `s${i}` }));
    expect(
      fetchPaths({
        query: 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Study { rating { count } } } }',
        variables: { representations },
      }),
    ).toHaveLength(MAX_FETCH_PATHS);
    expect(fetchPaths({ query: '{ not graphql' })).toEqual([]);
  });
});
