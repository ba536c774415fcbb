import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StaticAsset } from '@partnerskap/common';
import { CONTENT_TYPES, pageAsset } from './pages.js';

/**
 * The insights page's Content-Security-Policy: scripts, styles and requests from the gateway's own
 * origin only (nothing inline, no CDN: partners run it on closed networks), never framed.
 */
export const INSIGHTS_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/** Where the page is served. */
export const INSIGHTS_PATH = '/insights';

/**
 * The files of the strategy insights page, by the path each is served at: the page, its script and
 * style (`gateway/insights/`), the registered operation it sends (`operations/insights-funnel.graphql`,
 * so the page asks exactly what the operations tests validate) and Chart.js's UMD build from
 * node_modules. Nothing else under these folders is reachable.
 */
export function insightsAssets(): Record<string, StaticAsset> {
  const page = (file: string) => fileURLToPath(new URL(`../insights/${file}`, import.meta.url));
  // chart.js exports no `dist/*` subpath: its main entry sits in dist/, beside the UMD build.
  let chart: string;
  try {
    chart = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  } catch (err) {
    throw new Error(`The insights page needs chart.js, a dependency of @partnerskap/gateway (npm install): ${(err as Error).message}`, { cause: err });
  }
  const asset = pageAsset(INSIGHTS_CSP);
  const { html: HTML, js: JS, css: CSS, text: TEXT } = CONTENT_TYPES;
  return {
    [INSIGHTS_PATH]: asset(page('index.html'), HTML),
    [`${INSIGHTS_PATH}/`]: asset(page('index.html'), HTML),
    [`${INSIGHTS_PATH}/insights.js`]: asset(page('insights.js'), JS),
    [`${INSIGHTS_PATH}/insights.css`]: asset(page('insights.css'), CSS),
    [`${INSIGHTS_PATH}/insights-funnel.graphql`]: asset(fileURLToPath(new URL('../../operations/insights-funnel.graphql', import.meta.url)), TEXT),
    [`${INSIGHTS_PATH}/chart.umd.js`]: asset(chart, JS),
  };
}
