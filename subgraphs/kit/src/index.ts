export { type InsightsSettings, type SubgraphConfig, DEFAULT_INSIGHTS, DEFAULT_MONGODB_URI, insightsFromEnv, loadSubgraphConfig } from './config.js';
export { DEV_SECRET_FILE, devGatewaySecret, devModeFromEnv } from '@partnerskap/common';
export { APOLLO_REQUEST_CODES, ErrorCode, badUserInput, conflict, forbidden, isKnownCode, notFound, refused } from '@partnerskap/common';
export { type Clock, type SettableClock, clockFromEnv, osloDate, settableClock, systemClock } from './clock.js';
export { type RoundDates, type RoundStep, checkWindow } from './window.js';
export { type AuditDoc, auditEntry, auditView, readAudit } from './audit.js';
export { TRANSACTION_BUDGET_MS, inTransaction } from './transactions.js';
export { type Idempotency, type Replays, IDEMPOTENCY_TTL_S, idempotencyOf, idempotencyScope, idempotent } from './idempotency.js';
export { type EventsOf, createAuditedWriter } from './writer.js';
export { STORE_ERROR_CODES, isDuplicateKey, isOutOfDiskSpace, isStoreDown, isTransientTransactionError, isUnknownCommitResult } from './store-errors.js';
export { type Supergraph, type SupergraphClientOptions, createSupergraphClient, feedQuery } from './supergraph-client.js';
export { SERVICE_AUDIENCE, SERVICE_ISSUER, SERVICE_TOKEN_LIFETIME_S } from '@partnerskap/common';
export { type YearRow, createByKeyLoader, createCountLoader, createRowsLoader, createYearRowsLoader, groupByKey, keyString, loadByKey } from './loaders.js';
export { byCodeUnits, byNameThenId, byNorwegian } from './order.js';
export { type Rolled, rollUp, total, totals } from './rollup.js';
export { type FilterValue, type MongoConnection, MONGO_SELECTION_TIMEOUT_MS, NB, SEARCH_MAX_TIME_MS, connectMongo, eqFilter, withId } from './mongo.js';
export { traceCommands } from './mongo.js';
export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_SHUTDOWN_GRACE_MS,
  type ListeningService,
  type PlainAnswer,
  REQUEST_ID_HEADER,
  type ServeOptions,
  type StaticAsset,
  type StopOptions,
  errorBody,
  originMatcher,
  serveGraphQL,
} from '@partnerskap/common';
export {
  DEFAULT_MAX_OPERATIONS,
  DURATION_BUCKETS,
  type MetricsContext,
  type RequestRecord,
  type RequestStatus,
  type ServiceMetrics,
  type ServiceMetricsOptions,
  createServiceMetrics,
  useRequestMetrics,
} from '@partnerskap/common';
export { type Exposition, type Sample, parsePrometheusText, sumOf } from '@partnerskap/common';
export {
  type Connection,
  type PageArgs,
  type PageWindow,
  type KeysetOrder,
  type SortKey,
  MAX_PAGE_SIZE,
  MAX_SEARCH_LENGTH,
  afterCursor,
  keysetOrder,
  keysetSort,
  pageWindow,
  searchPattern,
  idArg,
  toConnection,
  yearArg,
  requiredId,
  textArg,
  intArg,
} from './pagination.js';
export { DateScalar, DateTimeScalar } from './scalars.js';
export { type SubgraphResolvers } from './resolver-map.js';
export { referenced } from './referenced.js';
export { type ListeningSubgraph, type SubgraphServerOptions, createSubgraphServer, defaultLog, listenSubgraph, readSchema, stopOnSignals } from './server.js';
export {
  type Background,
  type BackgroundContext,
  type StartSubgraphOptions,
  type SubgraphModule,
  type SubgraphServices,
  type SubgraphStore,
  feedReader,
  runSubgraph,
  startSubgraph,
} from './module.js';
export {
  CREDENTIAL_HEADER,
  CREDENTIAL_LIFETIME_S,
  HS256_CLOCK_SKEW_S,
  type Identity,
  PUBLIC,
  ROLES,
  type Role,
  createCredentialSigner,
  createCredentialVerifier,
  identityFromClaims,
  secretKey,
  isHs256,
  signHs256,
  verifyHs256,
} from '@partnerskap/common';
export { type Guard, type Policy, enforceGuards, readGuards, scopesOf } from '@partnerskap/common';
export {
  AVERAGE_BAND,
  type ApplicationFacts,
  type CountRange,
  MIN_SHOWN_COUNT,
  erasedPseudonym,
  isSuppressed,
  maySeeApplication,
  partitionRanges,
  protectPartitions,
  seesPersons,
  shownAverage,
  shownCount,
  shownRange,
  shownTotal,
  shownTotalOver,
} from './rules.js';
export { type LogFormat, logFormatFor, prettyLogLine } from '@partnerskap/common';
export { SUBJECT_CODES } from './subjects.js';
export { isStudyId } from './study-id.js';
export {
  DEFAULT_ERROR_BEHAVIOUR,
  ERROR_BEHAVIOURS,
  ERROR_BEHAVIOUR_PARAMETER,
  type ErrorBehaviour,
  errorBehaviourOf,
  halted,
  keepNonNullErrors,
  requestedErrorBehaviour,
  schemaWithErrorBehaviours,
  setErrorBehaviour,
  withNullableOutputs,
} from '@partnerskap/common';
export {
  EVENT_VERSION,
  type EventPage,
  type KindSpec,
  MAX_EVENT_PAGE,
  MAX_FEED_WAIT_MS,
  type NewEvent,
  type Outbox,
  type PartnerEvent,
  type ProjectionRow,
  type Projections,
  createOutbox,
  createProjections,
  eraseTeacherFromEvents,
  eventView,
  feedResolver,
  plain,
  rowsOf,
} from './events.js';
export {
  type Consumer,
  type ConsumerStatus,
  type FeedReader,
  type Subscription,
  INBOX_TTL_S,
  ensureConsumerIndexes,
  projectionApplier,
  settleEvents,
  startConsumer,
} from './consumer.js';
export type { AllocationState, ApplicationState, DecisionState, InstitutionState, RoundState, StudyState, TeacherState } from './event-types.js';
export { type CellQueue, createCellQueue } from './cell-queue.js';
export {
  type CellContribution,
  type CellValue,
  type Counted,
  type CountedFigures,
  type FigureDifference,
  type FigureDoc,
  type FigureSet,
  FIGURES_COLLECTION,
  cellId,
  createCounted,
  findCells,
  readCells,
} from './figures.js';
