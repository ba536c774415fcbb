import { type ApolloServerPlugin, type LandingPage } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';

/** Options of {@link useLandingPage}. */
export interface LandingPageOptions {
  /** The local explorer's path, named when Sandbox cannot load (e.g. `/graphiql`). */
  explorerPath: string;
}

/** Apollo's fallback for embedded Sandbox (@apollo/server 5), shown when its CDN cannot be reached. */
const OFFLINE = '<p>Apollo Sandbox cannot be loaded; it appears that you might be offline.</p>';

/** The fallback with the way out: the explorer the gateway serves itself. */
const offlineWithExplorer = (path: string) =>
  `${OFFLINE}\n  <p>The local explorer works offline: <a href="${path}">${path}</a> (GraphiQL, served by this gateway).</p>`;

/**
 * Apollo Sandbox as the landing page (development), whose offline fallback names the local
 * explorer: Sandbox loads from Apollo's CDN, which a closed network or a train does not reach.
 * Should Apollo word its fallback otherwise, the page is served as Apollo renders it.
 */
export function useLandingPage(options: LandingPageOptions): ApolloServerPlugin {
  const sandbox = ApolloServerPluginLandingPageLocalDefault({ embed: true });
  const withExplorer = (html: string) => html.replace(OFFLINE, offlineWithExplorer(options.explorerPath));
  return {
    async serverWillStart(service) {
      const listener = await sandbox.serverWillStart?.(service);
      const render = listener?.renderLandingPage?.bind(listener);
      if (!listener || !render) return listener;
      return {
        ...listener,
        async renderLandingPage(): Promise<LandingPage> {
          const { html } = await render();
          // A function renders each request's page (a fresh CSP nonce each time).
          return { html: typeof html === 'string' ? withExplorer(html) : async () => withExplorer(await html()) };
        },
      };
    },
  };
}
