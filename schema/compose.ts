/** `npm run compose`: composes `schema/<name>.graphql` into `schema/supergraph.graphql`; `-- --check` only verifies it is current. */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

/** A registered subgraph: its name (schema/<name>.graphql, subgraphs/<name>/) and its URL in local development. */
export interface RegisteredSubgraph {
  name: string;
  url: string;
}

/** The registry of subgraphs (`schema/subgraphs.json`), in composition order. */
export const REGISTRY_FILE = fileURLToPath(new URL('./subgraphs.json', import.meta.url));

/** Reads the registry (`schema/subgraphs.json`). */
export function readRegistry(file = REGISTRY_FILE): RegisteredSubgraph[] {
  const { subgraphs } = JSON.parse(readFileSync(file, 'utf8')) as { subgraphs: RegisteredSubgraph[] };
  return subgraphs;
}

/** The subgraphs, in composition order, with the URL each has in local development. */
export const SUBGRAPHS: readonly RegisteredSubgraph[] = readRegistry();

/** Composition hints we have read and accept, by code and the start of their message. */
export const ACCEPTED_HINTS: readonly { code: string; startsWith: string; why: string }[] = [];

const schemaFile = (name: string): string => fileURLToPath(new URL(`./${name}.graphql`, import.meta.url));

/** The result of composing the committed subgraph SDL. */
export interface Composition {
  supergraphSdl?: string;
  errors: string[];
  hints: { code: string; message: string }[];
}

/** Reads a subgraph's committed SDL (`schema/<name>.graphql`). */
export const readSdl = (name: string): string => readFileSync(schemaFile(name), 'utf8');

/** Composes the registered subgraphs' SDL (by default from `schema/`). */
export function compose(sdl: (name: string) => string = readSdl, subgraphs: readonly RegisteredSubgraph[] = SUBGRAPHS): Composition {
  const result = composeServices(subgraphs.map(({ name, url }) => ({ name, url, typeDefs: parse(sdl(name)) })));
  const hints = (result.hints ?? []).map((h) => ({ code: h.definition.code, message: h.message }));
  if (result.errors) return { errors: result.errors.map((e) => e.message), hints };
  return { supergraphSdl: result.supergraphSdl, errors: [], hints };
}

/** Hints that no entry of {@link ACCEPTED_HINTS} covers. */
export function unacceptedHints(hints: Composition['hints']): Composition['hints'] {
  return hints.filter((h) => !ACCEPTED_HINTS.some((a) => a.code === h.code && h.message.startsWith(a.startsWith)));
}

export const SUPERGRAPH_FILE = schemaFile('supergraph');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const { supergraphSdl, errors, hints } = compose();
  for (const e of errors) console.error(`error: ${e}`);
  const open = unacceptedHints(hints);
  for (const h of open) console.error(`hint ${h.code}: ${h.message}`);
  if (!supergraphSdl || open.length > 0) process.exit(1);
  const current = readFileSync(SUPERGRAPH_FILE, 'utf8');
  if (check) {
    if (current !== supergraphSdl) {
      console.error('schema/supergraph.graphql is stale: run npm run compose');
      process.exit(1);
    }
    console.log('schema/supergraph.graphql is current');
  } else {
    // A new file renamed over the old one: a gateway watching it never reads half a supergraph.
    writeFileSync(`${SUPERGRAPH_FILE}.tmp`, supergraphSdl);
    renameSync(`${SUPERGRAPH_FILE}.tmp`, SUPERGRAPH_FILE);
    console.log(`wrote schema/supergraph.graphql (${supergraphSdl.length} bytes)`);
  }
}
