/**
 * `npm run build [-- <name>...]`: bundles each deployable into `dist/<name>.mjs`, plain JavaScript
 * that `node` runs without tsx: the gateway, every subgraph listed in `schema/subgraphs.json`, and
 * the demo-data seed. Our workspace packages (`@partnerskap/*`) are bundled in; every third-party
 * package stays external, so an image installs the production dependencies of one workspace
 * (`npm ci --omit=dev -w <workspace>`) next to its bundle (the Dockerfile does).
 *
 * It lives here, beside `bench/` which bundles the same way, because the gateway is the deployable
 * that ties the others together; it builds them all from one list so that a new subgraph in the
 * registry is built without touching this file.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One thing that is deployed as a process of its own. */
export interface Deployable {
  /** `gateway`, `seed`, or the subgraph's name: the bundle is `dist/<name>.mjs`. */
  name: string;
  /** The entry point, relative to the root. */
  entry: string;
  /** The workspace whose production dependencies the bundle imports (`npm ci --omit=dev -w <it>`). */
  workspace: string;
  /** What the bundle reads from disk at run time, relative to the root: a runtime copies it next to `dist/`. */
  files: string[];
}

/** The names a subgraph may not take: they are the other deployables'. */
const RESERVED = new Set(['gateway', 'seed']);

/** Every deployable: the gateway, each subgraph of the registry (`schema/subgraphs.json`), the seed. */
export function listDeployables(root = ROOT): Deployable[] {
  const registry = JSON.parse(readFileSync(join(root, 'schema/subgraphs.json'), 'utf8')) as { subgraphs: { name: string }[] };
  const subgraphs = registry.subgraphs.map(({ name }): Deployable => {
    if (RESERVED.has(name)) throw new Error(`A subgraph cannot be named "${name}": that is the name of another deployable's bundle`);
    return { name, entry: `subgraphs/${name}/src/main.ts`, workspace: `subgraphs/${name}`, files: [`schema/${name}.graphql`] };
  });
  return [
    // The insights page (gateway/src/insights.ts) serves its files and the operation it sends; Chart.js comes from node_modules.
    // The local explorer (gateway/src/explorer.ts, development only) its page; GraphiQL and React come from node_modules.
    // The registry of trusted documents (gateway/src/trusted-documents.ts), which production holds partners to.
    {
      name: 'gateway',
      entry: 'gateway/src/main.ts',
      workspace: 'gateway',
      files: ['schema/supergraph.graphql', 'gateway/insights', 'gateway/explorer', 'operations/insights-funnel.graphql', 'operations/manifest.json'],
    },
    ...subgraphs,
    // The seed needs only the MongoDB driver, which the kit's dependencies carry.
    { name: 'seed', entry: 'demo/seed.ts', workspace: 'subgraphs/kit', files: ['demo/data'] },
  ];
}

/** Options of {@link buildDeployables}. */
export interface BuildOptions {
  /** The repository to build (default this one). */
  root?: string;
  /** Where the bundles go (default `<root>/dist`, emptied first when every deployable is built). */
  outDir?: string;
  /** Only these deployables (default all). */
  only?: readonly string[];
}

/** A built bundle. */
export interface Bundle {
  name: string;
  /** The bundle's absolute path. */
  file: string;
  bytes: number;
  /** The third-party packages it imports (resolved from `node_modules` at run time), sorted. */
  packages: string[];
}

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Keeps every bare import external except our own workspace packages, which are bundled (the bench bundles by the same rule). */
export const externalThirdParty: Plugin = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@partnerskap/') ? undefined : { path: args.path, external: true }));
  },
};

/**
 * Our modules find the files they read (`schema/<name>.graphql`, the supergraph, demo reference
 * data) with `new URL('../../x', import.meta.url)`. In one bundle `import.meta.url` would be the
 * bundle's, so each module's is rewritten to where its source sits relative to the root, seen
 * from the bundle (`../subgraphs/kit/src/server.ts`): a bundle in `<tree>/dist/` reads the same
 * paths under `<tree>/` as the sources do under the repository, with no change to the sources.
 * The entry keeps the bundle's own URL, so a "was I the script node ran" check still works.
 */
function sourceLocatedImportMeta(root: string, entry: string): Plugin {
  return {
    name: 'source-located-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        const contents = readFileSync(args.path, 'utf8');
        if (args.path === entry || args.path.includes(`${sep}node_modules${sep}`) || !contents.includes('import.meta.url')) return undefined;
        const fromDist = `../${relative(root, args.path).split(sep).join('/')}`;
        return { contents: contents.replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/** Bundles the deployables; returns what was written. */
export async function buildDeployables(options: BuildOptions = {}): Promise<Bundle[]> {
  const root = resolve(options.root ?? ROOT);
  const outDir = resolve(options.outDir ?? join(root, 'dist'));
  const all = listDeployables(root);
  const unknown = (options.only ?? []).filter((name) => !all.some((d) => d.name === name));
  if (unknown.length > 0) throw new Error(`Unknown deployable ${unknown.join(', ')}: one of ${all.map((d) => d.name).join(', ')}`);
  const chosen = options.only ? all.filter((d) => options.only!.includes(d.name)) : all;
  if (!options.only) rmSync(outDir, { recursive: true, force: true });
  return Promise.all(
    chosen.map(async (d): Promise<Bundle> => {
      const entry = join(root, d.entry);
      const file = join(outDir, `${d.name}.mjs`);
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: file,
        // Not minified: stack traces in the logs stay readable, and a server gains nothing from it.
        plugins: [externalThirdParty, sourceLocatedImportMeta(root, entry)],
        metafile: true,
        logLevel: 'error',
      });
      const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
      const packages = [...new Set(imports.filter((i) => i.external && !isBuiltin(i.path)).map((i) => packageOf(i.path)))].sort();
      return { name: d.name, file, bytes: statSync(file).size, packages };
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv.slice(2);
  const bundles = await buildDeployables(only.length > 0 ? { only } : {});
  for (const b of bundles) {
    console.log(`${relative(process.cwd(), b.file).padEnd(22)} ${(b.bytes / 1024).toFixed(0).padStart(5)} kB  imports ${b.packages.join(', ')}`);
  }
}
