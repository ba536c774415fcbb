/** The authorization features @apollo/gateway 2.14 refuses to load (`for: SECURITY`), which we enforce ourselves. */
const SECURITY_LINK = /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes|policy)\/v[0-9.]+"), for: SECURITY\)/g;

/**
 * The supergraph as @apollo/gateway will load it: the `for: SECURITY` purpose removed from the
 * authorization links (it would refuse them: "feature ... is for: SECURITY but is unsupported").
 * The directives stay in the SDL; the subgraphs enforce them, and the gateway reads them from
 * the original SDL.
 */
export function loadableSupergraph(sdl: string): string {
  return sdl.replace(SECURITY_LINK, '$1)');
}
