import { parse } from 'graphql';
import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type ErrorBehaviour, setErrorBehaviour } from '@partnerskap/common';
import { type Identity, PUBLIC } from '@partnerskap/common';
import { type MetricsContext, createServiceMetrics } from '@partnerskap/common';
import { parsePrometheusText, sumOf } from '@partnerskap/common';
import { createSubgraphServer } from './server.js';

describe('createSubgraphServer', () => {
  const entries: Record<string, unknown>[] = [];
  const server = createSubgraphServer<MetricsContext & { identity: Identity; requestId: string }>({
    name: 'catalogue',
    typeDefs: parse('type Query { boom: String, fine: String }'),
    resolvers: {
      Query: {
        boom: () => {
          throw new Error('connection to db-3.internal:27017 reset');
        },
        fine: () => 'ok',
      },
    },
    development: false,
    log: (entry) => entries.push(entry),
  });

  it('logs a masked error with the service, the operation and the request id', async () => {
    const metrics = createServiceMetrics({ service: 'catalogue' });
    const res = await server.executeOperation(
      { query: 'query Boom__catalogue__0 { boom fine }' },
      { contextValue: { identity: PUBLIC, requestId: 'req-12345678', metrics } },
    );
    expect(res.body.kind === 'single' && res.body.singleResult.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'error',
        service: 'catalogue',
        operationName: 'Boom__catalogue__0',
        requestId: 'req-12345678',
        msg: 'connection to db-3.internal:27017 reset',
      }),
    ]);
    // Counted by the metrics plugin every subgraph server has, under the masked code.
    const m = parsePrometheusText(await metrics.text());
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'Boom__catalogue__0', status: 'partial' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Boom__catalogue__0', code: 'INTERNAL_SERVER_ERROR' })).toBe(1);
  });
});

describe('a database that cannot store (its disk full)', () => {
  // The driver's errors as the store's OutOfDiskSpace reply (code 14031) and a write error of it become.
  const errmsg = "the embedded store's disk is full (ENOSPC on its journal): the write was not applied";
  const outOfDisk = { ok: 0, code: 14031, codeName: 'OutOfDiskSpace', errmsg };
  const server = createSubgraphServer<MetricsContext & { identity: Identity; requestId: string }>({
    name: 'feedback',
    typeDefs: parse('type Query { ok: String } type Mutation { command: String, insert: String }'),
    resolvers: {
      Mutation: {
        command: () => {
          throw new MongoServerError(outOfDisk);
        },
        insert: () => {
          throw new MongoBulkWriteError({ message: outOfDisk.errmsg, code: 14031, writeErrors: [] }, { insertedCount: 0 } as never);
        },
      },
    },
    development: false,
    log: () => {},
  });

  it('answers STORE_UNAVAILABLE, not an internal error, for the command and for a write error', async () => {
    const res = await server.executeOperation({ query: 'mutation { command insert }' }, { contextValue: { identity: PUBLIC, requestId: 'req-12345678' } });
    const errors = res.body.kind === 'single' ? res.body.singleResult.errors : undefined;
    const message = 'The partner’s database cannot store changes just now (its disk is full); try again later';
    expect(errors).toEqual([
      { message, path: ['command'], extensions: { code: 'STORE_UNAVAILABLE' } },
      { message, path: ['insert'], extensions: { code: 'STORE_UNAVAILABLE' } },
    ]);
  });
});

describe('onError (the error behaviour a request asks for)', () => {
  type Ctx = MetricsContext & { identity: Identity; requestId: string };
  const server = createSubgraphServer<Ctx>({
    name: 'catalogue',
    typeDefs: parse('type Query { thing: Thing } type Thing { id: ID!, name: String!, tags: [String!]!, note: String! }'),
    resolvers: {
      Query: { thing: () => ({ id: 't1' }) },
      Thing: {
        name: () => {
          throw new Error('the name could not be read');
        },
        tags: () => ['a', 'b'],
        note: () => null,
      },
    },
    development: false,
    log: () => {},
  });
  const ask = async (query: string, behaviour?: ErrorBehaviour) => {
    const contextValue: Ctx = { identity: PUBLIC, requestId: 'req-12345678' };
    if (behaviour) setErrorBehaviour(contextValue, behaviour);
    const res = await server.executeOperation({ query }, { contextValue });
    if (res.body.kind !== 'single') throw new Error('not a single result');
    return res.body.singleResult;
  };

  it('PROPAGATE (the default) bubbles a failed non-null field up to its nearest nullable parent', async () => {
    const answer = await ask('{ thing { id name } }');
    expect(answer.data).toEqual({ thing: null });
    expect(answer.errors?.map((e) => e.path)).toEqual([['thing', 'name']]);
  });

  it('NULL leaves each failed field null where it is, with its error, and keeps its siblings', async () => {
    const answer = await ask('{ thing { id name tags note } }', 'NULL');
    expect(answer.data).toEqual({ thing: { id: 't1', name: null, tags: ['a', 'b'], note: null } });
    // A null where the contract says non-null is an error still, in place.
    expect(answer.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['thing', 'name'], 'INTERNAL_SERVER_ERROR'],
      [['thing', 'note'], 'INTERNAL_SERVER_ERROR'],
    ]);
    // The errors stay masked as ever: the resolver's message is for the log.
    expect(JSON.stringify(answer.errors)).not.toContain('could not be read');
  });

  it('HALT gives no data at all beside an error, and the data when nothing failed', async () => {
    const failed = await ask('{ thing { id name } }', 'HALT');
    expect(failed.data).toBeNull();
    expect(failed.errors).toHaveLength(1);
    expect((await ask('{ thing { id } }', 'HALT')).data).toEqual({ thing: { id: 't1' } });
  });

  it('NULL prints the contract as it is in _service (the gateway composes from it)', async () => {
    const sdl = (await ask('{ _service { sdl } }', 'NULL')).data as { _service: { sdl: string } };
    expect(sdl._service.sdl).toContain('name: String!');
  });
});
