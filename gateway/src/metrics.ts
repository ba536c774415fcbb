import { DURATION_BUCKETS, type ServiceMetrics, type ServiceMetricsOptions, createServiceMetrics } from '@partnerskap/common';
import { Counter, Histogram } from 'prom-client';

/** How a subgraph fetch ended: the HTTP status it answered with (`200`, `401`, ...), or no answer. */
export type FetchStatus = `${number}` | 'timeout' | 'unavailable';

/** Options of {@link createGatewayMetrics}. */
export type GatewayMetricsOptions = Partial<ServiceMetricsOptions>;

/**
 * The gateway's metrics: every service's (requests, errors, duration, in flight, process) plus its
 * subgraph fetches, merged and retried queries, the response cache and supergraph reloads, all in
 * one registry per gateway instance with `service="gateway"`.
 */
export interface GatewayMetrics extends ServiceMetrics {
  /** One HTTP request sent to a subgraph (a retried query sends two). */
  subgraphRequest(subgraph: string): void;
  /** One fetch from a subgraph, from the first try to its answer or failure. */
  subgraphFetch(subgraph: string, status: FetchStatus, seconds: number): void;
  /** A fetch that failed: `timeout`, `unavailable` (no connection), or `http_<status>` (a non-2xx answer), `bad_response` (a 2xx answer that is not GraphQL). */
  subgraphError(subgraph: string, reason: 'timeout' | 'unavailable' | 'bad_response' | `http_${number}`): void;
  /** A query merged into an identical one in flight. */
  deduplicated(subgraph: string): void;
  /** A query sent once more after its connection failed. */
  retried(subgraph: string): void;
  /** A public answer looked up in the response cache. */
  responseCache(hit: boolean): void;
  /** A progressive `@override` label decided for a request: on (planned to the subgraph it moves to) or off. */
  overrideDecided(label: string, on: boolean): void;
}

/** Supergraph reloads, per process (the lead's supergraph source reports them without a gateway at hand). */
const reloads = { applied: 0, refused: 0 };

/**
 * Counts a new supergraph the gateway found: applied, or refused (the old one keeps serving). The
 * count is per process, read by every gateway's `/metrics`: a deployment runs one gateway a process.
 */
export function recordSupergraphReload(outcome: 'applied' | 'refused'): void {
  reloads[outcome]++;
}

/** Creates a gateway's registry and metrics (`/metrics` serves them; see docs/operations.md for the list). */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const base = createServiceMetrics({ service: 'gateway', ...options });
  const registers = [base.registry];
  const subgraph = ['subgraph'] as const;
  const requests = new Counter({ name: 'partnerskap_subgraph_requests_total', help: 'HTTP requests sent to subgraphs', labelNames: subgraph, registers });
  const fetches = new Histogram({
    name: 'partnerskap_subgraph_request_duration_seconds',
    help: 'Time of a subgraph fetch (with its one retry), by subgraph and HTTP status (or timeout, unavailable)',
    labelNames: ['subgraph', 'status'] as const,
    buckets: [...DURATION_BUCKETS],
    registers,
  });
  const errors = new Counter({
    name: 'partnerskap_subgraph_errors_total',
    help: 'Subgraph fetches that failed, by subgraph and reason (timeout, unavailable, http_<status>)',
    labelNames: ['subgraph', 'reason'] as const,
    registers,
  });
  const merged = new Counter({
    name: 'partnerskap_subgraph_deduplicated_total',
    help: 'Subgraph queries merged into an identical one in flight',
    labelNames: subgraph,
    registers,
  });
  const retries = new Counter({
    name: 'partnerskap_subgraph_retries_total',
    help: 'Subgraph queries sent once more after a failed connection',
    labelNames: subgraph,
    registers,
  });
  const hits = new Counter({ name: 'partnerskap_response_cache_hits_total', help: 'Public answers served from the response cache', registers });
  const misses = new Counter({ name: 'partnerskap_response_cache_misses_total', help: 'Cacheable public answers not in the response cache', registers });
  const overrides = new Counter({
    name: 'partnerskap_override_requests_total',
    help: 'Requests by progressive @override label and whether it was on for them (planned to the subgraph the field moves to)',
    labelNames: ['label', 'on'] as const,
    registers,
  });
  new Counter({
    name: 'partnerskap_supergraph_reloads_total',
    help: 'New supergraphs found, by outcome (applied, refused); per process',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'applied' }, reloads.applied);
      this.inc({ outcome: 'refused' }, reloads.refused);
    },
  });
  return {
    ...base,
    subgraphRequest: (name) => requests.inc({ subgraph: name }),
    subgraphFetch: (name, status, seconds) => fetches.observe({ subgraph: name, status }, seconds),
    subgraphError: (name, reason) => errors.inc({ subgraph: name, reason }),
    deduplicated: (name) => merged.inc({ subgraph: name }),
    retried: (name) => retries.inc({ subgraph: name }),
    responseCache: (hit) => (hit ? hits : misses).inc(),
    overrideDecided: (label, on) => overrides.inc({ label, on: String(on) }),
  };
}
