/**
 * What the gateway and the subgraphs both speak: the credential format, the error codes and how an
 * error is shown, the contract's limits, the HTTP and metrics plumbing, the logger and its format, and the
 * development secret. It imports nothing of ours (docs/architecture.md).
 */
export * from './dev.js';
export * from './encoding.js';
export * from './error-behaviour.js';
export * from './errors.js';
export * from './guards.js';
export * from './http.js';
export * from './identity.js';
export * from './limits.js';
export * from './log.js';
export * from './log-format.js';
export * from './metrics-text.js';
export * from './metrics.js';
export * from './telemetry.js';
