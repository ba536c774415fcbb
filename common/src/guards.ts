import { type ConstDirectiveNode, type DocumentNode, GraphQLError, type GraphQLObjectType, type GraphQLSchema, Kind, defaultFieldResolver } from 'graphql';
import { ErrorCode } from './errors.js';
import { type Identity } from './identity.js';

/** The authorization a field carries in the SDL: `@authenticated`, `@requiresScopes`, `@policy` (its own or its type's). */
export interface Guard {
  authenticated: boolean;
  /** Any inner list satisfied (all its scopes held) grants access. */
  scopes?: string[][];
  /** Any inner list satisfied (all its policies pass) grants access. */
  policies?: string[][];
}

/** A data-dependent rule named in `@policy`: may this caller see this field of this object? */
export type Policy<C> = (context: C, parent: unknown) => boolean | Promise<boolean>;

/** The scopes an identity holds: its role, as `role:<role>`. */
export function scopesOf(identity: Identity): string[] {
  return identity.role === 'public' ? [] : [`role:${identity.role}`];
}

function stringLists(directive: ConstDirectiveNode, argument: string): string[][] {
  const arg = directive.arguments?.find((a) => a.name.value === argument);
  if (!arg || arg.value.kind !== Kind.LIST) return [];
  return arg.value.values.map((inner) => (inner.kind === Kind.LIST ? inner.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : []));
}

function guardOf(directives: readonly ConstDirectiveNode[] | undefined, base?: Guard): Guard | undefined {
  let guard: Guard | undefined = base ? { ...base } : undefined;
  for (const d of directives ?? []) {
    const name = d.name.value;
    if (name !== 'authenticated' && name !== 'requiresScopes' && name !== 'policy') continue;
    guard ??= { authenticated: false };
    if (name === 'authenticated') guard.authenticated = true;
    if (name === 'requiresScopes') guard.scopes = [...(guard.scopes ?? []), ...stringLists(d, 'scopes')];
    if (name === 'policy') guard.policies = [...(guard.policies ?? []), ...stringLists(d, 'policies')];
  }
  return guard;
}

/** Reads every guarded field from SDL: `Type.field` to its guard (a type's guard applies to all its fields). */
export function readGuards(typeDefs: DocumentNode): Map<string, Guard> {
  const guards = new Map<string, Guard>();
  for (const def of typeDefs.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeGuard = guardOf(def.directives);
    for (const field of def.fields ?? []) {
      const guard = guardOf(field.directives, typeGuard);
      if (guard) guards.set(`${def.name.value}.${field.name.value}`, guard);
    }
  }
  return guards;
}

const denied = (code: ErrorCode, message: string): GraphQLError => new GraphQLError(message, { extensions: { code } });

/**
 * Wraps the resolver of every guarded field so that it runs only for a caller the guard admits:
 * a public caller on `@authenticated` gets `UNAUTHENTICATED`, anyone else denied `FORBIDDEN`,
 * and the field is null. Policies are evaluated once per object and request.
 */
export function enforceGuards<C extends { identity: Identity }>(schema: GraphQLSchema, typeDefs: DocumentNode, policies: Record<string, Policy<C>>): void {
  const guards = readGuards(typeDefs);
  const missing = [...guards.values()].flatMap((g) => (g.policies ?? []).flat()).filter((p) => !policies[p]);
  if (missing.length > 0) throw new Error(`the SDL names policies with no implementation: ${[...new Set(missing)].join(', ')}`);
  const decided = new WeakMap<object, WeakMap<object, Map<string, Promise<boolean>>>>();
  const passes = (name: string, ctx: C, parent: unknown): Promise<boolean> => {
    if (parent === null || typeof parent !== 'object') return Promise.resolve(policies[name]!(ctx, parent));
    let byParent = decided.get(ctx);
    if (!byParent) decided.set(ctx, (byParent = new WeakMap()));
    let byName = byParent.get(parent);
    if (!byName) byParent.set(parent, (byName = new Map<string, Promise<boolean>>()));
    let result = byName.get(name);
    if (!result) byName.set(name, (result = Promise.resolve(policies[name]!(ctx, parent))));
    return result;
  };
  for (const named of Object.values(schema.getTypeMap())) {
    // By tag, not instanceof: the schema may come from another copy of graphql (Apollo loads it as CommonJS).
    if (Object.prototype.toString.call(named) !== '[object GraphQLObjectType]') continue;
    const type = named as GraphQLObjectType;
    for (const field of Object.values(type.getFields())) {
      const guard = guards.get(`${type.name}.${field.name}`);
      if (!guard) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = async (parent, args, ctx: C, info) => {
        const { identity } = ctx;
        if (identity.role === 'public' && (guard.authenticated || guard.scopes || guard.policies)) {
          throw denied(ErrorCode.UNAUTHENTICATED, `${type.name}.${field.name} needs a signed-in caller`);
        }
        if (guard.scopes && guard.scopes.length > 0) {
          const held = new Set(scopesOf(identity));
          if (!guard.scopes.some((all) => all.every((s) => held.has(s)))) {
            throw denied(ErrorCode.FORBIDDEN, `${type.name}.${field.name} is not for this caller`);
          }
        }
        if (guard.policies && guard.policies.length > 0) {
          let allowed = false;
          for (const all of guard.policies) {
            const results = await Promise.all(all.map((name) => passes(name, ctx, parent)));
            if (results.every(Boolean)) {
              allowed = true;
              break;
            }
          }
          if (!allowed) throw denied(ErrorCode.FORBIDDEN, `${type.name}.${field.name} is not for this caller`);
        }
        return resolve(parent, args, ctx, info);
      };
    }
  }
}
