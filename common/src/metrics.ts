import { type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Distinct operation names a service keeps as label values; later new names are counted as `other`. */
export const DEFAULT_MAX_OPERATIONS = 200;

/** Distinct error codes kept as label values (ours and Apollo's are about 20); anything past it is `other`. */
const MAX_CODES = 50;

/** Seconds: from a cached answer (under 5 ms) to the gateway's subgraph timeout (5 s) and past it. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** How a GraphQL request ended: no errors, data with errors, or no data (refused, invalid, failed). */
export type RequestStatus = 'ok' | 'partial' | 'error';

/** Options of {@link createServiceMetrics}. */
export interface ServiceMetricsOptions {
  /** The service's name: the `service` label of every series (`gateway`, `catalogue`, ...). */
  service: string;
  /** Distinct operation names kept as labels (default {@link DEFAULT_MAX_OPERATIONS}). */
  maxOperations?: number;
}

/** One answered GraphQL request, as the metrics count it. */
export interface RequestRecord {
  /** The operation label, from {@link ServiceMetrics.operationLabel}. */
  operation: string;
  status: RequestStatus;
  seconds: number;
  /** The `extensions.code` of each error in the answer (an error without one counts as `none`). */
  codes: readonly unknown[];
}

/**
 * One service instance's metrics: its own registry (never prom-client's global one, since tests run
 * many services in one process), Node's process metrics, and the GraphQL request metrics every
 * service has. The gateway adds its own to the same registry.
 */
export interface ServiceMetrics {
  readonly service: string;
  readonly registry: Registry;
  /** GraphQL requests being served now (`partnerskap_in_flight_requests`). */
  readonly inFlight: Gauge;
  /**
   * The label for an operation name: the name itself, `anonymous` without one, `other` once
   * `maxOperations` names are known or for a name that is not a GraphQL name. Only operations that
   * resolved (`admit`) add new names: a client cannot fill the set with documents that never parse.
   */
  operationLabel(name: string | null | undefined, admit: boolean): string;
  /** Counts one answered request (requests, errors by code, duration). */
  recordRequest(record: RequestRecord): void;
  /** Puts these metrics into a request's context (as `metrics`), for {@link useRequestMetrics} and the gateway's data sources. */
  attach(context: object): void;
  /** Whether the request with this context was counted by {@link useRequestMetrics}. */
  wasRecorded(context: object): boolean;
  /** The exposition text for `GET /metrics`. */
  text(): Promise<string>;
  /** Its content type. */
  readonly contentType: string;
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * A request's note, under a symbol in its context: Apollo hands plugins a shallow copy of the
 * context, so the plugin marks this shared object, and the HTTP layer counts only unmarked requests.
 */
const NOTE = Symbol('partnerskap.metrics.note');
type Noted = { [NOTE]?: { recorded: boolean } };

/** Creates a service's registry with the process metrics and the GraphQL request metrics. */
export function createServiceMetrics(options: ServiceMetricsOptions): ServiceMetrics {
  const maxOperations = options.maxOperations ?? DEFAULT_MAX_OPERATIONS;
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({
    name: 'partnerskap_graphql_requests_total',
    help: 'GraphQL requests answered, by operation and status (ok, partial, error)',
    labelNames: ['operation', 'status'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'partnerskap_graphql_errors_total',
    help: 'GraphQL errors in answers, by operation and extensions.code',
    labelNames: ['operation', 'code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'partnerskap_graphql_request_duration_seconds',
    help: 'Time to answer a GraphQL request, by operation',
    labelNames: ['operation'] as const,
    buckets: [...DURATION_BUCKETS],
    registers,
  });
  const inFlight = new Gauge({ name: 'partnerskap_in_flight_requests', help: 'GraphQL requests being served now', registers });
  const operations = new Set<string>();
  const codes = new Set<string>();
  const codeLabel = (code: unknown): string => {
    if (code === undefined || code === null) return 'none';
    if (typeof code !== 'string' || !CODE.test(code)) return 'other';
    if (codes.has(code)) return code;
    if (codes.size >= MAX_CODES) return 'other';
    codes.add(code);
    return code;
  };
  return {
    service: options.service,
    registry,
    inFlight,
    contentType: registry.contentType,
    operationLabel(name, admit) {
      if (!name) return 'anonymous';
      if (operations.has(name)) return name;
      if (!admit || operations.size >= maxOperations || !GRAPHQL_NAME.test(name)) return 'other';
      operations.add(name);
      return name;
    },
    recordRequest({ operation, status, seconds, codes: errorCodes }) {
      requests.inc({ operation, status });
      duration.observe({ operation }, seconds);
      for (const code of errorCodes) errors.inc({ operation, code: codeLabel(code) });
    },
    attach(context) {
      (context as MetricsContext).metrics = this;
      (context as Noted)[NOTE] = { recorded: false };
    },
    wasRecorded: (context) => (context as Noted)[NOTE]?.recorded === true,
    text: () => registry.metrics(),
  };
}

/** What a request's context carries when its service counts requests (set by `serveGraphQL`). */
export interface MetricsContext {
  metrics?: ServiceMetrics;
}

type Formatted = { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] };

/** `ok`, `partial` or `error` from an answer's HTTP status and body. */
export function statusOf(httpStatus: number | undefined, body: Formatted | undefined): RequestStatus {
  if ((httpStatus ?? 200) >= 400) return 'error';
  if (!body?.errors?.length) return 'ok';
  return body.data !== undefined && body.data !== null ? 'partial' : 'error';
}

/**
 * Counts every GraphQL request that reaches Apollo's pipeline, under its operation's name: the
 * requests counter, the errors by code (as the client sees them, after masking) and the duration.
 * It counts into the metrics the request's context carries, so one plugin serves every instance.
 */
export function useRequestMetrics(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ contextValue }) {
      const metrics = (contextValue as MetricsContext).metrics;
      if (!metrics) return;
      const started = performance.now();
      return {
        async willSendResponse({ response, operation, operationName, request }) {
          const body: Formatted | undefined = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          metrics.recordRequest({
            // A resolved operation's name; otherwise the one the client claimed, if already known.
            operation: operation ? metrics.operationLabel(operationName, true) : metrics.operationLabel(request.operationName, false),
            status: statusOf(response.http.status, body),
            seconds: (performance.now() - started) / 1000,
            codes: body?.errors?.map((e) => e.extensions?.code) ?? [],
          });
          const note = (contextValue as Noted)[NOTE];
          if (note) note.recorded = true;
        },
      };
    },
  };
}
