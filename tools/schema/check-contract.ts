/**
 * The public contract's part of `npm run schema:check` (check.ts): what a change does to the API of
 * callers without a token, the committed `schema/public.graphql` against the candidate supergraph's
 * contract (gateway/src/contract.ts), rated by graphql-inspector as the whole API schema is. A
 * breaking change here breaks anonymous clients even where the whole API schema keeps the element
 * (a public field newly guarded, or no longer tagged): check.ts refuses it as it refuses the API
 * schema's breaking changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as inspector from '@graphql-inspector/core';
import { publicContract } from '@partnerskap/gateway/contract';
import { buildSchema } from 'graphql';
import { type SchemaChange } from './check.js';
import { PUBLIC_FILE } from './compose.js';

/** The public contract's changes. */
export interface PublicContractCheck {
  /** The deployed side (the committed `schema/public.graphql`) has a contract. */
  before: boolean;
  /** The candidate supergraph has one (it tags something public). */
  after: boolean;
  /** Rated as the API schema's: a breaking one breaks callers without a token. */
  changes: { breaking: SchemaChange[]; dangerous: SchemaChange[]; safe: SchemaChange[] };
}

/** Reads the committed `schema/public.graphql` (undefined when there is none). */
export function readPublicSdl(file = PUBLIC_FILE): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/**
 * Compares a deployed public contract (its SDL, undefined for none) with a candidate supergraph's.
 * `apiBreaking` are the paths the whole API schema already reports as breaking: a contract change on
 * another path is said to be the contract's own. Throws when the candidate's contract contradicts
 * itself (a tagged element guarded), as `npm run compose` refuses it.
 */
export async function checkPublicContract(
  currentPublicSdl: string | undefined,
  candidateSupergraphSdl: string,
  apiBreaking: ReadonlySet<string>,
): Promise<PublicContractCheck> {
  const contract = publicContract(candidateSupergraphSdl);
  const result: PublicContractCheck = {
    before: currentPublicSdl !== undefined,
    after: contract !== undefined,
    changes: { breaking: [], dangerous: [], safe: [] },
  };
  if (currentPublicSdl === undefined || !contract) {
    if (result.after && !result.before) {
      result.changes.dangerous.push({
        type: 'CONTRACT_ADDED',
        message: `A public contract is introduced: callers without a token see only what is tagged @tag(name: "${contract!.tag}")`,
        reason: 'Whatever is not tagged leaves the API of callers without a token',
      });
    }
    if (result.before && !result.after) {
      result.changes.dangerous.push({
        type: 'CONTRACT_REMOVED',
        message: 'The public contract is gone: callers without a token are served the whole API schema again (its guarded fields refused)',
        reason: 'Every type becomes visible to callers without a token: review that none holds personal data',
      });
    }
    return result;
  }
  // Typed as read here: the inspector's `Change` leaves its `type` as `any`.
  const found: { type: string; path?: string; message: string; criticality: { level: string; reason?: string } }[] = await inspector.diff(
    buildSchema(currentPublicSdl),
    contract.apiSchema,
  );
  // A new element's description is part of its addition, not a change of its own.
  const added = new Set(found.filter((c) => c.type.endsWith('_ADDED') && !c.type.includes('DESCRIPTION')).map((c) => c.path));
  for (const change of found) {
    if (change.type.includes('DESCRIPTION') && added.has(change.path)) continue;
    const entry: SchemaChange = { type: change.type, message: change.message };
    if (change.path) entry.path = change.path;
    const level = change.criticality.level;
    if (level === 'BREAKING' && !(change.path && apiBreaking.has(change.path))) {
      entry.reason = 'Callers without a token lose it while the API schema keeps it: it is guarded now, or no longer tagged public';
    } else if (change.criticality.reason) entry.reason = change.criticality.reason;
    (level === 'BREAKING' ? result.changes.breaking : level === 'DANGEROUS' ? result.changes.dangerous : result.changes.safe).push(entry);
  }
  return result;
}

/** The contract's breaking changes that the API schema does not report too: those the public alone suffers. */
export function contractOnlyBreaking(check: PublicContractCheck, apiBreaking: ReadonlySet<string>): SchemaChange[] {
  return check.changes.breaking.filter((c) => !(c.path && apiBreaking.has(c.path)));
}
