import { type Attributes, type Context, type Span, SpanStatusCode, type Tracer, context, createContextKey, trace } from '@opentelemetry/api';
import { tracerIn } from '@partnerskap/common';
import { type GraphQLResolveInfo, type ResponsePath } from 'graphql';
import { type SubgraphResolvers } from './resolver-map.js';

/**
 * A subgraph's resolver spans (docs/tracing.md), installed only while tracing is on. Each of the
 * subgraph's own resolvers (never a default one) runs with a pending span in its context; the span
 * is started only if the resolver reaches the store (a database command, mongo.ts's
 * `traceCommands`, finds it pending), with the resolver's start as its start, and ends with the
 * resolver. So a trace shows the resolvers that touched the store and where their time went,
 * without a span for every field of every row. A DataLoader's batch runs in the context of the
 * first resolver that asked it, so its command lands under that resolver.
 */

/** A resolver call whose span is made only when a store command needs it as a parent. */
interface PendingResolver {
  readonly name: string;
  readonly tracer: Tracer;
  /** The context the resolver was called in: the request's server span. */
  readonly parent: Context;
  /** When it was called (ms since the epoch, sub-millisecond). */
  readonly startTime: number;
  readonly info: GraphQLResolveInfo | undefined;
  readonly entity: string | undefined;
  span: Span | undefined;
  ended: boolean;
}

const PENDING = createContextKey('partnerskap.resolver');

/** A response path as text (`studies.edges.0.node.vacantSeats`): field names, aliases and list indexes only, never a value. */
function pathOf(path: ResponsePath | undefined): string {
  const keys: (string | number)[] = [];
  for (let p = path; p; p = p.prev) keys.push(p.key);
  return keys.reverse().join('.');
}

function attributesOf(pending: PendingResolver): Attributes {
  const { info } = pending;
  return {
    ...(info ? { 'graphql.field.name': info.fieldName, 'graphql.field.path': pathOf(info.path), 'graphql.parent.type': info.parentType.name } : {}),
    ...(pending.entity ? { 'graphql.entity.type': pending.entity } : {}),
  };
}

/**
 * The parent of a store command issued in `active`: the pending resolver's span (started now if it
 * was not yet), or `active` itself outside a resolver.
 */
export function storeParent(active: Context): Context {
  const pending = active.getValue(PENDING) as PendingResolver | undefined;
  if (!pending) return active;
  if (!pending.span) {
    // A command after its resolver has returned (work it left running) belongs to the request.
    if (pending.ended) return pending.parent;
    pending.span = pending.tracer.startSpan(pending.name, { startTime: pending.startTime, attributes: attributesOf(pending) }, pending.parent);
  }
  return trace.setSpan(active, pending.span);
}

/** What failed, for `error.type`: the GraphQL error's code, or the error's class. */
function errorType(error: unknown): string {
  const { extensions, name } = (typeof error === 'object' && error !== null ? error : {}) as { extensions?: { code?: unknown }; name?: unknown };
  const type = extensions?.code ?? name;
  return typeof type === 'string' ? type : 'Error';
}

/** Ends a resolver's span, if it was started: an error by its code or class, never its message (it may quote a value). */
function settle(pending: PendingResolver, error?: unknown): void {
  pending.ended = true;
  const { span } = pending;
  if (!span) return;
  if (error !== undefined) {
    span.setAttribute('error.type', errorType(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

const isThenable = (value: unknown): value is PromiseLike<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

/** A resolver of any kind, as the wrapper sees it. */
type Resolve = (...args: unknown[]) => unknown;

/** One resolver, run with a pending span: `infoAt` is where its `info` argument is (3 for a field, 2 for `__resolveReference`). */
function traceResolver(resolve: Resolve, name: string, infoAt: number, entity?: string): Resolve {
  return function (this: unknown, ...args: unknown[]): unknown {
    const parent = context.active();
    const tracer = tracerIn(parent);
    // Outside a traced request (a test calling a resolver, a request of a service not traced): as it is.
    if (!tracer) return resolve.apply(this, args);
    const pending: PendingResolver = {
      name,
      tracer,
      parent,
      startTime: performance.timeOrigin + performance.now(),
      info: args[infoAt] as GraphQLResolveInfo | undefined,
      entity,
      span: undefined,
      ended: false,
    };
    let result: unknown;
    try {
      result = context.with(parent.setValue(PENDING, pending), () => resolve.apply(this, args));
    } catch (error) {
      settle(pending, error);
      throw error;
    }
    if (!isThenable(result)) {
      settle(pending);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        settle(pending);
        return value;
      },
      (error: unknown) => {
        settle(pending, error);
        throw error;
      },
    );
  };
}

/** Whether a resolver map's entry is a type's fields (a plain object), not a scalar's instance. */
const isFieldMap = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/**
 * The subgraph's resolvers, each of its own wrapped by {@link traceResolver} (`resolve Query.studies`,
 * `resolve Study.__resolveReference`); scalars, enum values and type resolution (`__resolveType`,
 * `__isTypeOf`) as they are.
 */
export function traceResolvers<C>(resolvers: SubgraphResolvers<C>): SubgraphResolvers<C> {
  const traced: SubgraphResolvers<C> = {};
  for (const [typeName, entry] of Object.entries(resolvers)) {
    if (!isFieldMap(entry)) {
      traced[typeName] = entry;
      continue;
    }
    const fields: Record<string, unknown> = {};
    for (const [field, resolver] of Object.entries(entry)) {
      const name = `resolve ${typeName}.${field}`;
      if (field === '__resolveReference' && typeof resolver === 'function') fields[field] = traceResolver(resolver as Resolve, name, 2, typeName);
      else if (field.startsWith('__')) fields[field] = resolver;
      else if (typeof resolver === 'function') fields[field] = traceResolver(resolver as Resolve, name, 3);
      else if (isFieldMap(resolver) && typeof resolver.resolve === 'function')
        fields[field] = { ...resolver, resolve: traceResolver(resolver.resolve as Resolve, name, 3) };
      else fields[field] = resolver;
    }
    traced[typeName] = fields as SubgraphResolvers<C>[string];
  }
  return traced;
}
