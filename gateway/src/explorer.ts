import { fileURLToPath } from 'node:url';
import { type StaticAsset } from '@partnerskap/common';
import { CONTENT_TYPES, packageFile, pageAsset } from './pages.js';

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

/**
 * The files of the local explorer, by the path each is served at: the page, its start script and
 * style (`gateway/explorer/`), and from node_modules GraphiQL 3's browser build with React 18's
 * (GraphiQL 4 and later need a bundler). Nothing else under these folders is reachable.
 */
export function explorerAssets(): Record<string, StaticAsset> {
  const page = (file: string) => fileURLToPath(new URL(`../explorer/${file}`, import.meta.url));
  const asset = pageAsset(EXPLORER_CSP);
  const dependency = (name: string, file: string) => packageFile(name, file, `The explorer at ${EXPLORER_PATH}`);
  const { html: HTML, js: JS, css: CSS } = CONTENT_TYPES;
  return {
    [EXPLORER_PATH]: asset(page('index.html'), HTML),
    [`${EXPLORER_PATH}/`]: asset(page('index.html'), HTML),
    [`${EXPLORER_PATH}/explorer.js`]: asset(page('explorer.js'), JS),
    [`${EXPLORER_PATH}/explorer.css`]: asset(page('explorer.css'), CSS),
    [`${EXPLORER_PATH}/graphiql.min.js`]: asset(dependency('graphiql', 'graphiql.min.js'), JS),
    [`${EXPLORER_PATH}/graphiql.min.css`]: asset(dependency('graphiql', 'graphiql.min.css'), CSS),
    [`${EXPLORER_PATH}/react.production.min.js`]: asset(dependency('react', 'umd/react.production.min.js'), JS),
    [`${EXPLORER_PATH}/react-dom.production.min.js`]: asset(dependency('react-dom', 'umd/react-dom.production.min.js'), JS),
  };
}
