import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StaticAsset } from '@partnerskap/kit';

/** Where the local explorer (GraphiQL) is served, in development: Apollo Sandbox stays at `/`. */
export const EXPLORER_PATH = '/graphiql';

/**
 * The explorer's Content-Security-Policy: scripts, styles and requests from the gateway's own origin
 * only (no CDN: it works offline and on closed networks; nothing inline, no eval), never framed.
 * GraphiQL's bundled fonts and icons are `data:` URLs; the styles its editors and panes set go
 * through the DOM's style properties, which the policy does not govern, so no 'unsafe-inline'.
 */
export const EXPLORER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HEADERS = {
  'content-security-policy': EXPLORER_CSP,
  'referrer-policy': 'no-referrer',
  // frame-ancestors says it already; browsers that predate it read this one.
  'x-frame-options': 'DENY',
};

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** A file of an installed package (a dependency of @partnerskap/gateway), with the reason it is needed when it is missing. */
function packageFile(name: string, file: string): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), file);
  } catch (err) {
    throw new Error(`The explorer at ${EXPLORER_PATH} needs ${name}, a dependency of @partnerskap/gateway (npm install): ${(err as Error).message}`);
  }
}

/**
 * The files of the local explorer, by the path each is served at: the page, its start script and
 * style (`gateway/explorer/`), and from node_modules GraphiQL 3's browser build with React 18's
 * (GraphiQL 4 and later need a bundler). Nothing else under these folders is reachable.
 */
export function explorerAssets(): Record<string, StaticAsset> {
  const page = (file: string) => fileURLToPath(new URL(`../explorer/${file}`, import.meta.url));
  const asset = (file: string, contentType: string): StaticAsset => ({ file, contentType, headers: HEADERS });
  return {
    [EXPLORER_PATH]: asset(page('index.html'), 'text/html; charset=utf-8'),
    [`${EXPLORER_PATH}/`]: asset(page('index.html'), 'text/html; charset=utf-8'),
    [`${EXPLORER_PATH}/explorer.js`]: asset(page('explorer.js'), JS),
    [`${EXPLORER_PATH}/explorer.css`]: asset(page('explorer.css'), CSS),
    [`${EXPLORER_PATH}/graphiql.min.js`]: asset(packageFile('graphiql', 'graphiql.min.js'), JS),
    [`${EXPLORER_PATH}/graphiql.min.css`]: asset(packageFile('graphiql', 'graphiql.min.css'), CSS),
    [`${EXPLORER_PATH}/react.production.min.js`]: asset(packageFile('react', 'umd/react.production.min.js'), JS),
    [`${EXPLORER_PATH}/react-dom.production.min.js`]: asset(packageFile('react-dom', 'umd/react-dom.production.min.js'), JS),
  };
}
