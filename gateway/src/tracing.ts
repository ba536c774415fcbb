import { type HookedSpan, type SpanHooks, type Tracing, startTracing } from '@partnerskap/common';

/**
 * The gateway's traces (docs/tracing.md). Apollo Gateway opens `gateway.request`, `gateway.validate`,
 * `gateway.plan` (on a miss of its plan cache only), `gateway.execute`, `gateway.fetch` (one per
 * subgraph call, the span whose context the call carries) and `gateway.postprocessing` on the
 * global tracer; ours is the server span around them (common's `serveGraphQL`).
 */

/** Apollo Gateway's span names (`@apollo/gateway`'s `OpenTelemetrySpanNames`). */
const REQUEST = 'gateway.request';
const PLAN = 'gateway.plan';
const EXECUTE = 'gateway.execute';

/** The attribute that says whether a request's query plan came from Apollo's plan cache. */
export const PLAN_CACHED_ATTRIBUTE = 'gateway.plan.cached';

/**
 * Marks each `gateway.request` that executed a plan with {@link PLAN_CACHED_ATTRIBUTE}: true when no
 * `gateway.plan` ran beneath it (Apollo opens that span only when it builds a plan), so a trace says
 * why it has no planning step. Requests refused before planning get no mark.
 */
export function markCachedPlans(): SpanHooks {
  const planned = new Set<string>();
  const executed = new Set<string>();
  const parentOf = (span: HookedSpan) => span.parentSpanContext?.spanId;
  return {
    onStart: (span) => {
      const parent = parentOf(span);
      if (!parent) return;
      if (span.name === PLAN) planned.add(parent);
      else if (span.name === EXECUTE) executed.add(parent);
    },
    onEnding: (span) => {
      if (span.name !== REQUEST) return;
      const id = span.spanContext().spanId;
      if (executed.delete(id)) span.setAttribute(PLAN_CACHED_ATTRIBUTE, !planned.has(id));
      planned.delete(id);
    },
  };
}

/** Starts the gateway's tracing from the environment (`OTEL_*`, common's `startTracing`): the process's global provider, Apollo's spans included. */
export function startGatewayTracing(env: Record<string, string | undefined>, serviceName = 'gateway'): Promise<Tracing> {
  return startTracing({ serviceName, env, global: true, hooks: [markCachedPlans()] });
}

/**
 * Sets `APOLLO_TELEMETRY_DISABLED=true` in the environment while Apollo Gateway is built; the function
 * it returns puts it back as it was. `@apollo/gateway` otherwise starts, in its constructor, its own
 * anonymous usage metrics for Apollo: cloud resource detectors that probe the metadata addresses of
 * AWS, GCP, Azure and Alibaba (the `MetadataLookupWarning` lines), and an export to Apollo's servers
 * every hour and on stop. A partner gateway sends nothing to a third party; our traces are docs/tracing.md's.
 */
export function apolloTelemetryOff(): () => void {
  const before = process.env.APOLLO_TELEMETRY_DISABLED;
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  return () => {
    if (before === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
    else process.env.APOLLO_TELEMETRY_DISABLED = before;
  };
}
