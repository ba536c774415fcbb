/**
 * `npm run documents [-- --check]`: the registry of trusted documents, `operations/manifest.json`, in
 * Apollo's persisted query manifest format (each entry's `clientName` the partner whose frontend
 * sends it), built from:
 * - `operations/*.graphql`, the registered operations, each naming its partner in a line `# partner: <name>`;
 * - `operations/partners/<partner>/*.graphql`, a partner's own operations;
 * - `operations/partners/<partner>/*.json`, a partner's own manifest, as Apollo's
 *   `generate-persisted-query-manifest` writes it from the frontend's code;
 * - `subgraphs/<workspace>/src/partners.graphql`, what the subgraphs ask each other through the gateway.
 *
 * A `.graphql` file gives one entry per operation, with the fragments it uses. A frontend's body is
 * the document as Apollo Client sends it (a `__typename` in every selection but the root, printed),
 * so that an app on the client kit sends ids the registry knows; a subgraph's as the kit's client
 * sends it (printed). Ids are the SHA-256 of the body. Refused, naming the files: a document that
 * does not parse, an operation without a name, a duplicate id or name, a partner's manifest whose
 * ids are not the SHA-256 of its bodies. `-- --check` writes nothing and fails when the committed
 * registry is stale; `-- --root <dir>` reads and writes another copy of the repository.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addTypenameToDocument } from '@apollo/client/utilities';
import {
  MANIFEST_FORMAT,
  type ManifestOperation,
  type PersistedQueryManifest,
  manifestProblems,
  operationOf,
  parseManifest,
  sha256Hex,
} from '@partnerskap/gateway';
import { type DocumentNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode, parse, print, visit } from 'graphql';

/** The repository this tool belongs to: the default root. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the registry is written, relative to the root. */
export const MANIFEST_FILE = 'operations/manifest.json';

/** A registered document as the registry holds it, with the file it comes from. */
export interface RegisteredDocument extends ManifestOperation {
  clientName: string;
  /** The file, relative to the root. */
  source: string;
}

const PARTNER = /^[a-z][a-z0-9-]*$/;
const PARTNER_LINE = /^#\s*partner:\s*(\S+)\s*$/m;

/** How a `.graphql` file's operations are sent: as Apollo Client sends them, or as printed (the kit's client). */
type Sender = 'apollo-client' | 'printed';

/** The fragments an operation uses, directly or through other fragments, in the order the file defines them. */
function fragmentsOf(op: OperationDefinitionNode, fragments: readonly FragmentDefinitionNode[], source: string): FragmentDefinitionNode[] {
  const byName = new Map(fragments.map((f) => [f.name.value, f]));
  const used = new Set<string>();
  const walk = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread: (spread) => {
        const name = spread.name.value;
        if (used.has(name)) return;
        const fragment = byName.get(name);
        if (!fragment) throw new Error(`${source}: ${op.name?.value ?? 'an operation'} spreads ...${name}, which the file does not define`);
        used.add(name);
        walk(fragment);
      },
    });
  walk(op);
  return fragments.filter((f) => used.has(f.name.value));
}

/** The entries of one `.graphql` file: one per operation, with its fragments. */
function fromGraphql(text: string, source: string, clientName: string, sender: Sender): RegisteredDocument[] {
  let document: DocumentNode;
  try {
    document = parse(text, { noLocation: true });
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length === 0) throw new Error(`${source}: holds no operation`);
  return operations.map((op) => {
    if (!op.name) throw new Error(`${source}: an operation without a name cannot be registered`);
    const alone: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...fragmentsOf(op, fragments, source)] };
    const body = print(sender === 'apollo-client' ? addTypenameToDocument(alone) : alone);
    return { id: sha256Hex(body), name: op.name.value, type: op.operation, body, clientName, source };
  });
}

/** The entries of a partner's own manifest, each checked: its id, its operation's name and type, its partner. */
function fromManifest(text: string, source: string, clientName: string): RegisteredDocument[] {
  const manifest = parseManifest(text, source);
  return manifest.operations.map((op) => {
    if (op.clientName !== undefined && op.clientName !== clientName)
      throw new Error(`${source}: ${op.name} says clientName ${op.clientName}, in the folder of ${clientName}`);
    const found = operationOf(op.body);
    if (typeof found === 'string') throw new Error(`${source}: ${op.name}'s body ${found}`);
    if (found.name !== op.name || found.type !== op.type) throw new Error(`${source}: ${op.name} (${op.type}) holds the ${found.type} ${found.name}`);
    return { id: op.id, name: op.name, type: op.type, body: op.body, clientName, source };
  });
}

const files = (dir: string, extension: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(extension))
        .sort()
    : [];

/** Every registered document of the repository at `root`, from its sources (not the written registry), sorted by partner and name. */
export function collectDocuments(root = REPO_ROOT): RegisteredDocument[] {
  const found: RegisteredDocument[] = [];
  const operations = join(root, 'operations');
  for (const file of files(operations, '.graphql')) {
    const source = `operations/${file}`;
    const text = readFileSync(join(operations, file), 'utf8');
    const partner = PARTNER_LINE.exec(text)?.[1];
    if (!partner || !PARTNER.test(partner)) throw new Error(`${source}: name its partner in a line "# partner: <name>" (lower-case, as plans)`);
    found.push(...fromGraphql(text, source, partner, 'apollo-client'));
  }
  const partners = join(operations, 'partners');
  const folders = existsSync(partners) ? readdirSync(partners, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
  for (const folder of folders.map((e) => e.name).sort()) {
    if (!PARTNER.test(folder)) throw new Error(`operations/partners/${folder}: a partner's folder is named in lower case, as plans`);
    const dir = join(partners, folder);
    for (const file of files(dir, '.graphql')) {
      const source = `operations/partners/${folder}/${file}`;
      const text = readFileSync(join(dir, file), 'utf8');
      const named = PARTNER_LINE.exec(text)?.[1];
      if (named !== undefined && named !== folder) throw new Error(`${source}: names partner ${named}, in the folder of ${folder}`);
      found.push(...fromGraphql(text, source, folder, 'apollo-client'));
    }
    for (const file of files(dir, '.json')) found.push(...fromManifest(readFileSync(join(dir, file), 'utf8'), `operations/partners/${folder}/${file}`, folder));
  }
  const subgraphs = join(root, 'subgraphs');
  for (const workspace of existsSync(subgraphs) ? readdirSync(subgraphs).sort() : []) {
    const source = `subgraphs/${workspace}/src/partners.graphql`;
    if (existsSync(join(root, source))) found.push(...fromGraphql(readFileSync(join(root, source), 'utf8'), source, workspace, 'printed'));
  }
  const ids = new Map<string, RegisteredDocument>();
  const names = new Map<string, RegisteredDocument>();
  for (const doc of found) {
    const sameId = ids.get(doc.id);
    if (sameId) throw new Error(`${doc.source}: ${doc.name} is the same document as ${sameId.name} (${sameId.source}): register it once`);
    const sameName = names.get(doc.name);
    if (sameName) throw new Error(`${doc.source}: the operation name ${doc.name} is taken by ${sameName.source}: names are unique across partners`);
    ids.set(doc.id, doc);
    names.set(doc.name, doc);
  }
  return found.sort((a, b) => a.clientName.localeCompare(b.clientName) || a.name.localeCompare(b.name));
}

/** The registry of these documents. */
export function buildManifest(documents: readonly RegisteredDocument[]): PersistedQueryManifest {
  const manifest: PersistedQueryManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    operations: documents.map(({ id, name, type, body, clientName }) => ({ id, name, type, body, clientName })),
  };
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new Error(`the registry would not be valid:\n- ${problems.join('\n- ')}`);
  return manifest;
}

/** The registry's file content. */
export const renderManifest = (manifest: PersistedQueryManifest): string => `${JSON.stringify(manifest, null, 2)}\n`;

/** The CLI: writes the registry (or, with `--check`, says whether it is current); returns the exit code. */
export function main(argv: string[]): number {
  let values: { check?: boolean | undefined; root?: string | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, root: { type: 'string' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: npm run documents [-- --check] [--root <dir>]`);
    return 2;
  }
  const root = resolve(values.root ?? REPO_ROOT);
  let text: string;
  let count: number;
  try {
    const documents = collectDocuments(root);
    text = renderManifest(buildManifest(documents));
    count = documents.length;
  } catch (err) {
    console.error(`npm run documents: ${(err as Error).message}`);
    return 1;
  }
  const file = join(root, MANIFEST_FILE);
  const current = existsSync(file) && readFileSync(file, 'utf8') === text;
  if (values.check) {
    if (current) console.log(`${MANIFEST_FILE} is current (${count} documents)`);
    else console.error(`${MANIFEST_FILE} is stale: run npm run documents`);
    return current ? 0 : 1;
  }
  if (!current) writeFileSync(file, text);
  console.log(`${MANIFEST_FILE}: ${count} documents${current ? ', unchanged' : ''}`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
