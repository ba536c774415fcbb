export { type GatewayConfig, DEFAULT_SUPERGRAPH, type SubgraphSettings, envName, loadGatewayConfig } from './config.js';
export {
  DEVELOPMENT_CORS_ORIGINS,
  type GatewayServer,
  type GatewayServerOptions,
  type ListeningGateway,
  createGatewayServer,
  listenGateway,
} from './server.js';
export { authOptionsFrom, authenticatorFrom, gatewayOptionsFrom } from './options.js';
export { type AuthOptions, type Authenticator, createAuthenticator } from './auth.js';
export { type GatewayContext } from './data-source.js';
export { DEV_AUDIENCE, DEV_ISSUER, DEV_KEY_FILE, loadOrCreateDevKey, signDevToken } from './dev-key.js';
export { type Logger, createLogger, memoryLogger } from './log.js';
export { DEFAULT_LIMITS, type Limits, measure } from './limits.js';
export { DEFAULT_RATE_LIMITS, type RateDecision, type RateLimiter, type RateLimiterOptions, type RateLimits, createRateLimiter } from './rate-limit.js';
export { type Analysis, type SchemaTypes, analyseOperation, createAnalyser, pickOperation, typesOfSchema } from './analysis.js';
export { type GuardsOptions, useGuards } from './plugins/use-guards.js';
export { type LimitsOptions, useLimits } from './plugins/use-limits.js';
export { useResolvedOperation } from './plugins/use-resolved-operation.js';
export { DEFAULT_SUBGRAPH_CALLS, type SubgraphCallOptions } from './data-source.js';
export { CPU_US_PER_COST_UNIT, type CostEstimator, createCostEstimator } from './cost.js';
export { type LoadedSupergraph, loadableSupergraph, readSupergraph } from './supergraph.js';
export {
  DEFAULT_MANIFEST,
  DEFAULT_TRUSTED_DOCUMENT_ROLES,
  MANIFEST_FORMAT,
  type ManifestOperation,
  type PersistedQueryManifest,
  type TrustedDocuments,
  type TrustedDocumentsOptions,
  createTrustedDocuments,
  manifestProblems,
  normalizeDocument,
  operationOf,
  parseManifest,
  sha256Hex,
} from './trusted-documents.js';
export { PUBLIC_TAG, type PublicContract, type PublicContractOptions, publicContract } from './contract.js';
export { type PublicContractPluginOptions, usePublicContract } from './plugins/use-public-contract.js';
export {
  type OverrideDecision,
  type OverrideLabel,
  type OverrideMove,
  callerBucket,
  decideOverrides,
  overrideCallerOf,
  overrideLabelsOf,
  parseOverrideLabel,
  readOverrides,
} from './override.js';
export { PLAN_CACHED_ATTRIBUTE, markCachedPlans, startGatewayTracing } from './tracing.js';
