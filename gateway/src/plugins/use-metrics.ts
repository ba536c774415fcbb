import { type ApolloServerPlugin } from '@apollo/server';
import { useRequestMetrics } from '@partnerskap/common';
import { type GatewayContext } from '../data-source.js';

/**
 * The request metrics plugin (common's, the same as the subgraphs'): counts each operation
 * (requests, errors by code, duration, by operation name) into the metrics its context carries;
 * `serveGraphQL` puts the gateway's there when `/metrics` is on (metrics.ts), so without them it
 * does nothing. No options: what is counted and where is the registry's (metrics.ts).
 */
export function useMetrics(): ApolloServerPlugin<GatewayContext> {
  return useRequestMetrics();
}
