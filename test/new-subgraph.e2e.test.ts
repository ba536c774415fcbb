import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { MongoClient } from 'mongodb';
import { memoryLogger } from '@partnerskap/gateway';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compose, readRegistry, unacceptedHints } from '../tools/schema/compose.js';
import { partnerDbs, seedDemoData } from '../demo/seed.js';
import { type RunningSupergraph, startSupergraph } from '../launcher/supergraph.js';
import { createSubgraph } from '../tools/new-subgraph/new-subgraph.js';

// `npm run new-subgraph` end to end, in a scratch copy of what the generator reads and writes (the
// SDL, the registry, the root package.json; node_modules linked to this repository's): the new
// subgraph composes with the others, type-checks and passes its own tests, and a gateway over the
// recomposed supergraph joins its field onto the catalogue's Study. Nothing is written here.
const REPO = fileURLToPath(new URL('../', import.meta.url));
const NAME = 'study-guidance';
let root = '';

/**
 * The store and the demo data of the supergraph at the end, begun with the file: seeding needs no
 * generated subgraph, so it runs while the generator's processes do; startSupergraph then finds
 * the databases seeded (the same seedDemoData it would run) and only starts the services.
 */
interface Seeded {
  store: EmbeddedMongo | undefined;
  mongodbUri: string;
  prefix: string;
}
let seeding: Promise<Seeded> | undefined;
async function seed(): Promise<Seeded> {
  const store = process.env.MONGODB_URI ? undefined : await startEmbeddedMongo({ port: 0, log: () => undefined });
  const mongodbUri = process.env.MONGODB_URI ?? store!.uri;
  const prefix = `e2e_${randomBytes(4).toString('hex')}_`;
  const client = await MongoClient.connect(mongodbUri);
  try {
    await seedDemoData(partnerDbs(client, prefix));
  } finally {
    await client.close();
  }
  return { store, mongodbUri, prefix };
}

/** Runs a command to its end; its exit code and output. */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The nested tools must not think they run inside this vitest worker.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV'));
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a refused generation says (it must throw). */
function refusal(options: Parameters<typeof createSubgraph>[0]): string {
  try {
    createSubgraph(options);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${options.name} was not refused`);
}

/** Every file under a folder with its content, to prove nothing was written. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .map((f) => [f, readFileSync(f, 'utf8')]),
  );
}

beforeAll(() => {
  seeding = seed();
  // Awaited by the supergraph's beforeAll; a failure here is its failure, not an unhandled rejection.
  seeding.catch(() => undefined);
  root = mkdtempSync(join(tmpdir(), 'partnerskap-new-subgraph-'));
  mkdirSync(join(root, 'schema'));
  mkdirSync(join(root, 'subgraphs'));
  for (const file of readdirSync(join(REPO, 'schema'))) {
    if (file.endsWith('.graphql') || file === 'subgraphs.json') copyFileSync(join(REPO, 'schema', file), join(root, 'schema', file));
  }
  for (const file of ['package.json', 'tsconfig.json', 'vitest.config.ts', 'docker-compose.yml', '.env.example'])
    copyFileSync(join(REPO, file), join(root, file));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
});

afterAll(async () => {
  // The store the demo data was seeded into (the supergraph's afterAll dropped its databases).
  const seeded = await seeding?.catch(() => undefined);
  await seeded?.store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  // Whatever happened above, the repository itself never holds the generated subgraph.
  expect(existsSync(join(REPO, 'subgraphs', NAME))).toBe(false);
  expect(existsSync(join(REPO, 'schema', `${NAME}.graphql`))).toBe(false);
  expect(readRegistry(join(REPO, 'schema', 'subgraphs.json')).map((s) => s.name)).not.toContain(NAME);
});

describe('npm run new-subgraph', () => {
  let recomposed = '';

  it('refuses bad names, taken names and ports, and bad descriptions with a clear message, writing nothing', async () => {
    const before = snapshot(join(root, 'schema'));
    const valid = /use lowercase letters, digits and single dashes, starting with a letter/;
    expect(refusal({ root, name: '' })).toMatch(/^Give the new subgraph a name: npm run new-subgraph -- <name>$/);
    for (const name of ['Mentoring', '1st-line', 'study_guidance', 'study--guidance', 'guidance-', '-guidance', 'rådgiving', 'study guidance']) {
      expect(refusal({ root, name })).toMatch(valid);
    }
    expect(refusal({ root, name: `a${'b'.repeat(30)}` })).toMatch(/is too long: at most 30 characters/);
    for (const name of ['kit', 'template', 'gateway', 'supergraph', 'query']) expect(refusal({ root, name })).toMatch(/^"\w+" is reserved/);
    for (const name of ['catalogue', 'feedback'])
      expect(refusal({ root, name })).toMatch(new RegExp(`^"${name}" is taken: schema/subgraphs.json registers it already`));
    expect(refusal({ root, name: NAME, port: 4001 })).toMatch(/^port 4001 is taken by catalogue: .* the next free one \(4005\)/);
    expect(refusal({ root, name: NAME, port: 4000 })).toMatch(/^port 4000 is taken by the gateway/);
    expect(refusal({ root, name: NAME, port: 80 })).toMatch(/^--port must be a whole number from 1024 to 65535/);
    expect(refusal({ root, name: NAME, description: 'two\nlines' })).toMatch(/^--description must be one line/);
    // A folder left over from an earlier attempt is not overwritten.
    mkdirSync(join(root, 'subgraphs', 'leftover'));
    expect(refusal({ root, name: 'leftover' })).toMatch(/^"leftover" is taken: subgraphs\/leftover exists already/);
    rmSync(join(root, 'subgraphs', 'leftover'), { recursive: true });
    // The command line says the same on stderr and exits non-zero.
    const [cli, badPort] = await Promise.all([
      run(join(REPO, 'node_modules', '.bin', 'tsx'), [join(REPO, 'tools', 'new-subgraph', 'new-subgraph.ts'), 'Mentoring', '--root', root], REPO),
      run(
        join(REPO, 'node_modules', '.bin', 'tsx'),
        [join(REPO, 'tools', 'new-subgraph', 'new-subgraph.ts'), 'mentoring', '--port', 'x', '--root', root],
        REPO,
      ),
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^new-subgraph: "Mentoring" is not a valid subgraph name/);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/^new-subgraph: --port must be a whole number from 1024 to 65535, got "x"\nusage: npm run new-subgraph/);
    expect(snapshot(join(root, 'schema'))).toEqual(before);
    expect(readdirSync(join(root, 'subgraphs'))).toEqual([]);
  });

  it('generates a registered subgraph whose contract composes with the others, leaving the supergraph alone', async () => {
    const supergraphBefore = readFileSync(join(root, 'schema', 'supergraph.graphql'), 'utf8');
    const made = await run(
      'npm',
      ['run', 'new-subgraph', '--', NAME, '--description', 'Guidance for teachers choosing a study', '--root', root, '--skip-install'],
      REPO,
    );
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(`Created the ${NAME} subgraph (local port 4005):`);
    expect(made.stdout).toContain(`npm run schema:check -- ${NAME}`);
    expect(readRegistry(join(root, 'schema', 'subgraphs.json')).at(-1)).toEqual({ name: NAME, url: 'http://127.0.0.1:4005/graphql' });
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces).toContain(`subgraphs/${NAME}`);
    expect(readdirSync(join(root, 'subgraphs', NAME, 'src')).sort()).toEqual(
      [
        'context.ts',
        'generated',
        'index.ts',
        'loaders.ts',
        'main.ts',
        'resolvers.test.ts',
        'resolvers.ts',
        'server.ts',
        'store.ts',
        `${NAME}.int.test.ts`,
      ].sort(),
    );
    // Its resolvers are typed from its contract, as npm run codegen types them (the type-check below compiles them).
    expect(made.stdout).toContain(`  + subgraphs/${NAME}/src/generated/resolvers.ts`);
    const types = readFileSync(join(root, 'subgraphs', NAME, 'src', 'generated', 'resolvers.ts'), 'utf8');
    expect(types.startsWith(`// Generated by \`npm run codegen\` from schema/${NAME}.graphql: do not edit.\n`)).toBe(true);
    expect(types).toContain('export type Resolvers<ContextType = StudyGuidanceContext> = {');
    expect(readFileSync(join(root, 'subgraphs', NAME, 'src', 'resolvers.ts'), 'utf8')).toContain('export const resolvers: Resolvers = {');
    const pkg = JSON.parse(readFileSync(join(root, 'subgraphs', NAME, 'package.json'), 'utf8')) as { name: string; description: string; dependencies: unknown };
    const feedbackPkg = JSON.parse(readFileSync(join(REPO, 'subgraphs', 'feedback', 'package.json'), 'utf8')) as { dependencies: unknown };
    expect(pkg).toMatchObject({ name: `@partnerskap/${NAME}`, description: 'Guidance for teachers choosing a study', dependencies: feedbackPkg.dependencies });
    expect(readFileSync(join(root, 'schema', 'supergraph.graphql'), 'utf8')).toBe(supergraphBefore);
    // Registered for deployment too: a compose service like the others, the gateway's URL, secret and wait for it.
    const deployed = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, any> };
    const env = NAME.toUpperCase().replace(/-/g, '_');
    expect(deployed.services[NAME].build).toEqual({ context: '.', target: 'subgraph', args: { SUBGRAPH: NAME, PORT: '4005' } });
    expect(deployed.services[NAME].environment.GATEWAY_SECRET).toMatch(new RegExp(`^\\$\\{GATEWAY_SECRET_${env}:\\?`));
    expect(deployed.services.gateway.environment[`${env}_URL`]).toBe(`http://${NAME}:4005/graphql`);
    expect(deployed.services.gateway.environment[`GATEWAY_SECRET_${env}`]).toBe(deployed.services[NAME].environment.GATEWAY_SECRET);
    expect(deployed.services.gateway.depends_on[NAME]).toEqual({ condition: 'service_healthy' });
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toMatch(new RegExp(`^GATEWAY_SECRET_${env}=$`, 'm'));

    const registry = readRegistry(join(root, 'schema', 'subgraphs.json'));
    const { supergraphSdl, errors, hints } = compose((name) => readFileSync(join(root, 'schema', `${name}.graphql`), 'utf8'), registry);
    expect(errors).toEqual([]);
    expect(unacceptedHints(hints)).toEqual([]);
    expect(supergraphSdl).toContain(`@join__graph(name: "${NAME}", url: "http://127.0.0.1:4005/graphql")`);
    recomposed = supergraphSdl!;
    // A second run with the same name is refused: it is registered now.
    expect(refusal({ root, name: NAME })).toMatch(/is taken: schema\/subgraphs.json registers it already/);
  });

  // From here on, the generated subgraph's own checks and the supergraph over it run side by side
  // (it.concurrent and describe.concurrent): neither writes what the other reads.
  it.concurrent(
    'type-checks and passes its own unit and integration tests',
    async ({ expect }) => {
      writeFileSync(join(root, 'tsconfig.generated.json'), JSON.stringify({ extends: './tsconfig.json', include: [`subgraphs/${NAME}`] }));
      const report = join(root, 'vitest.json');
      // The type-check and the tests, each a process of its own, at the same time.
      const [tsc, vitest] = await Promise.all([
        run(join(REPO, 'node_modules', '.bin', 'tsc'), ['--noEmit', '--listFiles', '-p', 'tsconfig.generated.json'], root),
        run(join(REPO, 'node_modules', '.bin', 'vitest'), ['run', `subgraphs/${NAME}`, '--reporter=json', `--outputFile=${report}`], root),
      ]);
      expect(tsc.stdout).toContain(join(root, 'subgraphs', NAME, 'src', 'resolvers.ts'));
      // Only the generated files are judged here: the kit it imports is checked by the repository's own type-check.
      expect(tsc.stdout.split('\n').filter((line) => line.startsWith(`subgraphs/${NAME}/`))).toEqual([]);
      expect(vitest.code, vitest.stderr).toBe(0);
      const results = JSON.parse(readFileSync(report, 'utf8')) as { numFailedTests: number; numPassedTests: number; testResults: { name: string }[] };
      expect(results.numFailedTests).toBe(0);
      expect(results.numPassedTests).toBeGreaterThanOrEqual(8);
      expect(results.testResults.map((r) => r.name.slice(root.length + 1)).sort()).toEqual([
        `subgraphs/${NAME}/src/resolvers.test.ts`,
        `subgraphs/${NAME}/src/${NAME}.int.test.ts`,
      ]);
    },
    90_000,
  );

  describe.concurrent('in the supergraph', () => {
    let running: RunningSupergraph | undefined;
    let privateKey: CryptoKey;
    const progress: string[] = [];
    const issuer = 'https://idp.test/new-subgraph';
    const audience = 'partnerskap-api';

    beforeAll(async () => {
      const keys = await generateKeyPair('EdDSA');
      privateKey = keys.privateKey;
      const jwk: JWK = { ...(await exportJWK(keys.publicKey)), kid: 'test', alg: 'EdDSA' };
      const seeded = await seeding!;
      running = await startSupergraph({
        mongodbUri: seeded.mongodbUri,
        prefix: seeded.prefix,
        root,
        auth: { jwks: { keys: [jwk] }, issuer, audience },
        gateway: { logger: memoryLogger(), supergraphPollMs: 50 },
        progress: (line) => progress.push(line),
      });
    }, 120_000);

    afterAll(async () => {
      if (running)
        await Promise.all(
          [...Object.values(running.dbs), ...Object.values(running.others).map((o) => o.db)].map((db) => db.dropDatabase().catch(() => undefined)),
        );
      await running?.stop();
      // The store is the file's: its afterAll closes it.
    });

    const query = async (body: string, variables: Record<string, unknown> = {}) => {
      const token = await new SignJWT({ role: 'directorate' })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      const res = await fetch(running!.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: body, variables }),
      });
      return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
    };
    const STUDIES = '{ studies(first: 2) { edges { node { id name studyGuidanceNoteCount } } } }';

    it('starts the new subgraph, which the gateway serves once npm run compose has published it, without a restart', async ({ expect }) => {
      expect(Object.keys(running!.others)).toEqual([NAME]);
      expect(progress).toContain(`${NAME}: started, but not in the supergraph yet (npm run compose adds it)`);
      expect((await query(STUDIES)).errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);

      // What npm run compose does: the new file renamed over the old one; the gateway polls for it.
      const file = join(root, 'schema', 'supergraph.graphql');
      writeFileSync(`${file}.tmp`, recomposed);
      renameSync(`${file}.tmp`, file);
      const deadline = Date.now() + 10_000;
      let answer = await query(STUDIES);
      while (answer.errors && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        answer = await query(STUDIES);
      }
      expect(answer.errors).toBeUndefined();
      const [first, second] = answer.data.studies.edges.map((e: { node: { id: string; name: string } }) => e.node);
      expect(answer.data.studies.edges).toEqual([{ node: { ...first, studyGuidanceNoteCount: 0 } }, { node: { ...second, studyGuidanceNoteCount: 0 } }]);

      const added = await query('mutation Add($input: StudyGuidanceNoteInput!) { addStudyGuidanceNote(input: $input) { id title study { id name } } }', {
        input: { study: first.id, title: 'Ask your school owner first' },
      });
      expect(added).toEqual({
        data: { addStudyGuidanceNote: { id: expect.any(String), title: 'Ask your school owner first', study: { id: first.id, name: first.name } } },
      });
      expect(await query(STUDIES)).toEqual({
        data: { studies: { edges: [{ node: { ...first, studyGuidanceNoteCount: 1 } }, { node: { ...second, studyGuidanceNoteCount: 0 } }] } },
      });
      expect(await query('{ studyGuidanceNotes { totalCount edges { node { title study { name } } } } }')).toEqual({
        data: { studyGuidanceNotes: { totalCount: 1, edges: [{ node: { title: 'Ask your school owner first', study: { name: first.name } } }] } },
      });
    }, 60_000);
  });
});
