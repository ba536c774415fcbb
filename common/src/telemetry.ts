import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  context,
  createContextKey,
  propagation,
  trace,
} from '@opentelemetry/api';

export { type Tracer } from '@opentelemetry/api';

/**
 * OpenTelemetry traces (docs/tracing.md): off unless the standard environment asks for them, and
 * then exported with OTLP over HTTP. Off, nothing is registered and the SDK is never loaded (it is
 * imported on demand), so a request costs one boolean check; the spans Apollo Gateway opens
 * through `@opentelemetry/api` go to its no-op tracer.
 */

/** How traces are exported, from the environment ({@link tracingSettings}). */
export type TracingSettings =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      /** The collector's traces URL (`.../v1/traces`); undefined: the exporter's default, `http://localhost:4318/v1/traces`. */
      readonly url: string | undefined;
      readonly protocol: 'http/protobuf' | 'http/json';
    };

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

/**
 * Whether and where to export traces, by the OpenTelemetry SDK's own variables: on when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set or
 * `OTEL_TRACES_EXPORTER=otlp`; never with `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 * `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` is `http/protobuf` (the default) or `http/json`. Every
 * malformed variable is reported in one error.
 */
export function tracingSettings(env: Record<string, string | undefined>): TracingSettings {
  const problems: string[] = [];
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const unknown = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unknown.length > 0) problems.push(`OTEL_TRACES_EXPORTER must be otlp or none (the only exporter built in), got "${env.OTEL_TRACES_EXPORTER}"`);
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  for (const [name, value] of [
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', endpoint],
  ] as const) {
    if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) problems.push(`${name} must be an http(s) URL, got "${value}"`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (!(PROTOCOLS as readonly string[]).includes(protocol))
    problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (grpc is not built in), got "${protocol}"`);
  if (problems.length > 0) throw new Error(`tracing: ${problems.join('; ')}`);
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporters.includes('none');
  const wanted = exporters.includes('otlp') || tracesEndpoint !== undefined || endpoint !== undefined;
  if (disabled || !wanted) return { enabled: false };
  // The signal's own URL is used as it is; the general one gets the traces path (the specification's rule).
  const url = tracesEndpoint ?? (endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  return { enabled: true, url, protocol: protocol as (typeof PROTOCOLS)[number] };
}

/** A span as a {@link SpanHooks} sees it: its name and place in the tree, attributes still settable. */
export interface HookedSpan {
  readonly name: string;
  readonly parentSpanContext?: SpanContext | undefined;
  spanContext(): SpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
}

/** Hooks on every span a service's provider starts and ends (the gateway marks cached plans with them). */
export interface SpanHooks {
  onStart?(span: HookedSpan): void;
  /** Called as a span ends, while its attributes can still be set. */
  onEnding?(span: HookedSpan): void;
}

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** The service's `service.name` (`OTEL_SERVICE_NAME` overrides it). */
  serviceName: string;
  /** Where the settings are read ({@link tracingSettings}); the SDK reads the rest itself from the process's environment. */
  env: Record<string, string | undefined>;
  /**
   * Register this service's provider as the process's global one (default false): the gateway's,
   * since Apollo Gateway opens its spans on the global tracer. Several services in one process
   * (npm start) each keep a provider of their own, so each has its own `service.name`.
   */
  global?: boolean;
  /** Hooks on its spans. */
  hooks?: readonly SpanHooks[];
}

/** A service's tracing, started. */
export interface Tracing {
  readonly enabled: boolean;
  /** The service's tracer (undefined when off): give it to `serveGraphQL` and the service's builder. */
  readonly tracer: Tracer | undefined;
  /** Exports what has ended so far. */
  flush(): Promise<void>;
  /** Exports what is left (waiting {@link TRACING_SHUTDOWN_MS} at most) and stops, after the service has drained. Calling it again returns the same promise. */
  shutdown(): Promise<void>;
}

/** How long a stop waits for the last spans to be exported (a collector that does not answer must not hold a deploy). */
export const TRACING_SHUTDOWN_MS = 3000;

const OFF: Tracing = Object.freeze({ enabled: false, tracer: undefined, flush: async () => undefined, shutdown: async () => undefined });

/** Services of this process tracing now: the context manager and propagator stay registered while any does. */
let tracingServices = 0;

/** Whether any service of this process traces: the kit installs its resolver and store instrumentation only then. */
export function tracingEnabled(): boolean {
  return tracingServices > 0;
}

/**
 * Starts a service's tracing when {@link tracingSettings} says so: a tracer provider with the
 * service's resource (its name, `service.namespace=partnerskap`, an instance id, the host and the
 * process; `OTEL_RESOURCE_ATTRIBUTES`; no cloud detector, so nothing probes a metadata endpoint),
 * the sampler `OTEL_TRACES_SAMPLER` names (parent-based, always on by default), and a batch span
 * processor (`OTEL_BSP_*`) exporting with OTLP over HTTP (`OTEL_EXPORTER_OTLP_HEADERS`,
 * `_TIMEOUT`, `_COMPRESSION` are the exporter's own). The first service started registers the
 * async-hooks context manager and the W3C trace-context propagator (no baggage: a client's baggage
 * would reach the partners). Off: nothing is loaded or registered.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const settings = tracingSettings(options.env);
  if (!settings.enabled) return OFF;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources, exporters] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      settings.protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
    ]);
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.namespace': 'partnerskap', 'service.instance.id': randomUUID() }))
    .merge(resources.detectResources({ detectors: [resources.hostDetector, resources.processDetector, resources.envDetector] }));
  const hooks = options.hooks ?? [];
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      ...(hooks.length > 0
        ? [
            {
              onStart: (span: HookedSpan) => hooks.forEach((h) => h.onStart?.(span)),
              onEnding: (span: HookedSpan) => hooks.forEach((h) => h.onEnding?.(span)),
              onEnd: () => undefined,
              forceFlush: async () => undefined,
              shutdown: async () => undefined,
            },
          ]
        : []),
      new BatchSpanProcessor(new exporters.OTLPTraceExporter(settings.url ? { url: settings.url } : {})),
    ],
  });
  if (tracingServices === 0) {
    const manager = new AsyncLocalStorageContextManager();
    manager.enable();
    context.setGlobalContextManager(manager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  tracingServices++;
  if (options.global) trace.setGlobalTracerProvider(provider);
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: provider.getTracer('partnerskap'),
    flush: () => provider.forceFlush(),
    shutdown: () =>
      (stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([provider.shutdown(), new Promise<void>((resolve) => (timer = setTimeout(resolve, TRACING_SHUTDOWN_MS).unref()))]);
        clearTimeout(timer);
        if (options.global) trace.disable();
        if (--tracingServices === 0) {
          context.disable();
          propagation.disable();
        }
      })()),
  };
}

/** Where a traced request's context keeps its service's tracer: the kit's resolver and store spans use it. */
const TRACER = createContextKey('partnerskap.tracer');

/** The tracer of the service whose recorded request is running here, if any (none in a request the sampler left out). */
export function tracerIn(ctx: Context): Tracer | undefined {
  return ctx.getValue(TRACER) as Tracer | undefined;
}

/**
 * Answers one HTTP request to `route` (the GraphQL path) inside a server span of `tracer`, which
 * continues the caller's W3C trace context (`traceparent`, `tracestate`) and nothing else of this
 * process's (services sharing a process still meet only over HTTP); other paths (health, metrics,
 * files) are answered without one. The span records the method, the route and the status, never
 * the query string (a GET carries its variables there).
 */
export function traceRequest(tracer: Tracer, route: string, req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  if ((query === -1 ? url : url.slice(0, query)) !== route) return handle();
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const method = req.method ?? 'GET';
  const attributes: Attributes = { 'http.request.method': method, 'http.route': route, 'url.path': route };
  const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent);
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  // A request the sampler left out carries no tracer: the kit's resolver and store spans skip it at once.
  const traced = trace.setSpan(parent, span);
  return context.with(span.isRecording() ? traced.setValue(TRACER, tracer) : traced, handle);
}

/** Names the running request's server span: its correlation id and the operation the client named (never its variables). */
export function describeRequest(requestId: string, operationName: unknown): void {
  trace.getActiveSpan()?.setAttributes({
    'partnerskap.request_id': requestId,
    ...(typeof operationName === 'string' && operationName.length <= 200 ? { 'graphql.operation.name': operationName } : {}),
  });
}

/** Adds the active trace context (`traceparent`, `tracestate`) to a call's headers: the gateway's subgraph fetches. */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}
