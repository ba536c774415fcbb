export { type GatewayConfig, DEFAULT_SUPERGRAPH, SUBGRAPH_NAMES, type SubgraphName, loadGatewayConfig } from './config.js';
export { type GatewayServer, type GatewayServerOptions, type ListeningGateway, createGatewayServer, listenGateway } from './server.js';
export { type AuthOptions, type Authenticator, createAuthenticator } from './auth.js';
export { type GatewayContext } from './data-source.js';
export { DEV_AUDIENCE, DEV_ISSUER, DEV_KEY_FILE, loadOrCreateDevKey, signDevToken } from './dev-key.js';
export { type Logger, createLogger, memoryLogger } from './log.js';
export { DEFAULT_LIMITS, type Limits, measure } from './limits.js';
export { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit.js';
export { DEFAULT_SUBGRAPH_CALLS, type SubgraphCallOptions } from './data-source.js';
