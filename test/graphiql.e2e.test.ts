import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGatewayServer, listenGateway } from '@partnerskap/gateway';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { CHROMIUM, OUTPUT, launchChromium, settledLater, warnWithoutChromium } from './browser.js';
import { rawRequest } from './net.js';

// The local explorer (/graphiql): GraphiQL from node_modules, served by a development gateway with
// its own strict headers, working without any CDN. Its files over plain HTTP, then the page in
// headless Chromium (Debian's `chromium`): it runs a query, sends a partner's token from its
// Headers editor, and loads the schema's docs by introspection through the limits.

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const packageFile = (name: string, file: string) => join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), file);

warnWithoutChromium('test/graphiql.e2e.test.ts');

let h: Harness;
let origin: string;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  origin = new URL(h.gateway.url).origin;
}, 120_000);
afterAll(async () => {
  await h?.close();
});

/** A raw request to the gateway (or another port): the path goes out as written. */
const raw = (path: string, method = 'GET', headers: Record<string, string> = {}, port = h.gateway.port) => rawRequest(port, path, method, headers);

describe('the local explorer over HTTP', () => {
  it('serves the page with its strict headers, nothing inline', async () => {
    const res = await raw('/graphiql');
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    for (const file of ['react.production.min.js', 'react-dom.production.min.js', 'graphiql.min.js', 'explorer.js'])
      expect(res.body).toContain(`<script src="/graphiql/${file}" defer></script>`);
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/\sstyle=|<style/);
    expect(res.body).not.toMatch(/https?:\/\//);
    expect((await raw('/graphiql/')).body).toBe(res.body);
  });

  it('serves GraphiQL and React from node_modules, with their content types', async () => {
    const files = {
      '/graphiql/graphiql.min.js': packageFile('graphiql', 'graphiql.min.js'),
      '/graphiql/graphiql.min.css': packageFile('graphiql', 'graphiql.min.css'),
      '/graphiql/react.production.min.js': packageFile('react', 'umd/react.production.min.js'),
      '/graphiql/react-dom.production.min.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
    };
    for (const [path, file] of Object.entries(files)) {
      const res = await raw(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toBe(path.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.body === readFileSync(file, 'utf8'), path).toBe(true);
    }
    expect(await raw('/graphiql/explorer.js')).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'content-security-policy': CSP },
    });
    expect(await raw('/graphiql/explorer.css')).toMatchObject({ status: 200, headers: { 'content-type': 'text/css; charset=utf-8' } });
    expect((await raw('/graphiql', 'POST')).status).toBe(405);
  });

  it.each([
    '/graphiql/../package.json',
    '/graphiql/%2e%2e/package.json',
    '/graphiql/..%2fpackage.json',
    '/graphiql/graphiql.js',
    '/graphiql/graphiql.min.js.map',
    '/graphiql/index.html',
    '/graphiql/react.development.js',
    '/graphiql/explorer.js/',
    '/node_modules/graphiql/graphiql.min.js',
    '/gateway/explorer/index.html',
    '/graphiqlx',
  ])('answers %s with 404 and nothing of any file', async (path) => {
    const res = await raw(path);
    expect(res.status).toBe(404);
    expect(res.body).not.toMatch(/workspaces|GraphiQL|React|<html/);
  });

  it("names the local explorer in Apollo Sandbox's offline fallback", async () => {
    const res = await raw('/', 'GET', { accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Apollo Sandbox cannot be loaded');
    expect(res.body).toContain('<a href="/graphiql">/graphiql</a>');
  });

  it('is not served in production, where introspection is off', async () => {
    const names = ['catalogue', 'admissions', 'plans', 'feedback'];
    const gateway = createGatewayServer({
      supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls: Object.fromEntries(names.map((n) => [n, 'http://127.0.0.1:9/graphql'])),
      development: false,
      authenticate: async () => ({ role: 'public' }),
      secrets: Object.fromEntries(names.map((n) => [n, 'x'.repeat(32)])),
      subgraphCalls: { timeoutMs: 500, connections: 2 },
    });
    const listening = await listenGateway(gateway, { port: 0 });
    try {
      for (const path of ['/graphiql', '/graphiql/graphiql.min.js', '/graphiql/explorer.js'])
        expect((await raw(path, 'GET', {}, listening.port)).status, path).toBe(404);
      expect((await raw('/', 'GET', { accept: 'text/html' }, listening.port)).body).not.toContain('/graphiql');
    } finally {
      await listening.stop();
    }
  });
});

// ------------------------------------------------------------------------------------------------

/** What the page asked and heard, and what went wrong in it. */
interface Recorded {
  posts: { body: Record<string, unknown>; headers: Promise<Record<string, string>>; status: Promise<number | undefined> }[];
  problems: string[];
}

async function record(context: BrowserContext, page: Page): Promise<Recorded> {
  const recorded: Recorded = { posts: [], problems: [] };
  context.on('request', (r) => {
    const url = new URL(r.url());
    if (url.protocol !== 'data:' && url.origin !== origin) recorded.problems.push(`request to another origin: ${r.url()}`);
    if (r.method() === 'POST')
      recorded.posts.push({
        body: JSON.parse(r.postData() ?? '{}') as Record<string, unknown>,
        headers: settledLater(r.allHeaders()),
        status: settledLater(r.response().then((res) => res?.status())),
      });
  });
  context.on('requestfailed', (r) => recorded.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') recorded.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => recorded.problems.push(`page error: ${err.message}`));
  // What the policy blocked, reported or not to the console (an init script runs outside the page's CSP).
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { violations: string[] }).violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
  });
  return recorded;
}

/** Replaces the text of one of GraphiQL's editors (CodeMirror 5 keeps its instance on the element). */
const setEditor = (page: Page, selector: string, text: string) =>
  page.$eval(`${selector} .CodeMirror`, (el, value) => (el as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(value), text);

/** The text of the result pane once it holds an answer. */
async function result(page: Page, containing: string): Promise<Record<string, any>> {
  const read = () => page.$eval('.result-window .CodeMirror', (el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
  await page.waitForFunction(
    (text) => {
      const el = document.querySelector('.result-window .CodeMirror') as unknown as { CodeMirror?: { getValue(): string } } | null;
      return el?.CodeMirror?.getValue().includes(text) ?? false;
    },
    containing,
    { timeout: 20_000 },
  );
  return JSON.parse(await read()) as Record<string, any>;
}

describe.skipIf(!CHROMIUM)(CHROMIUM ? 'the local explorer in Chromium' : 'SKIPPED: Chromium not installed (apt-get install chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("runs a query, sends a token from its Headers editor and shows the schema's docs, from the gateway alone", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const recorded = await record(context, page);
    const response = await page.goto(`${origin}/graphiql`);
    expect((await response!.allHeaders())['content-security-policy']).toBe(CSP);
    await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 30_000 });

    // The public's query: the answer shown is the API's own.
    await setEditor(page, '.graphiql-query-editor', '{ subjects { code } }');
    await page.click('.graphiql-execute-button');
    const expected = await h.query('{ subjects { code } }');
    expect(expected.data).toBeTruthy();
    expect(await result(page, '"subjects"')).toEqual({ data: expected.data });

    // A partner's token in the Headers editor goes out as the Authorization header.
    const token = await h.token({ role: 'school-owner', org: '4601' });
    const query = '{ schoolOwner(id: "4601") { name plan(year: 2024) { budgetNok } } }';
    await setEditor(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await setEditor(page, '.graphiql-query-editor', query);
    await page.click('.graphiql-execute-button');
    const asOwner = await h.query(query, undefined, { token });
    expect(asOwner.data?.schoolOwner).toBeTruthy();
    expect(asOwner.errors).toBeUndefined();
    expect(await result(page, '"budgetNok"')).toEqual({ data: asOwner.data });
    const sent = recorded.posts.filter((p) => p.body.query === query);
    expect(sent.length).toBe(1);
    expect(await sent[0]!.headers).toMatchObject({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

    // The docs: the schema came by introspection (200), its root fields are listed.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.click('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name:text-is("Query")');
    await page.waitForSelector('.graphiql-doc-explorer a.graphiql-doc-explorer-field-name:text-is("subjects")', { timeout: 20_000 });
    const introspections = recorded.posts.filter((p) => String(p.body.query).includes('__schema'));
    expect(introspections.length).toBeGreaterThan(0);
    for (const i of introspections) expect(await i.status).toBe(200);

    const screenshot = join(OUTPUT, 'graphiql.png');
    await page.screenshot({ path: screenshot });
    console.log(`the local explorer: ${screenshot}`);
    expect(recorded.problems).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    await context.close();
  }, 90_000);
});
