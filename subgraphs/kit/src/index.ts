export { type SubgraphConfig, DEFAULT_MONGODB_URI, devGatewaySecret, loadSubgraphConfig } from './config.js';
export { ErrorCode, badUserInput, conflict, forbidden, isKnownCode, notFound } from './errors.js';
export { createByKeyLoader, createCountLoader, keyString, loadByKey } from './loaders.js';
export { type MongoConnection, NB, connectMongo, isDuplicateKey, withId } from './mongo.js';
export {
  type Connection,
  type PageArgs,
  type PageWindow,
  MAX_PAGE_SIZE,
  MAX_SEARCH_LENGTH,
  pageWindow,
  searchPattern,
  idArg,
  toConnection,
  yearArg,
} from './pagination.js';
export { DateScalar, DateTimeScalar } from './scalars.js';
export { type ListeningSubgraph, type SubgraphServerOptions, createSubgraphServer, listenSubgraph, readSchema, stopOnSignals } from './server.js';
export { type StartSubgraphOptions, type SubgraphModule, runSubgraph, startSubgraph } from './module.js';
export {
  CREDENTIAL_HEADER,
  type Identity,
  PUBLIC,
  ROLES,
  type Role,
  createCredentialSigner,
  createCredentialVerifier,
  identityFromClaims,
} from './identity.js';
export { type Guard, type Policy, enforceGuards, readGuards, scopesOf } from './guards.js';
export { type ApplicationFacts, MIN_SHOWN_COUNT, erasedPseudonym, maySeeApplication, seesPersons, shownCount, shownTotal } from './rules.js';
