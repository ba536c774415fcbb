import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGatewayServer, listenGateway } from '@partnerskap/gateway';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, type Harness, startHarness } from './harness.js';
import { CHROMIUM, OUTPUT, launchChromium, settledLater, warnWithoutChromium } from './browser.js';
import { rawRequest } from './net.js';

// The strategy insights page (/insights) over the whole supergraph: its files and headers over
// plain HTTP, then the page itself in headless Chromium (Debian's `chromium`), as the public and as
// the directorate. The figures the page shows are checked against the API's own answer to the same
// caller, so the test holds whatever the figures are; hidden ones (null) must read "–".

/** The page's Content-Security-Policy, as the task states it. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
const TOKEN_KEY = 'partnerskap.insights.token';
const HIDDEN = '–';
const MISSING = 'n/a';
const QUERY = readFileSync(new URL('../operations/insights-funnel.graphql', import.meta.url), 'utf8');

warnWithoutChromium('test/insights-page.e2e.test.ts');

let h: Harness;
let origin: string;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  origin = new URL(h.gateway.url).origin;
}, 120_000);
afterAll(async () => {
  await h?.close();
});

/** A raw request to the gateway: the path goes out as written. */
const raw = (path: string, method = 'GET', headers: Record<string, string> = {}) => rawRequest(h.gateway.port, path, method, headers);

describe('the insights page over HTTP', () => {
  it('serves the page with its strict headers', async () => {
    const res = await raw('/insights');
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    expect(res.body).toContain('<canvas id="funnel-chart"');
    expect(res.body).toContain('<script src="/insights/chart.umd.js" defer></script>');
    // Nothing inline that the CSP would block: no inline script, no style attribute or element.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/\sstyle=|<style/);
    expect((await raw('/insights/')).body).toBe(res.body);
    // Revalidation: the same file answers 304 to its etag.
    expect((await raw('/insights', 'GET', { 'if-none-match': String(res.headers.etag) })).status).toBe(304);
  });

  it('serves Chart.js from node_modules, the script, the style and the registered operation, with their content types', async () => {
    const chartFile = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
    const chart = await raw('/insights/chart.umd.js');
    expect(chart).toMatchObject({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff' } });
    expect(chart.body).toBe(readFileSync(chartFile, 'utf8'));
    expect(chart.body).toMatch(/^\/\*!\n \* Chart\.js v4\./);
    expect(await raw('/insights/insights.js')).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'content-security-policy': CSP },
    });
    expect(await raw('/insights/insights.css')).toMatchObject({ status: 200, headers: { 'content-type': 'text/css; charset=utf-8' } });
    expect(await raw('/insights/insights-funnel.graphql')).toMatchObject({ status: 200, body: QUERY });
    expect((await raw('/insights', 'HEAD')).status).toBe(200);
    expect((await raw('/insights', 'POST')).status).toBe(405);
  });

  it("serves the page in production too, where the page's own request passes CSRF prevention", async () => {
    // A production gateway alone (its subgraphs unreachable): the page and what it sends, not the figures.
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
      const page = await fetch(new URL('/insights', listening.url));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(CSP);
      expect(await page.text()).toBe((await raw('/insights')).body);
      expect((await fetch(new URL('/insights/chart.umd.js', listening.url))).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // What the page sends: a same-origin POST with a JSON body (a browser adds its Origin).
      const res = await fetch(listening.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(listening.url).origin },
        body: JSON.stringify({ operationName: 'InsightsFunnel', query: QUERY, variables: { year: 2024 } }),
      });
      const body = (await res.json()) as { errors?: { extensions: { code: string } }[] };
      // Not Apollo's CSRF refusal (400 BAD_REQUEST): the operation ran and found its subgraphs down.
      expect(res.status).toBe(200);
      expect(body.errors?.length).toBeGreaterThan(0);
      for (const e of body.errors ?? []) expect(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_TIMEOUT']).toContain(e.extensions.code);
    } finally {
      await listening.stop();
    }
  });

  it.each([
    '/insights/../package.json',
    '/insights/%2e%2e/package.json',
    '/insights/..%2fpackage.json',
    '/insights/..%2F..%2Fpackage.json',
    '/insights/..\\package.json',
    '/insights/index.html',
    '/insights/chart.js',
    '/insights/chart.umd.js.map',
    '/insights/insights.js/',
    '/insights/../gateway/package.json',
    '/gateway/insights/index.html',
    '/node_modules/chart.js/dist/chart.umd.js',
    '/operations/insights-funnel.graphql',
    '/package.json',
    '/insightsx',
  ])('answers %s with 404 and nothing of any file', async (path) => {
    const res = await raw(path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).not.toMatch(/workspaces|Chart\.js|query InsightsFunnel|<html/);
  });
});

// ------------------------------------------------------------------------------------------------

type Data = Record<string, any>;
/** What a table cell means: a count, a rate (0 to 1) or an average rating. */
type Kind = 'count' | 'rate' | 'average';
const SUBJECT_KINDS: Kind[] = ['count', 'count', 'count', 'count', 'count', 'count', 'count'];
const COUNTY_KINDS: Kind[] = ['count', 'count', 'count', 'rate', 'count', 'count', 'count', 'average'];
const nb = new Intl.Collator('nb');

/** A figure as the page is expected to print it, brought to a comparable number (null: hidden). */
const expectedValue = (value: number | null | undefined, kind: Kind): number | null =>
  value === null || value === undefined ? null : kind === 'rate' ? Math.round(value * 100) : kind === 'average' ? Math.round(value * 100) / 100 : value;
/** A cell as the page printed it ("1,234", "13%", "4.2", "–"), brought to the same. */
const shownValue = (text: string, kind: Kind): number | null | string => {
  if (text === HIDDEN) return null;
  const n = Number(text.replace(/,/g, '').replace(/%$/, ''));
  if (!Number.isFinite(n) || (kind === 'rate') !== text.endsWith('%')) return `not a ${kind}: ${text}`;
  return n;
};

/** One partition's figure for a key; a key without a row had no record (0). */
const figureOf = (rows: Data[], key: string, field: string, keyField = 'key') => {
  const row = rows.find((r) => String(r[keyField]) === key);
  return row ? row[field] : 0;
};
const sumOrNull = (values: (number | null)[]) => (values.some((v) => v === null) ? null : values.reduce<number>((a, b) => a + b!, 0));

/** The subject table the page should show for an answer: every subject, name order, then "All subjects". */
function expectedSubjectTable(data: Data) {
  const i = data.insights;
  const names = new Map<string, string>(data.subjects.map((s: Data) => [s.code, s.name]));
  const codes = new Set<string>([
    ...names.keys(),
    ...i.applications.bySubject.map((c: Data) => c.key),
    ...i.decisions.bySubject.map((c: Data) => c.key),
    ...i.funding.bySubject.map((c: Data) => c.key),
    ...i.vacantSeats.map((c: Data) => c.subject),
  ]);
  const rows = [...codes]
    .map((code) => ({
      code,
      name: names.get(code) ?? code,
      values: [
        figureOf(i.applications.bySubject, code, 'applications'),
        figureOf(i.decisions.bySubject, code, 'approved'),
        figureOf(i.funding.bySubject, code, 'funded'),
        figureOf(i.applications.bySubject, code, 'admitted'),
        figureOf(i.applications.bySubject, code, 'completed'),
        figureOf(i.vacantSeats, code, 'places', 'subject'),
        figureOf(i.vacantSeats, code, 'vacant', 'subject'),
      ] as (number | null)[],
    }))
    .sort((a, b) => nb.compare(a.name, b.name) || nb.compare(a.code, b.code));
  const t = i.applications.total;
  const total = [
    t.applications,
    i.decisions.total.approved,
    i.funding.funded,
    t.admitted,
    t.completed,
    sumOrNull(rows.map((r) => r.values[5]!)),
    sumOrNull(rows.map((r) => r.values[6]!)),
  ];
  return { rows, table: [...rows.map((r) => [r.name, ...r.values]), ['All subjects', ...total]] };
}

/** The county table the page should show: every county, by number, then "All counties". */
function expectedCountyTable(data: Data) {
  const i = data.insights;
  const names = new Map<string, string>(data.counties.map((c: Data) => [String(c.number), c.name]));
  const numbers = new Set<string>([
    ...names.keys(),
    ...i.applications.byCounty.map((c: Data) => c.key),
    ...i.decisions.byCounty.map((c: Data) => c.key),
    ...i.funding.byCounty.map((c: Data) => c.key),
    ...i.ratings.byCounty.map((c: Data) => c.key),
  ]);
  const rows = [...numbers].sort().map((n) => {
    const decided = i.decisions.byCounty.find((c: Data) => c.key === n);
    const rated = i.ratings.byCounty.find((c: Data) => c.key === n);
    return [
      names.get(n) ?? `County ${n}`,
      figureOf(i.applications.byCounty, n, 'applications'),
      figureOf(i.decisions.byCounty, n, 'approved'),
      figureOf(i.decisions.byCounty, n, 'refused'),
      decided ? decided.refusalRate : null,
      figureOf(i.funding.byCounty, n, 'funded'),
      figureOf(i.applications.byCounty, n, 'admitted'),
      figureOf(i.applications.byCounty, n, 'completed'),
      rated ? rated.rating.average : null,
    ];
  });
  const t = i.applications.total;
  const d = i.decisions.total;
  return [
    ...rows,
    ['All counties', t.applications, d.approved, d.refused, d.refusalRate, i.funding.funded, t.admitted, t.completed, i.ratings.overall.average],
  ];
}

const comparable = (table: unknown[][], kinds: Kind[], parse: boolean) =>
  table.map(([label, ...values]) => [
    label,
    ...values.map((v, k) => (parse ? shownValue(v as string, kinds[k]!) : expectedValue(v as number | null, kinds[k]!))),
  ]);

/** The rows of a table as the page shows them (body and foot), cell texts trimmed. */
const tableOf = (page: Page, id: string) =>
  page.$$eval(`#${id} tbody tr, #${id} tfoot tr`, (rows) => rows.map((r) => [...r.children].map((c) => (c.textContent ?? '').trim())));

/** What the page asked and heard, and what went wrong in it. */
interface Recorded {
  /** Each request, with all its headers (Playwright's `headers()` leaves out `authorization`). */
  requests: { url: string; method: string; headers: Promise<Record<string, string>>; body: string | null }[];
  problems: string[];
}

function record(context: BrowserContext, page: Page): Recorded {
  const recorded: Recorded = { requests: [], problems: [] };
  context.on('request', (r) => recorded.requests.push({ url: r.url(), method: r.method(), headers: settledLater(r.allHeaders()), body: r.postData() }));
  context.on('requestfailed', (r) => recorded.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => {
    if (m.type() === 'error') recorded.problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (err) => recorded.problems.push(`page error: ${err.message}`));
  return recorded;
}

/** The year the page shows first: the newest with a round, as the API lists them to this caller. */
async function newestYear(token: string | undefined): Promise<{ year: number; answer: GraphQLResponse<Data> }> {
  const first = await h.query<Data>(QUERY, { year: new Date().getFullYear() }, token ? { token } : {});
  const years: number[] = (first.data?.insightsTrend ?? []).map((i: Data) => i.year);
  expect(years.length, `the API lists no application years: ${JSON.stringify(first.errors)}`).toBeGreaterThan(0);
  const year = Math.max(...years);
  return { year, answer: await h.query<Data>(QUERY, { year }, token ? { token } : {}) };
}

/** Waits until the page has shown a year, and returns its state. */
async function shown(page: Page, year: number): Promise<string> {
  await page.waitForSelector(`main[data-year="${year}"][aria-busy="false"]`, { timeout: 20_000 });
  return (await page.getAttribute('main', 'data-state'))!;
}

/** Checks the page against the API's answer for the same caller and year. */
async function expectPageToShow(page: Page, answer: GraphQLResponse<Data>, year: number) {
  expect(answer.data?.insights, `the API answers no insights for ${year}: ${JSON.stringify(answer.errors)}`).toBeTruthy();
  const data = answer.data!;
  expect(await shown(page, year)).toBe('ready');
  // The errors the API answered are on the page, not swallowed.
  const errors = await page.$$eval('#error-list li', (items) => items.map((li) => li.textContent ?? ''));
  expect(errors.length).toBe(answer.errors?.length ?? 0);
  for (const e of answer.errors ?? []) expect(errors.some((text) => text.includes(e.message))).toBe(true);

  // The chart is drawn: Chart.js holds the funnel per subject, and the canvas has pixels.
  const subjects = expectedSubjectTable(data);
  await page.waitForFunction(
    () => {
      const canvas = document.querySelector<HTMLCanvasElement>('#funnel-chart');
      if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
      const blank = document.createElement('canvas');
      blank.width = canvas.width;
      blank.height = canvas.height;
      return canvas.toDataURL() !== blank.toDataURL();
    },
    undefined,
    { timeout: 10_000 },
  );
  const chart = await page.evaluate(() => {
    const c = (
      window as unknown as { Chart: { getChart(canvas: unknown): { data: { labels: string[]; datasets: { label: string; data: (number | null)[] }[] } } } }
    ).Chart.getChart(document.querySelector('#funnel-chart'));
    return { labels: c.data.labels, datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) };
  });
  expect(chart).toEqual({
    labels: subjects.rows.map((r) => r.name),
    datasets: ['Applications', 'Approved by owners', 'Funded', 'Admitted', 'Completed'].map((label, k) => ({
      label,
      data: subjects.rows.map((r) => r.values[k]),
    })),
  });
  expect(await page.getAttribute('#funnel-chart', 'aria-label')).toContain(String(year));
  expect(await page.getAttribute('#funnel-chart', 'role')).toBe('img');

  // The tables: the same figures as the API's answer; a hidden one reads "–".
  const subjectTable = await tableOf(page, 'subject-table');
  expect(comparable(subjectTable, SUBJECT_KINDS, true)).toEqual(comparable(subjects.table, SUBJECT_KINDS, false));
  const countyTable = await tableOf(page, 'county-table');
  const expectedCounties = expectedCountyTable(data);
  expect(countyTable.length).toBe(data.counties.length + 1);
  expect(comparable(countyTable, COUNTY_KINDS, true)).toEqual(comparable(expectedCounties, COUNTY_KINDS, false));
  const hidden = [...subjects.table, ...expectedCounties].flat().filter((v) => v === null).length;
  expect([...subjectTable, ...countyTable].flat().filter((text) => text === HIDDEN).length).toBe(hidden);
  // The table headers and captions are there for a screen reader.
  expect(
    await page.$$eval('table', (tables) =>
      tables.map((t) => [
        t.caption?.textContent?.trim() ?? '',
        t.querySelectorAll('thead th[scope=col]').length,
        t.querySelectorAll('tbody th[scope=row]').length,
      ]),
    ),
  ).toEqual([
    [expect.stringContaining('per subject'), 8, subjects.rows.length],
    [expect.stringContaining('per county'), 9, data.counties.length],
  ]);
  expect(await page.isVisible('#suppression')).toBe(true);
  return { subjectTable, countyTable, hidden };
}

/** Every request the page made went to the gateway's origin; the one POST sent the registered operation. */
async function expectOnlyTheGateway(recorded: Recorded, token: string | undefined, years: number[]) {
  for (const r of recorded.requests) {
    const url = new URL(r.url);
    if (url.protocol === 'data:') continue;
    expect(url.origin, r.url).toBe(origin);
    if (token) expect(r.url, 'the token never goes into a URL').not.toContain(token);
  }
  const posts = recorded.requests.filter((r) => r.method === 'POST');
  expect(posts.length).toBeGreaterThan(0);
  for (const post of posts) {
    const headers = await post.headers;
    expect(post.url).toBe(`${origin}/`);
    expect(headers['content-type']).toBe('application/json');
    expect(headers.authorization).toBe(token ? `Bearer ${token}` : undefined);
    const body = JSON.parse(post.body!) as { query: string; operationName: string; variables: { year: number } };
    expect(body).toEqual({ operationName: 'InsightsFunnel', query: QUERY, variables: { year: expect.any(Number) } });
  }
  // The last question was for the year shown.
  expect(years).toContain(JSON.parse(posts.at(-1)!.body!).variables.year);
}

describe.skipIf(!CHROMIUM)(CHROMIUM ? 'the insights page in Chromium' : 'SKIPPED: Chromium not installed (apt-get install chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the public the newest year, hidden figures as "–", and another year when picked', async () => {
    const { year, answer } = await newestYear(undefined);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const recorded = record(context, page);
    const response = await page.goto(`${origin}/insights`);
    expect(response!.status()).toBe(200);
    expect((await response!.allHeaders())['content-security-policy']).toBe(CSP);
    await expectPageToShow(page, answer, year);
    expect(await page.textContent('#caller')).toContain('the public');
    const screenshot = join(OUTPUT, 'insights.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`insights page as the public: ${screenshot}`);

    // The picker lists the years of the trend, newest first; another year is asked for and shown.
    const years = (answer.data!.insightsTrend as Data[]).map((i) => i.year as number);
    expect(await page.$$eval('#year option', (options) => options.map((o) => Number((o as HTMLOptionElement).value)))).toEqual(
      [...years].sort((a, b) => b - a),
    );
    const older = years.find((y) => y !== year);
    if (older !== undefined) {
      await page.selectOption('#year', String(older));
      await expectPageToShow(page, await h.query<Data>(QUERY, { year: older }), older);
      expect(new URL(page.url()).hash).toBe(`#${older}`);
    }
    await expectOnlyTheGateway(recorded, undefined, years);
    expect(recorded.problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('shows the directorate its exact figures with a token kept in sessionStorage, never in the URL', async () => {
    const token = await h.token({ role: 'directorate' });
    const { year, answer } = await newestYear(token);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const recorded = record(context, page);
    await page.goto(`${origin}/insights`);
    await shown(page, year);
    // The partner pastes the token: the page asks again, with it.
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#caller')?.textContent?.includes('directorate'));
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBe(token);
    expect(await page.inputValue('#token')).toBe('');
    await shown(page, year);
    // A reload keeps it (sessionStorage): the page asks with it from the start.
    const before = recorded.requests.length;
    const response = await page.reload();
    expect((await response!.allHeaders())['content-security-policy']).toBe(CSP);
    await expectPageToShow(page, answer, year);
    expect(await page.textContent('#caller')).toContain('exact figures');
    expect(page.url()).toBe(`${origin}/insights`);
    const screenshot = join(OUTPUT, 'insights-directorate.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`insights page as the directorate: ${screenshot}`);
    await expectOnlyTheGateway(
      { ...recorded, requests: recorded.requests.slice(before) },
      token,
      (answer.data!.insightsTrend as Data[]).map((i) => i.year as number),
    );
    expect(recorded.problems).toEqual([]);

    // Forgetting the token asks as the public again.
    await page.click('#forget-token');
    await page.waitForFunction(() => document.querySelector('#caller')?.textContent?.includes('the public'));
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    await context.close();
  }, 90_000);

  it('shows the API’s refusal of a bad token on the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const recorded = record(context, page);
    await page.goto(`${origin}/insights`);
    await page.waitForSelector('main[aria-busy="false"]', { timeout: 20_000 });
    await page.evaluate((key) => sessionStorage.setItem(key, 'not-a-token'), TOKEN_KEY);
    await page.reload();
    await page.waitForSelector('main[data-state="error"][aria-busy="false"]', { timeout: 20_000 });
    expect(await page.isVisible('#errors')).toBe(true);
    const errors = await page.$$eval('#error-list li', (items) => items.map((li) => li.textContent ?? ''));
    expect(errors.some((e) => e.includes('(UNAUTHENTICATED)'))).toBe(true);
    expect(errors.some((e) => e.includes('The token was refused'))).toBe(true);
    expect(await page.$$eval('#county-table tbody tr', (rows) => rows.length)).toBe(0);
    // Chromium reports the 401 itself; nothing else may go wrong.
    expect(recorded.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows the figures it has with partners down, marks what is missing as n/a and names the partners', async () => {
    const { year } = await newestYear(undefined);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const recorded = record(context, page);
    await h.stopSubgraph('plans');
    await h.stopSubgraph('feedback');
    try {
      const answer = await h.query<Data>(QUERY, { year });
      expect(answer.data?.insights?.applications, JSON.stringify(answer.errors)).toBeTruthy();
      expect([answer.data!.insights.decisions, answer.data!.insights.ratings, answer.data!.counties]).toEqual([null, null, null]);
      await page.goto(`${origin}/insights#${year}`);
      expect(await shown(page, year)).toBe('partial');
      expect((await page.getAttribute('main', 'data-missing'))?.split(' ').sort()).toEqual(['feedback', 'plans']);
      expect(await page.isVisible('#missing')).toBe(true);
      expect(await page.textContent('#missing-text')).toMatch(
        /^Figures from (plans|feedback) \(.+\) and (plans|feedback) \(.+\) are missing: these partners did not answer\. The rest is shown/,
      );
      expect(await page.textContent('#missing-text')).toContain('Without the county names from plans, counties show their numbers.');
      expect(await page.textContent('#status')).toMatch(/Missing \(n\/a\): those from (plans|feedback) .+, which did not answer\.$/);
      const errors = await page.$$eval('#error-list li', (items) => items.map((li) => li.textContent ?? ''));
      expect(errors.length).toBe(answer.errors!.length);
      expect(errors.some((e) => e.includes('(SUBGRAPH_UNAVAILABLE at insights.decisions)'))).toBe(true);

      // The API's answer with the two partners' parts as empty, then their columns as n/a on the page.
      const empty = structuredClone(answer.data!);
      empty.insights.decisions = { total: { approved: 0, refused: 0, refusalRate: 0 }, bySubject: [], byCounty: [] };
      empty.insights.ratings = { overall: { average: 0 }, byCounty: [] };
      empty.counties = [];
      const subjects = expectedSubjectTable(empty);
      const expectedCounties = expectedCountyTable(empty);
      /** The page's table against the expected one: the missing columns all n/a (body and totals), the others the API's figures. */
      const expectColumns = (shownTable: string[][], expected: unknown[][], kinds: Kind[], missing: number[]) => {
        expect(shownTable.map((r) => r[0])).toEqual(expected.map((r) => r[0]));
        for (const k of missing) expect(shownTable.map((r) => r[k + 1])).toEqual(shownTable.map(() => MISSING));
        const keep = (table: unknown[][]) => table.map((r) => r.filter((_, k) => k === 0 || !missing.includes(k - 1)));
        const kept = kinds.filter((_, k) => !missing.includes(k));
        expect(comparable(keep(shownTable), kept, true)).toEqual(comparable(keep(expected), kept, false));
        // Hidden figures stay "–", and only where the API hid them: a missing one is never "–" or 0.
        expect(
          keep(shownTable)
            .flat()
            .filter((t) => t === HIDDEN).length,
        ).toBe(
          keep(expected)
            .flat()
            .filter((v) => v === null).length,
        );
      };
      const subjectTable = await tableOf(page, 'subject-table');
      const countyTable = await tableOf(page, 'county-table');
      expectColumns(subjectTable, subjects.table, SUBJECT_KINDS, [1]);
      expectColumns(countyTable, expectedCounties, COUNTY_KINDS, [1, 2, 3, 7]);
      // A figure of another partner is there: admissions' applications in all.
      const total = answer.data!.insights.applications.total.applications as number;
      expect(total).toBeGreaterThan(0);
      expect(subjectTable.at(-1)![1]).toBe(total.toLocaleString('en-GB'));
      // Each missing cell says why; the missing columns' headers say so too.
      expect(await page.getAttribute('#subject-table tbody td.missing-figure abbr', 'title')).toBe('Missing: plans (KS and the school owners) did not answer');
      expect(await page.getAttribute('#county-table tfoot td.missing-figure[data-partner="feedback"] abbr', 'title')).toContain('feedback');
      expect(await page.$$eval('th.missing-column', (ths) => ths.map((th) => th.textContent))).toEqual([
        'Approved by owners (n/a: plans)',
        'Approved (n/a: plans)',
        'Refused (n/a: plans)',
        'Refusal rate (n/a: plans)',
        'Average rating (n/a: feedback)',
      ]);

      // The chart leaves out the stage of plans rather than drawing zeros, and says so.
      type Datasets = { data: { datasets: { label: string; data: (number | null)[] }[] } };
      const chart = await page.evaluate(() => {
        const c = (window as unknown as { Chart: { getChart(canvas: unknown): Datasets } }).Chart.getChart(document.querySelector('#funnel-chart'));
        return c.data.datasets.map((d) => ({ label: d.label, data: d.data }));
      });
      const stages = [
        ['Applications', 0],
        ['Funded', 2],
        ['Admitted', 3],
        ['Completed', 4],
      ] as const;
      expect(chart).toEqual(stages.map(([label, k]) => ({ label, data: subjects.rows.map((r) => r.values[k]) })));
      expect(await page.textContent('#chart-note')).toContain('approved by owners (plans (KS and the school owners) did not answer)');
      expect(await page.getAttribute('#funnel-chart', 'aria-label')).toContain('Missing: approved by owners');
      const screenshot = join(OUTPUT, 'insights-partners-down.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`insights page with plans and feedback down: ${screenshot}`);
    } finally {
      await h.restartSubgraph('plans');
      await h.restartSubgraph('feedback');
    }

    // Back up: the same page asked again shows every figure, and no mark is left.
    await page.reload();
    expect(await shown(page, year)).toBe('ready');
    expect(await page.isVisible('#missing')).toBe(false);
    expect(await page.$$eval('.missing-figure, th.missing-column, .column-missing', (els) => els.length)).toBe(0);

    // The catalogue down: it owns the year's figures (every partner's are asked through it), so there are
    // none to show: the errors and a clear status, no crash, no table of zeros.
    await h.stopSubgraph('catalogue');
    try {
      await page.reload();
      expect(await shown(page, year)).toBe('error');
      expect(await page.textContent('#status')).toMatch(/^No figures for \d{4}\/\d\d: the catalogue \(Udir\) did not answer/);
      expect(await page.textContent('#missing-text')).toContain('Figures from the catalogue (Udir) are missing');
      const errors = await page.$$eval('#error-list li', (items) => items.map((li) => li.textContent ?? ''));
      expect(errors.some((e) => e.includes('(SUBGRAPH_UNAVAILABLE at insights)'))).toBe(true);
      expect(await page.$$eval('#subject-table tbody tr, #county-table tbody tr', (rows) => rows.length)).toBe(0);
      // The picker keeps the year asked for, not marked "no round": the catalogue did not say.
      expect(await page.$$eval('#year option', (options) => options.map((o) => o.textContent))).toEqual([`${year}/${String(year + 1).slice(2)}`]);
    } finally {
      await h.restartSubgraph('catalogue');
    }
    expect(recorded.problems).toEqual([]);
    await context.close();
  }, 90_000);
});
