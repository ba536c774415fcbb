/** `npm run example`: sends the README's example query to the running gateway and prints the answer. */
import { readFileSync } from 'node:fs';

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/';
const query = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query, variables: { owner: '4601' } }),
}).catch((err: Error) => {
  console.error(`The gateway does not answer at ${url} (${err.message}). Start it with npm start.`);
  process.exit(1);
});
const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
console.log(JSON.stringify(body, null, 2));
if (!response.ok || body.errors) process.exit(1);
