import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// One request's trace, end to end in one process: the whole supergraph with tracing on (each service
// its own provider and service.name, exporting OTLP/HTTP JSON to a receiver in this test), a frontend's
// trace continued through the gateway, Apollo Gateway's spans, real HTTP to each subgraph (W3C
// traceparent), the subgraphs' resolver spans and the driver's commands beneath them.

/** A span as the OTLP JSON export carries it, with its service. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttribute = { key: string; value: OtlpValue };
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: { spans: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] })[] }[];
  }[];
}

const valueOf = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** A collector's OTLP/HTTP JSON traces endpoint, keeping every span it receives. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      contentTypes.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const rs of body.resourceSpans) {
        const service = String(attributesOf(rs.resource.attributes)['service.name']);
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service, attributes: attributesOf(s.attributes) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes, close: () => new Promise((r) => server.close(r)) };
}

const QUERY = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
/** The owner variable: letters no id (hex) holds, so finding it in an attribute means a variable was recorded. */
const OWNER = 'zq-owner-variable';
/** The frontend's span, whose trace the request continues. */
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let h: Harness;
/** `npm run bench:tracing -- --smoke`, in processes of its own beside the harness (started first, awaited by its test). */
let bench: Promise<{ stdout: string }>;

beforeAll(async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR'));
  bench = promisify(execFile)('npm', ['run', 'bench:tracing', '--', '--smoke'], {
    cwd: new URL('../', import.meta.url),
    env: { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
    timeout: 120_000,
    maxBuffer: 1 << 20,
  });
  // Awaited by its test; a failure before then is not unhandled.
  bench.catch(() => undefined);
  receiver = await startReceiver();
  h = await startHarness({ seed: false, tracing: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
  // One study the example finds: enough for the gateway to ask every partner about it.
  await h.dbs.catalogue.collection('studies').insertOne({
    _id: 'S-TRACE-ENG-2024',
    code: 'TRACE',
    name: 'Engelsk 1 for 5.–10. trinn',
    subject: 'ENG',
    gradeBand: 'GRADES_5_10',
    credits: 30,
    level: 'bachelor',
    institution: '974767880',
    campus: 'Oslo',
    delivery: 'CAMPUS',
    gatherings: 4,
    semesters: 2,
    startTerm: 'autumn',
    year: 2024,
    places: 30,
    status: 'OPEN',
  } as never);
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

describe('a traced request', () => {
  it("continues the frontend's trace through the gateway's spans, each partner's server span, its resolvers and its store commands", async () => {
    const token = await h.token({ role: 'directorate' });
    const traceparent = (span: string) => `00-${CLIENT_TRACE}-${span}-01`;
    const first = await h.query(QUERY, { owner: OWNER }, { token, headers: { traceparent: traceparent(CLIENT_SPAN) } });
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({ studies: { edges: [{ node: { id: 'S-TRACE-ENG-2024' } }] } });
    // The same document again: Apollo's plan cache answers, so no planning span.
    const again = await h.query(QUERY, { owner: OWNER }, { token, headers: { traceparent: traceparent('00f067aa0ba902b8') } });
    expect(again.status).toBe(200);
    await h.flushTraces();

    const spans = receiver.spans.filter((s) => s.traceId === CLIENT_TRACE);
    expect([...receiver.contentTypes]).toEqual(['POST /v1/traces application/json']);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const childrenOf = (parent: ReceivedSpan, name?: string) => spans.filter((s) => s.parentSpanId === parent.spanId && (!name || s.name === name));
    const only = (list: ReceivedSpan[]) => {
      expect(list).toHaveLength(1);
      return list[0]!;
    };

    // The gateway's server span continues the frontend's span; Apollo's spans are beneath it.
    const [server, serverAgain] = spans.filter((s) => s.service === 'gateway' && s.name === 'POST /');
    expect(server).toMatchObject({ parentSpanId: CLIENT_SPAN, kind: 2 });
    expect(server!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/', 'http.response.status_code': 200 });
    expect(server!.attributes['graphql.operation.name']).toBeUndefined();
    expect(server!.attributes['partnerskap.request_id']).toBe(first.headers['x-request-id']);
    const request = only(childrenOf(server!, 'gateway.request'));
    expect(request.attributes).toMatchObject({ 'graphql.operation.name': 'EnglishStudies', 'graphql.operation.type': 'query', 'gateway.plan.cached': false });
    only(childrenOf(request, 'gateway.validate'));
    only(childrenOf(request, 'gateway.plan'));
    const execute = only(childrenOf(request, 'gateway.execute'));
    const againRequest = only(childrenOf(serverAgain!, 'gateway.request'));
    expect(againRequest.attributes['gateway.plan.cached']).toBe(true);
    expect(childrenOf(againRequest, 'gateway.plan')).toEqual([]);

    // Each subgraph fetch of the first request, and the subgraph's own server span beneath it (over HTTP).
    const descendants = (root: ReceivedSpan): ReceivedSpan[] => childrenOf(root).flatMap((c) => [c, ...descendants(c)]);
    const fetches = descendants(execute).filter((s) => s.name === 'gateway.fetch');
    const partners = fetches.map((f) => String(f.attributes.service)).sort();
    expect(partners).toEqual(expect.arrayContaining(['admissions', 'catalogue', 'feedback']));
    for (const fetch of fetches) {
      const partner = String(fetch.attributes.service);
      const subgraphServer = only(childrenOf(fetch));
      expect(subgraphServer).toMatchObject({ service: partner, name: 'POST /graphql', kind: 2 });
      // The driver's commands: beneath the resolver that sent them, or the request (a default resolver's, such as a lazy count).
      const commands = descendants(subgraphServer).filter((s) => s.name.startsWith('mongodb.'));
      for (const command of commands) {
        expect(command).toMatchObject({ service: partner, kind: 3 });
        expect(command.attributes).toMatchObject({
          'db.system.name': 'mongodb',
          'db.system': 'mongodb',
          'db.namespace': expect.stringMatching(new RegExp(`_${partner}$`)),
        });
        const parent = byId.get(command.parentSpanId!)!;
        if (parent !== subgraphServer)
          expect(parent).toMatchObject({
            service: partner,
            parentSpanId: subgraphServer.spanId,
            name: expect.stringMatching(/^resolve [A-Za-z]+\.[_A-Za-z]+$/),
          });
      }
      expect(commands.filter((c) => c.parentSpanId !== subgraphServer.spanId).length, `${partner}'s resolvers that reached the store`).toBeGreaterThan(0);
    }
    const catalogue = only(childrenOf(only(fetches.filter((f) => f.attributes.service === 'catalogue'))));
    const studies = only(childrenOf(catalogue, 'resolve Query.studies'));
    expect(studies.attributes).toMatchObject({ 'graphql.field.name': 'studies', 'graphql.field.path': 'studies', 'graphql.parent.type': 'Query' });
    expect(childrenOf(studies, 'mongodb.find')[0]!.attributes).toMatchObject({
      'db.operation.name': 'find',
      'db.collection.name': 'studies',
      'db.mongodb.collection': 'studies',
      'server.address': '127.0.0.1',
    });

    // Nothing recorded holds the request's variables.
    for (const span of spans) for (const value of Object.values(span.attributes)) expect(String(value)).not.toContain(OWNER);
  });
});

describe('npm run bench:tracing', () => {
  it('answers through a stack with tracing on, in processes of its own, which exports its spans over OTLP protobuf (--smoke)', async () => {
    const { stdout } = await bench;
    expect(stdout).toMatch(/^on +\d+ +\d+ +\d+ +[1-9]\d* +0$/m);
    expect(stdout).toMatch(/^the collector received [1-9]\d* export\(s\)/m);
  }, 120_000);
});
