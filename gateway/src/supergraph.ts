import { createHash } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import { type Guard, readGuards } from '@partnerskap/kit';
import { parse } from 'graphql';
import { type CostEstimator, createCostEstimator } from './cost.js';

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

/** A supergraph the gateway can serve, and what the gateway derives from it. */
export interface LoadedSupergraph {
  /** The SDL as composed and published (authorization links `for: SECURITY`). */
  sdl: string;
  /** What @apollo/gateway loads ({@link loadableSupergraph}). */
  loadable: string;
  /** A short id of the SDL (the first 12 hex digits of its SHA-256), for logs and `/ready`. */
  id: string;
  /** The subgraphs it names, with the URLs composed into it. */
  subgraphs: readonly { name: string; url: string }[];
  /** The `@authenticated` / `@requiresScopes` / `@policy` guards by `Type.field`. */
  guards: ReadonlyMap<string, Guard>;
  /** The static cost of an operation, from the SDL's `@cost` / `@listSize`. */
  estimateCost: CostEstimator;
}

/**
 * Validates a supergraph SDL as @apollo/gateway would load it (every check Apollo makes, in
 * production too) and derives what the gateway needs from it, or throws with the reason. Nothing
 * is composed here: composition happened before the file was published.
 */
export function readSupergraph(sdl: string): LoadedSupergraph {
  if (!/@link\(url: "https:\/\/specs\.apollo\.dev\/join\/v/.test(sdl)) throw new Error('not a supergraph: it links no join spec (was it composed with npm run compose?)');
  const loadable = loadableSupergraph(sdl);
  const supergraph = Supergraph.build(loadable, { validateSupergraph: true });
  // The API schema is what clients see: building it proves the gateway can serve this supergraph.
  supergraph.apiSchema().toGraphQLJSSchema();
  const subgraphs = supergraph.subgraphsMetadata().map(({ name, url }) => ({ name, url }));
  const document = parse(sdl);
  return {
    sdl,
    loadable,
    id: createHash('sha256').update(sdl).digest('hex').slice(0, 12),
    subgraphs,
    guards: readGuards(document),
    estimateCost: createCostEstimator(document),
  };
}
