/**
 * `npm run example`: sends the README's example query to the running gateway as the school owner
 * Bergen (4601), with a development token, and prints the answer. `-- --public` sends it without
 * a token: the public sees the same figures but not one owner's approvals (FORBIDDEN).
 *
 * stdout is the JSON answer, as it came. When it has errors, a short summary goes to stderr: which
 * partners did not answer and which fields are missing because of it, grouped by path. Exit 0 for an
 * answer, complete or partial (a partner down nulls its fields only: the rest is an answer); exit 1
 * when no answer came (the gateway unreachable, HTTP failed, no data or nothing in it) or for an
 * error that is not a partner's outage (nor, with --public, the public's expected FORBIDDEN).
 */
import { readFileSync } from 'node:fs';
import { loadOrCreateDevKey, signDevToken } from '@partnerskap/gateway';

/** The codes of a partner that did not answer, each error naming it in `extensions.partner` (gateway/src/data-source.ts). */
const OUTAGES = new Set(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_TIMEOUT', 'SUBGRAPH_BAD_RESPONSE']);
/** The partners, as the README's table names them. */
const PARTNERS: Record<string, string> = {
  catalogue: 'Udir',
  admissions: 'the universities and university colleges',
  plans: 'KS and the school owners',
  feedback: "the teachers' unions",
};

interface GraphQLError {
  message?: string;
  path?: (string | number)[];
  extensions?: { code?: unknown; partner?: unknown };
}

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/';
const asPublic = process.argv.includes('--public');
const query = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (!asPublic) headers.authorization = `Bearer ${await signDevToken(await loadOrCreateDevKey(), { role: 'school-owner', org: '4601' }, '5m')}`;
const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables: { owner: '4601' } }) }).catch((err: Error) => {
  console.error(`The gateway does not answer at ${url} (${err.message}). Start it with npm start.`);
  process.exit(1);
});
const text = await response.text();
let body: { data?: Record<string, unknown> | null; errors?: GraphQLError[] };
try {
  body = JSON.parse(text) as typeof body;
} catch {
  console.error(`The gateway at ${url} answered HTTP ${response.status} with something that is not JSON:\n${text.slice(0, 500)}`);
  process.exit(1);
}
console.log(JSON.stringify(body, null, 2));

const errors = Array.isArray(body.errors) ? body.errors : [];
const partnerOf = (e: GraphQLError) => (typeof e.extensions?.partner === 'string' ? e.extensions.partner : undefined);
const codeOf = (e: GraphQLError) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'no code');
const outage = (e: GraphQLError) => OUTAGES.has(codeOf(e)) && partnerOf(e) !== undefined;
// The public is refused one owner's approvals by design: that is the answer to --public, not a failure.
const expected = (e: GraphQLError) => asPublic && codeOf(e) === 'FORBIDDEN';
const down = [...new Set(errors.filter(outage).map((e) => partnerOf(e)!))];
const others = errors.filter((e) => !outage(e) && !expected(e));
const data = body.data;
// Nothing came: no data, or every field the query asks at the top is null (the catalogue down: no studies at all).
const nothing = data === null || data === undefined || Object.values(data).every((v) => v === null);

/** The errors grouped by path, list indexes as [*]: `studies.edges[*].node.rating (feedback: SUBGRAPH_UNAVAILABLE), 5 values`. */
function grouped(list: GraphQLError[]): string[] {
  const groups = new Map<string, number>();
  for (const e of list) {
    const path = Array.isArray(e.path) ? e.path.map((p, k) => (typeof p === 'number' ? '[*]' : `${k > 0 ? '.' : ''}${p}`)).join('') : '(no path)';
    const why = partnerOf(e) ? `${partnerOf(e)}: ${codeOf(e)}` : OUTAGES.has(codeOf(e)) || expected(e) ? codeOf(e) : `${codeOf(e)}: ${e.message ?? ''}`;
    const key = `${path} (${why})`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `  ${key}, ${n} value${n === 1 ? '' : 's'}`);
}

const named = (partners: string[]) => {
  const all = partners.map((p) => (PARTNERS[p] ? `${p} (${PARTNERS[p]})` : p));
  return all.length > 1 ? `${all.slice(0, -1).join(', ')} and ${all.at(-1)}` : all[0]!;
};
const failed = !response.ok || nothing || others.length > 0;
const lines: string[] = [];
if (!response.ok) lines.push(`The gateway answered HTTP ${response.status}.`);
if (down.length > 0) {
  const who = `${named(down)} did not answer`;
  lines.push(nothing ? `No answer: ${who}, and nothing else came.` : `Partial answer: ${who}; the rest of the answer is there.`);
  lines.push('Missing because of it (null in the answer above):', ...grouped(errors.filter(outage)));
} else if (nothing && response.ok) lines.push('No answer: the gateway sent no data.');
if (others.length > 0) lines.push('Errors that are not a partner down:', ...grouped(others));
// Said only beside something else: alone, the public's FORBIDDEN is the answer --public asks for.
if (lines.length > 0 && errors.some(expected)) lines.push('Not for the public (as expected, not a failure):', ...grouped(errors.filter(expected)));
if (lines.length > 0) console.error(`\n${lines.join('\n')}`);
// exitCode, not exit(): what is written to a pipe is all out before the process ends.
process.exitCode = failed ? 1 : 0;
