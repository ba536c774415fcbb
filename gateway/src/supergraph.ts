import { createHash } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import { type Guard, readGuards } from '@partnerskap/common';
import { type DocumentNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { type CostEstimator, createCostEstimator } from './cost.js';
import { type PublicContract, publicContract } from './contract.js';
import { overrideLabelsOf, readOverrides } from './override.js';

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
  /** By `Type.field`: the fields of that type whose `@requires` names it (a failed fetch of it leaves them missing too). */
  requiredBy: ReadonlyMap<string, readonly string[]>;
  /** The labels of its progressive `@override`s (as `percent(10)`), each with the fields it moves: planned per request (override.ts). */
  overrideLabels: ReadonlyMap<string, readonly string[]>;
  /** What callers without a token see: the API schema of its `@tag(name: "public")` elements (contract.ts); none when nothing is tagged. */
  contract?: PublicContract;
}

/** The top-level field names of each `@join__field(requires:)`, turned round: required field → the fields requiring it. */
function readRequiredBy(document: DocumentNode): Map<string, string[]> {
  const requiredBy = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    for (const field of definition.fields ?? []) {
      for (const directive of field.directives ?? []) {
        if (directive.name.value !== 'join__field') continue;
        const requires = directive.arguments?.find((a) => a.name.value === 'requires')?.value;
        if (requires?.kind !== Kind.STRING) continue;
        const selection = parse(`{ ${requires.value} }`).definitions[0] as OperationDefinitionNode;
        for (const required of selection.selectionSet.selections) {
          if (required.kind !== Kind.FIELD) continue;
          const key = `${definition.name.value}.${required.name.value}`;
          requiredBy.set(key, [...new Set([...(requiredBy.get(key) ?? []), field.name.value])]);
        }
      }
    }
  }
  return requiredBy;
}

/**
 * Validates a supergraph SDL as @apollo/gateway would load it (every check Apollo makes, in
 * production too) and derives what the gateway needs from it, or throws with the reason. Nothing
 * is composed here: composition happened before the file was published.
 */
export function readSupergraph(sdl: string): LoadedSupergraph {
  if (!/@link\(url: "https:\/\/specs\.apollo\.dev\/join\/v/.test(sdl))
    throw new Error('not a supergraph: it links no join spec (was it composed with npm run compose?)');
  const loadable = loadableSupergraph(sdl);
  const supergraph = Supergraph.build(loadable, { validateSupergraph: true });
  // The API schema is what clients see: building it proves the gateway can serve this supergraph.
  supergraph.apiSchema().toGraphQLJSSchema();
  const subgraphs = supergraph.subgraphsMetadata().map(({ name, url }) => ({ name, url }));
  const document = parse(sdl);
  // A contract that contradicts itself (a tagged field guarded) refuses the supergraph: what the public sees must be known.
  const contract = publicContract(sdl);
  return {
    sdl,
    loadable,
    id: createHash('sha256').update(sdl).digest('hex').slice(0, 12),
    subgraphs,
    guards: readGuards(document),
    estimateCost: createCostEstimator(document),
    requiredBy: readRequiredBy(document),
    overrideLabels: overrideLabelsOf(readOverrides(document)),
    ...(contract ? { contract } : {}),
  };
}
