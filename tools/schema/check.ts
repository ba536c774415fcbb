/**
 * `npm run schema:check -- <subgraph> [--sdl <file>] [--allow-breaking] [--json]`: what a change to
 * one subgraph's SDL would do to the deployed supergraph (`schema/supergraph.graphql`) before it
 * is deployed: composition errors and hints, breaking / dangerous / safe changes of the API
 * schema, authorization guards and costs changed, and the registered operations it breaks (every
 * partner's trusted documents, as `npm run documents` registers them), by partner.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as graphql from 'graphql';
import * as inspector from '@graphql-inspector/core';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { type ConstDirectiveNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, Kind, type OperationDefinitionNode } from 'graphql';
import { type Guard } from '@partnerskap/common';
import { DEFAULT_LIMITS, DEFAULT_MANIFEST, type ManifestOperation, createCostEstimator, parseManifest } from '@partnerskap/gateway';
import { type PublicContractCheck, checkPublicContract, contractOnlyBreaking, readPublicSdl } from './check-contract.js';
import { type OverrideChange, compareOverrides, formatOverrideChange } from './check-overrides.js';
import {
  type NullabilityViolation,
  type RegisteredSubgraph,
  SUBGRAPHS,
  SUPERGRAPH_FILE,
  nullabilityViolations,
  readNullabilityExceptions,
  readSdl,
  unacceptedHints,
} from './compose.js';

/** Why the check could not run at all (the CLI exits 2): codes, as the rest of the project's errors. */
export const CheckErrorCode = {
  UNKNOWN_SUBGRAPH: 'UNKNOWN_SUBGRAPH',
  SDL_NOT_FOUND: 'SDL_NOT_FOUND',
  BAD_USAGE: 'BAD_USAGE',
} as const;
/** One of {@link CheckErrorCode}. */
export type CheckErrorCode = (typeof CheckErrorCode)[keyof typeof CheckErrorCode];

const checkError = (code: CheckErrorCode, message: string): Error & { code: CheckErrorCode } => Object.assign(new Error(message), { code });

/** What {@link checkSubgraph} checks. */
export interface CheckOptions {
  /** The registered subgraph the candidate SDL replaces. */
  name: string;
  /** The candidate SDL. Default: the working copy of `schema/<name>.graphql`. */
  candidateSdl?: string;
  /** The other subgraphs' SDL by name. Default: the working copies of `schema/<name>.graphql`. */
  sdlOf?: (name: string) => string;
  /** The registered subgraphs, in composition order. Default: `schema/subgraphs.json`. */
  subgraphs?: readonly RegisteredSubgraph[];
  /** The deployed supergraph to compare with. Default: `schema/supergraph.graphql`. */
  currentSupergraphSdl?: string;
  /** The registered operations (`*.graphql`, with `variables.json`). Default: `operations/`. */
  operationsDir?: string;
  /**
   * Every partner's registered documents (the registry of trusted documents, `npm run documents`):
   * those not in `operationsDir` are validated too, and what breaks is reported by partner (`clientName`).
   * Default: `operations/manifest.json` (none when it does not exist).
   */
  registeredDocuments?: readonly ManifestOperation[];
  /** The gateway's cost limit an operation must stay within. Default: the gateway's default (`LIMIT_COST`, 5,000). */
  costLimit?: number;
  /** Breaking changes and broken operations are reported but do not refuse the change (exit 0). Default false. */
  allowBreaking?: boolean;
  /** The reviewed exceptions to the nullability rule. Default: `schema/nullability-exceptions.json`. */
  nullabilityExceptions?: Readonly<Record<string, string>>;
  /** The deployed public contract (its API schema's SDL) to compare with. Default: the committed `schema/public.graphql`; null: none. */
  currentPublicSdl?: string | null;
}

/** One change of the API schema, as `@graphql-inspector/core` reports it. */
export interface SchemaChange {
  /** Its inspector type, as `FIELD_REMOVED`. */
  type: string;
  message: string;
  /** The schema coordinate, as `Feedback.comment`. */
  path?: string;
  /** Why it is breaking or dangerous. */
  reason?: string;
}

/** An authorization guard (`@authenticated`, `@requiresScopes`, `@policy`) added, removed or changed on a type or field. */
export interface GuardChange {
  /** The type or field, as `Feedback.comment`. */
  coordinate: string;
  kind: 'added' | 'removed' | 'changed';
  /** The guard's directives before and after, as in the SDL; absent when there was none. */
  before?: string;
  after?: string;
  /** Someone the old guard refused may now see it: a security change to review. */
  loosened: boolean;
  /** Someone the old guard admitted is now refused. */
  tightened: boolean;
  /** The type or field itself is new or gone (then the guard came or went with it). */
  element?: 'new' | 'removed';
}

/** A `@cost` or `@listSize` added, removed or changed. */
export interface CostChange {
  /** The type, field, argument or input field, as `Study.rating` or `Query.statements(first:)`. */
  coordinate: string;
  directive: '@cost' | '@listSize';
  kind: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
  element?: 'new' | 'removed';
}

/** A registered operation's estimated cost (the gateway's estimate) before and after, with its sample variables and at the largest page. */
export interface OperationCost {
  operation: string;
  file: string;
  before: number;
  after: number;
  /** With every `first` at the largest page (100), when the operation takes `first`. */
  fullPageBefore?: number;
  fullPageAfter?: number;
}

/** A registered operation that is valid against the deployed supergraph and would not be after the change. */
export interface BrokenOperation {
  operation: string;
  /** As `operations/union-overview.graphql`. */
  file: string;
  /** The validation messages against the new API schema, or why the gateway would refuse it. */
  errors: string[];
}

/** The structured result of {@link checkSubgraph}. */
export interface CheckResult {
  subgraph: string;
  /** The summary line, as `feedback: 1 breaking change, 2 operations broken`. */
  summary: string;
  /** Nothing refuses the change: it composes, and breaks nothing. */
  ok: boolean;
  /** 0: may be deployed (or `allowBreaking`); 1: refused. */
  exitCode: 0 | 1;
  /** The subgraph is not in the deployed supergraph yet: everything it adds is new. */
  newSubgraph: boolean;
  composition: { errors: { code: string; message: string }[]; hints: { code: string; message: string }[] };
  changes: { breaking: SchemaChange[]; dangerous: SchemaChange[]; safe: SchemaChange[] };
  guards: GuardChange[];
  costs: CostChange[];
  /** Fields that break "a partner's outage is local" (compose.ts): refused even with `allowBreaking`, as `npm run compose` refuses them. */
  nullability: NullabilityViolation[];
  /** Fields moved between subgraphs with `@override` whose move the change stages, raises, completes or ends (check-overrides.ts). */
  overrides: OverrideChange[];
  /** The public contract's changes (check-contract.ts): what callers without a token see. A breaking one refuses the change. */
  contract: PublicContractCheck;
  operations: {
    broken: BrokenOperation[];
    /** Operations already invalid against the deployed supergraph (not this change's doing). */
    alreadyInvalid: BrokenOperation[];
    /** Registered operations whose estimated cost changes. */
    costs: OperationCost[];
    /** The broken operations by the partner that registered them (`clientName` in operations/manifest.json), partners in name order. */
    byPartner: { partner: string; operations: string[] }[];
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPERATIONS_DIR = fileURLToPath(new URL('../../operations/', import.meta.url));

/** Checks a candidate SDL for one subgraph against the deployed supergraph; see {@link CheckResult}. */
export async function checkSubgraph(options: CheckOptions): Promise<CheckResult> {
  const { name, sdlOf = readSdl, subgraphs = SUBGRAPHS, operationsDir = OPERATIONS_DIR, costLimit = DEFAULT_LIMITS.cost, allowBreaking = false } = options;
  if (!subgraphs.some((s) => s.name === name)) {
    throw checkError(
      CheckErrorCode.UNKNOWN_SUBGRAPH,
      `unknown subgraph "${name}": the registered ones are ${subgraphs.map((s) => s.name).join(', ')} (a new partner is added to schema/subgraphs.json first)`,
    );
  }
  const sdl = (n: string, candidate?: string): string => {
    if (candidate !== undefined) return candidate;
    try {
      return sdlOf(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      throw checkError(CheckErrorCode.SDL_NOT_FOUND, `schema/${n}.graphql does not exist${n === name ? ': pass the candidate with --sdl <file>' : ''}`);
    }
  };
  const candidateSdl = sdl(name, options.candidateSdl);
  const currentSdl = options.currentSupergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8');
  const current = Supergraph.build(currentSdl, { supportedFeatures: null });
  const newSubgraph = !current.subgraphs().get(name);

  const composition = composeCandidate(subgraphs.map((s) => ({ ...s, sdl: sdl(s.name, s.name === name ? candidateSdl : undefined) })));
  const result: Omit<CheckResult, 'summary' | 'ok' | 'exitCode'> = {
    subgraph: name,
    newSubgraph,
    composition: { errors: composition.errors, hints: composition.hints },
    changes: { breaking: [], dangerous: [], safe: [] },
    guards: [],
    costs: [],
    nullability: [],
    overrides: [],
    contract: { before: false, after: false, changes: { breaking: [], dangerous: [], safe: [] } },
    operations: { broken: [], alreadyInvalid: [], costs: [], byPartner: [] },
  };
  if (composition.supergraphSdl !== undefined) {
    result.nullability = nullabilityViolations(composition.supergraphSdl, options.nullabilityExceptions ?? readNullabilityExceptions());
    const next = Supergraph.build(composition.supergraphSdl, { supportedFeatures: null });
    const before = current.apiSchema().toGraphQLJSSchema();
    const after = next.apiSchema().toGraphQLJSSchema();
    // Typed as read here: the inspector's `Change` leaves its `type` as `any`.
    const found: { type: string; path?: string; message: string; criticality: { level: string; reason?: string } }[] = await inspector.diff(before, after);
    // A new element's description is part of its addition, not a change of its own.
    const added = new Set(found.filter((c) => c.type.endsWith('_ADDED') && !c.type.includes('DESCRIPTION')).map((c) => c.path));
    for (const change of found) {
      if (change.type.includes('DESCRIPTION') && added.has(change.path)) continue;
      const entry: SchemaChange = { type: change.type, message: change.message };
      if (change.path) entry.path = change.path;
      if (change.criticality.reason) entry.reason = change.criticality.reason;
      const level = change.criticality.level;
      (level === 'BREAKING' ? result.changes.breaking : level === 'DANGEROUS' ? result.changes.dangerous : result.changes.safe).push(entry);
    }
    const oldDoc = graphql.parse(currentSdl);
    const newDoc = graphql.parse(composition.supergraphSdl);
    result.guards = compareGuards(oldDoc, newDoc);
    result.costs = compareCosts(oldDoc, newDoc);
    result.overrides = compareOverrides(oldDoc, newDoc);
    try {
      const current = options.currentPublicSdl === null ? undefined : (options.currentPublicSdl ?? readPublicSdl());
      result.contract = await checkPublicContract(current, composition.supergraphSdl, apiBreakingPaths(result.changes));
    } catch (e) {
      // A tagged element that is guarded: npm run compose refuses it, and the gateway would refuse the supergraph.
      result.composition.errors.push({ code: 'PUBLIC_CONTRACT_INVALID', message: (e as Error).message });
    }
    const registered = options.registeredDocuments ?? readRegistry();
    result.operations = checkOperations({ operationsDir, registered, before, after, currentSdl, nextSdl: composition.supergraphSdl, costLimit });
  }
  const refused =
    result.composition.errors.length > 0 ||
    result.nullability.length > 0 ||
    result.changes.breaking.length > 0 ||
    result.contract.changes.breaking.length > 0 ||
    result.operations.broken.length > 0;
  const exitCode = result.composition.errors.length > 0 || result.nullability.length > 0 || (refused && !allowBreaking) ? 1 : 0;
  const { subgraph, ...findings } = result;
  return { subgraph, summary: summarize(result, allowBreaking), ok: !refused, exitCode, ...findings };
}

/** Composes with error codes (`compose()` in compose.ts keeps only the messages). */
function composeCandidate(subgraphs: { name: string; url: string; sdl: string }[]): {
  supergraphSdl?: string;
  errors: { code: string; message: string }[];
  hints: { code: string; message: string }[];
} {
  const services = [];
  for (const { name, url, sdl } of subgraphs) {
    try {
      services.push({ name, url, typeDefs: graphql.parse(sdl) });
    } catch (e) {
      return { errors: [{ code: 'INVALID_GRAPHQL', message: `[${name}] ${(e as Error).message}` }], hints: [] };
    }
  }
  const composed = composeServices(services);
  const hints = unacceptedHints((composed.hints ?? []).map((h) => ({ code: h.definition.code, message: h.message })));
  if (composed.errors) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- composition's codes are strings; anything else is shown as it comes
    return { errors: composed.errors.map((e) => ({ code: String(e.extensions.code ?? 'COMPOSITION_ERROR'), message: e.message })), hints };
  }
  return { supergraphSdl: composed.supergraphSdl, errors: [], hints };
}

// Guards and costs are compared on the supergraphs, not the subgraph SDL: they are what the gateway
// reads and what composition merged from every subgraph that declares the element.
const GUARD_DIRECTIVES = new Set(['authenticated', 'requiresScopes', 'policy']);
const COST_DIRECTIVES: Record<string, '@cost' | '@listSize'> = {
  cost: '@cost',
  listSize: '@listSize',
  cost__listSize: '@listSize',
  federation__cost: '@cost',
  federation__listSize: '@listSize',
};

/** Every type, field, argument and input field of the supergraph (join and link types left out) with its directives. */
function elements(doc: DocumentNode): Map<string, readonly ConstDirectiveNode[]> {
  const found = new Map<string, readonly ConstDirectiveNode[]>();
  for (const def of doc.definitions) {
    if (!graphql.isTypeDefinitionNode(def) || def.name.value.includes('__')) continue;
    const type = def.name.value;
    found.set(type, def.directives ?? []);
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION) {
      for (const field of def.fields ?? []) {
        found.set(`${type}.${field.name.value}`, field.directives ?? []);
        for (const arg of field.arguments ?? []) found.set(`${type}.${field.name.value}(${arg.name.value}:)`, arg.directives ?? []);
      }
    } else if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
      for (const field of def.fields ?? []) found.set(`${type}.${field.name.value}`, field.directives ?? []);
    } else if (def.kind === Kind.ENUM_TYPE_DEFINITION) {
      for (const value of def.values ?? []) found.set(`${type}.${value.name.value}`, value.directives ?? []);
    }
  }
  return found;
}

const printDirectives = (directives: readonly ConstDirectiveNode[]): string => directives.map((d) => graphql.print(d)).join(' ');

function stringLists(directive: ConstDirectiveNode, argument: string): string[][] {
  const value = directive.arguments?.find((a) => a.name.value === argument)?.value;
  return value ? (graphql.valueFromASTUntyped(value) as string[][]) : [];
}

function guardOf(directives: readonly ConstDirectiveNode[]): Guard {
  const guard: Guard = { authenticated: false };
  for (const d of directives) {
    if (d.name.value === 'authenticated') guard.authenticated = true;
    if (d.name.value === 'requiresScopes') guard.scopes = [...(guard.scopes ?? []), ...stringLists(d, 'scopes')];
    if (d.name.value === 'policy') guard.policies = [...(guard.policies ?? []), ...stringLists(d, 'policies')];
  }
  return guard;
}

/**
 * Whether `after` admits a caller `before` refused, for one requirement in the directives' form
 * (any inner list, all of it held): yes when it is dropped, or when one of its alternatives
 * asks for less than every old alternative.
 */
function widens(before: string[][] | undefined, after: string[][] | undefined): boolean {
  if (!before) return false;
  if (!after) return true;
  return after.some((alt) => !before.some((old) => old.every((s) => alt.includes(s))));
}

/** Any guard refuses the public (as the kit enforces it). */
const signedIn = (g: Guard): boolean => g.authenticated || g.scopes !== undefined || g.policies !== undefined;

const loosens = (before: Guard, after: Guard): boolean =>
  (signedIn(before) && !signedIn(after)) || widens(before.scopes, after.scopes) || widens(before.policies, after.policies);

/** Guards added, removed or changed on a type or field between two supergraphs. */
export function compareGuards(before: DocumentNode, after: DocumentNode): GuardChange[] {
  const guarded = (doc: DocumentNode) => {
    const all = elements(doc);
    const guards = new Map<string, readonly ConstDirectiveNode[]>();
    for (const [coordinate, directives] of all) {
      const own = directives.filter((d) => GUARD_DIRECTIVES.has(d.name.value));
      if (own.length > 0) guards.set(coordinate, own);
    }
    return { all, guards };
  };
  const old = guarded(before);
  const now = guarded(after);
  const changes: GuardChange[] = [];
  for (const coordinate of new Set([...old.guards.keys(), ...now.guards.keys()])) {
    const a = old.guards.get(coordinate);
    const b = now.guards.get(coordinate);
    const beforeText = a && printDirectives(a);
    const afterText = b && printDirectives(b);
    if (beforeText === afterText) continue;
    const element = !old.all.has(coordinate) ? 'new' : !now.all.has(coordinate) ? 'removed' : undefined;
    const oldGuard = guardOf(a ?? []);
    const newGuard = guardOf(b ?? []);
    // A guard that comes or goes with its element opens nothing up and closes nothing down.
    const change: GuardChange = {
      coordinate,
      kind: !a ? 'added' : !b ? 'removed' : 'changed',
      loosened: !element && loosens(oldGuard, newGuard),
      tightened: !element && loosens(newGuard, oldGuard),
    };
    if (beforeText) change.before = beforeText;
    if (afterText) change.after = afterText;
    if (element) change.element = element;
    changes.push(change);
  }
  return changes.sort((x, y) => x.coordinate.localeCompare(y.coordinate));
}

/** `@cost` and `@listSize` added, removed or changed between two supergraphs. */
export function compareCosts(before: DocumentNode, after: DocumentNode): CostChange[] {
  const costs = (doc: DocumentNode) => {
    const all = elements(doc);
    const found = new Map<string, string>();
    for (const [coordinate, directives] of all) {
      for (const d of directives) {
        const directive = COST_DIRECTIVES[d.name.value];
        if (directive) found.set(`${coordinate} ${directive}`, graphql.print({ ...d, name: { kind: Kind.NAME, value: directive.slice(1) } }));
      }
    }
    return { all, found };
  };
  const old = costs(before);
  const now = costs(after);
  const changes: CostChange[] = [];
  for (const key of new Set([...old.found.keys(), ...now.found.keys()])) {
    const a = old.found.get(key);
    const b = now.found.get(key);
    if (a === b) continue;
    const [coordinate = '', directive = '@cost'] = key.split(' ') as [string, '@cost' | '@listSize'];
    const change: CostChange = { coordinate, directive, kind: !a ? 'added' : !b ? 'removed' : 'changed' };
    if (a) change.before = a;
    if (b) change.after = b;
    if (!old.all.has(coordinate)) change.element = 'new';
    else if (!now.all.has(coordinate)) change.element = 'removed';
    changes.push(change);
  }
  return changes.sort((x, y) => x.coordinate.localeCompare(y.coordinate) || x.directive.localeCompare(y.directive));
}

interface OperationCheckOptions {
  operationsDir: string;
  registered: readonly ManifestOperation[];
  before: GraphQLSchema;
  after: GraphQLSchema;
  currentSdl: string;
  nextSdl: string;
  costLimit: number;
}

/** Validates each registered operation against both API schemas and estimates its cost against both supergraphs. */
function checkOperations({ operationsDir, registered, before, after, currentSdl, nextSdl, costLimit }: OperationCheckOptions): CheckResult['operations'] {
  const files = readdirSync(operationsDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort();
  let samples: Record<string, { variables?: Record<string, unknown> }> = {};
  try {
    samples = JSON.parse(readFileSync(resolve(operationsDir, 'variables.json'), 'utf8')) as typeof samples;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Each operation is validated alone (with the file's fragments), so a file of several names the right one.
  const rules = graphql.specifiedRules.filter((r) => r !== graphql.NoUnusedFragmentsRule);
  const costBefore = createCostEstimator(currentSdl);
  const costAfter = createCostEstimator(nextSdl);
  const result: CheckResult['operations'] = { broken: [], alreadyInvalid: [], costs: [], byPartner: [] };
  // The files of operationsDir (with their sample variables), then every other registered document (partners' own, the subgraphs').
  const inFiles = files.map((name) => ({
    file: relative(ROOT, resolve(operationsDir, name)) || name,
    text: readFileSync(resolve(operationsDir, name), 'utf8'),
    name,
  }));
  const named = new Set(
    inFiles.flatMap(({ text }) => graphql.parse(text).definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []))),
  );
  const registry = relative(ROOT, DEFAULT_MANIFEST);
  const sources = [...inFiles, ...registered.filter((d) => !named.has(d.name)).map((d) => ({ file: registry, text: d.body, name: '' }))];
  for (const { file, text, name } of sources) {
    const document = graphql.parse(text);
    const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
    const variables = samples[name]?.variables ?? {};
    for (const op of document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
      const operation = op.name?.value ?? '(anonymous)';
      const alone: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...fragments] };
      const wasValid = graphql.validate(before, alone, rules).length === 0;
      const errors = graphql.validate(after, alone, rules).map((e) => e.message);
      if (!wasValid) {
        result.alreadyInvalid.push({ operation, file, errors: graphql.validate(before, alone, rules).map((e) => e.message) });
        continue;
      }
      const cost: OperationCost = { operation, file, before: costBefore(alone, variables, op.name?.value), after: costAfter(alone, variables, op.name?.value) };
      const takesFirst = op.variableDefinitions?.some((v) => v.variable.name.value === 'first');
      if (takesFirst) {
        const fullPage = { ...variables, first: DEFAULT_LIMITS.pageSize };
        cost.fullPageBefore = costBefore(alone, fullPage, op.name?.value);
        cost.fullPageAfter = costAfter(alone, fullPage, op.name?.value);
      }
      if (cost.before !== cost.after || cost.fullPageBefore !== cost.fullPageAfter) result.costs.push(cost);
      const worstBefore = Math.max(cost.before, cost.fullPageBefore ?? 0);
      const worstAfter = Math.max(cost.after, cost.fullPageAfter ?? 0);
      if (errors.length === 0 && worstAfter > costLimit && worstBefore <= costLimit) {
        errors.push(
          `its estimated cost ${fmt(worstAfter)}${worstAfter === cost.fullPageAfter ? ` (first: ${DEFAULT_LIMITS.pageSize})` : ''} is over the gateway's cost limit of ${fmt(costLimit)} (was ${fmt(worstBefore)}): the gateway would refuse it with LIMIT_EXCEEDED`,
        );
      }
      if (errors.length > 0) result.broken.push({ operation, file, errors });
    }
  }
  // Which partner's frontends break: the registry's clientName of each broken operation.
  const partnerOf = new Map(registered.map((d) => [d.name, d.clientName ?? '(no partner)']));
  const byPartner = new Map<string, string[]>();
  for (const { operation } of result.broken) {
    const partner = partnerOf.get(operation) ?? '(not registered)';
    byPartner.set(partner, [...(byPartner.get(partner) ?? []), operation]);
  }
  result.byPartner = [...byPartner].sort(([a], [b]) => a.localeCompare(b)).map(([partner, operations]) => ({ partner, operations }));
  return result;
}

/** The committed registry of trusted documents (none before `npm run documents` has written one). */
function readRegistry(): ManifestOperation[] {
  let text: string;
  try {
    text = readFileSync(DEFAULT_MANIFEST, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseManifest(text, relative(ROOT, DEFAULT_MANIFEST)).operations;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The paths the API schema's breaking changes name (the public contract reports its own others apart). */
const apiBreakingPaths = (changes: CheckResult['changes']): Set<string> => new Set(changes.breaking.flatMap((c) => (c.path ? [c.path] : [])));

function summarize(result: Omit<CheckResult, 'summary' | 'ok' | 'exitCode'>, allowBreaking: boolean): string {
  const { composition, changes, guards, costs, operations } = result;
  // The contract's changes on paths the API schema already reports are counted there.
  const publicOnly = contractOnlyBreaking(result.contract, apiBreakingPaths(changes)).length;
  const publicOther = result.contract.changes.dangerous.length + result.contract.changes.safe.length;
  const review: string[] = [];
  const loosened = guards.filter((g) => g.loosened).length;
  if (loosened > 0) review.push(`${plural(loosened, 'guard')} loosened`);
  if (changes.dangerous.length > 0) review.push(plural(changes.dangerous.length, 'dangerous change'));
  const contractDangerous = result.contract.changes.dangerous.length;
  if (contractDangerous > 0) review.push(`${plural(contractDangerous, 'dangerous change')} of the public contract`);
  if (composition.hints.length > 0) review.push(plural(composition.hints.length, 'composition hint'));
  const toReview = review.length > 0 ? `; to review: ${review.join(', ')}` : '';
  if (composition.errors.length > 0) return `${result.subgraph}: does not compose (${plural(composition.errors.length, 'error')})${toReview}`;
  if (result.nullability.length > 0) return `${result.subgraph}: ${plural(result.nullability.length, 'field')} against the nullability rule${toReview}`;
  if (changes.breaking.length > 0 || publicOnly > 0 || operations.broken.length > 0) {
    const parts = [
      changes.breaking.length > 0 && plural(changes.breaking.length, 'breaking change'),
      publicOnly > 0 && `${plural(publicOnly, 'breaking change')} of the public contract`,
      operations.broken.length > 0 ? `${plural(operations.broken.length, 'operation')} broken` : 'no registered operation broken',
    ].filter((p): p is string => typeof p === 'string');
    return `${result.subgraph}: ${parts.join(', ')}${allowBreaking ? ' (allowed by --allow-breaking)' : ''}${toReview}`;
  }
  const additions = changes.safe.filter((c) => c.type.endsWith('_ADDED')).length;
  const parts = [
    additions > 0 && plural(additions, 'addition'),
    changes.safe.length > additions && plural(changes.safe.length - additions, 'other safe change'),
    guards.length > 0 && plural(guards.length, 'guard change'),
    costs.length > 0 && plural(costs.length, 'cost change'),
    result.overrides.length > 0 && plural(result.overrides.length, 'field move'),
    publicOther > 0 && plural(publicOther, 'public contract change'),
  ].filter((p): p is string => typeof p === 'string');
  if (parts.length === 0 && composition.hints.length === 0) return `${result.subgraph}: no changes to the supergraph`;
  return `${result.subgraph}: safe to deploy (${parts.join(', ') || 'no changes'})${toReview}`;
}

/** The human-readable report: the summary line first, then one section per kind of finding. */
export function formatCheck(result: CheckResult): string {
  const lines = [result.summary];
  const section = (title: string, items: string[], count = items.length) => {
    if (items.length === 0) return;
    lines.push('', `${title} (${count})`, ...items);
  };
  const change = (c: SchemaChange) => `  ${c.message}`;
  if (result.newSubgraph) lines.push('', `${result.subgraph} is not in schema/supergraph.graphql yet: everything it adds is new.`);
  section(
    'Composition errors',
    result.composition.errors.map((e) => `  ${e.code}: ${e.message}`),
  );
  section(
    'Composition hints (npm run compose refuses them until accepted in tools/schema/compose.ts)',
    result.composition.hints.map((h) => `  ${h.code}: ${h.message}`),
  );
  section(
    "Nullability rule: a partner's outage is local (npm run compose refuses these too)",
    result.nullability.map((v) => `  ${v.message}`),
  );
  section('Breaking changes', result.changes.breaking.map(change));
  section(
    'Operations broken',
    result.operations.broken.flatMap((o) => [`  ${o.operation} (${o.file})`, ...o.errors.map((e) => `      ${e}`)]),
    result.operations.broken.length,
  );
  section(
    "Partners' registered operations broken (operations/manifest.json)",
    result.operations.byPartner.map((p) => `  ${p.partner}: ${plural(p.operations.length, 'operation')} broken: ${p.operations.join(', ')}`),
  );
  // Why a change is dangerous is not obvious from its message (why one breaks is).
  section(
    'Dangerous changes',
    result.changes.dangerous.map((c) => `${change(c)}${c.reason ? `\n      ${c.reason}` : ''}`),
  );
  section('Safe changes', result.changes.safe.map(change));
  section('Fields moving between subgraphs (@override)', result.overrides.map(formatOverrideChange));
  // What callers without a token see (schema/public.graphql), apart: a breaking change here breaks anonymous clients.
  section(
    'Public contract (callers without a token): breaking changes',
    result.contract.changes.breaking.map((c) => `${change(c)}${c.reason ? `\n      ${c.reason}` : ''}`),
  );
  section(
    'Public contract: dangerous changes',
    result.contract.changes.dangerous.map((c) => `${change(c)}${c.reason ? `\n      ${c.reason}` : ''}`),
  );
  section('Public contract: safe changes', result.contract.changes.safe.map(change));
  section(
    'Authorization guards',
    result.guards.map((g) => {
      const what = g.element === 'new' ? ' (new)' : g.element === 'removed' ? ' (removed with it)' : '';
      const verdict = g.loosened
        ? `  SECURITY: ${g.tightened ? 'changed' : g.kind === 'removed' ? 'removed' : 'loosened'}, review who may now see it`
        : g.tightened
          ? '  tightened: callers it admitted may now be refused'
          : '';
      return `  ${g.coordinate}${what}: ${g.before ?? '(no guard)'} -> ${g.after ?? '(no guard)'}${verdict}`;
    }),
  );
  section(
    'Costs',
    result.costs.map(
      (c) =>
        `  ${c.coordinate}${c.element === 'new' ? ' (new)' : c.element === 'removed' ? ' (removed with it)' : ''}: ${c.before ?? `(no ${c.directive})`} -> ${c.after ?? `(no ${c.directive})`}`,
    ),
  );
  section(
    "Registered operations' estimated costs (the gateway's estimate with operations/variables.json)",
    result.operations.costs.map(
      (o) =>
        `  ${o.operation} (${o.file}): ${fmt(o.before)} -> ${fmt(o.after)}${o.fullPageBefore !== undefined && o.fullPageAfter !== undefined ? `; with first: ${DEFAULT_LIMITS.pageSize}: ${fmt(o.fullPageBefore)} -> ${fmt(o.fullPageAfter)}` : ''}`,
    ),
  );
  section(
    'Already invalid against the deployed supergraph (not this change)',
    result.operations.alreadyInvalid.flatMap((o) => [`  ${o.operation} (${o.file})`, ...o.errors.map((e) => `      ${e}`)]),
    result.operations.alreadyInvalid.length,
  );
  if (result.composition.errors.length > 0) lines.push('', 'Refused: the subgraphs do not compose with this SDL.');
  else if (result.nullability.length > 0) {
    lines.push(
      '',
      'Refused: make these fields nullable, or list each in schema/nullability-exceptions.json with the reason it may blank its parent (reviewed).',
    );
  } else if (!result.ok) {
    lines.push(
      '',
      result.exitCode === 0
        ? 'Allowed by --allow-breaking: the clients above break when this is deployed.'
        : 'Refused: add rather than change (mark the old field @deprecated and remove it once no client selects it), or agree on it with the partners affected and run again with --allow-breaking.',
    );
  }
  return lines.join('\n');
}

const USAGE = 'usage: npm run schema:check -- <subgraph> [--sdl <file>] [--allow-breaking] [--json]';

/** The CLI: prints the report (or `--json`) and returns the exit code (2: the check could not run). */
export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { sdl: { type: 'string' }, 'allow-breaking': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) {
    console.error(`${name ? `unexpected argument: ${extra.join(' ')}` : 'which subgraph?'} (registered: ${SUBGRAPHS.map((s) => s.name).join(', ')})\n${USAGE}`);
    return 2;
  }
  try {
    const options: CheckOptions = { name, allowBreaking: values['allow-breaking'] ?? false };
    if (values.sdl !== undefined) {
      const file = isAbsolute(values.sdl) ? values.sdl : resolve(cwd, values.sdl);
      try {
        options.candidateSdl = readFileSync(file, 'utf8');
      } catch (e) {
        throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? checkError(CheckErrorCode.SDL_NOT_FOUND, `${values.sdl} does not exist`) : e;
      }
    }
    const result = await checkSubgraph(options);
    console.log(values.json ? JSON.stringify(result, null, 2) : formatCheck(result));
    return result.exitCode;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in CheckErrorCode) {
      console.error(values.json ? JSON.stringify({ error: { code, message: (e as Error).message } }) : `error: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // npm runs scripts from the repository root; a relative --sdl means the directory the user typed it in.
  process.exitCode = await main(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd());
}
