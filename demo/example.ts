/**
 * `npm run example`: sends the README's example query to the running gateway as the school owner
 * Bergen (4601), with a development token, and prints the answer. `-- --public` sends it without
 * a token: the public sees the same figures but not one owner's approvals (FORBIDDEN).
 */
import { readFileSync } from 'node:fs';
import { loadOrCreateDevKey, signDevToken } from '../gateway/src/dev-key.js';

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/';
const asPublic = process.argv.includes('--public');
const query = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (!asPublic) headers.authorization = `Bearer ${await signDevToken(await loadOrCreateDevKey(), { role: 'school-owner', org: '4601' }, '5m')}`;
const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables: { owner: '4601' } }) }).catch(
  (err: Error) => {
    console.error(`The gateway does not answer at ${url} (${err.message}). Start it with npm start.`);
    process.exit(1);
  },
);
const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
console.log(JSON.stringify(body, null, 2));
if (!response.ok || (body.errors && !asPublic)) process.exit(1);
