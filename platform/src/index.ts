export {
  FicusError,
  errorCodes,
  retriableDatabaseError,
  toProblem,
  problemType,
  type ErrorCode,
  type FieldError,
  type Problem,
} from './errors.js';
export {
  loadConfig,
  platformConfigSchema,
  postgresUrl,
  byteSize,
  port,
  parseByteSize,
  type PlatformConfig,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
export { issueLines, listFiles, parseValidated, readValidated, type FileProblem } from './files.js';
export {
  createDb,
  moduleRoleName,
  moduleDatabaseUrl,
  databaseName,
  withDatabase,
  provisionModuleSchema,
  quoteLiteral,
  ensureDatabase,
  dropDatabase,
  type Knex,
  type DbOptions,
} from './db.js';
export {
  parseManifest,
  migrationSource,
  migratorConfig,
  migrateSchema,
  moduleManifestSchema,
  type ModuleManifest,
  type ModuleDefinition,
  type Migration,
} from './module.js';
export { createHttpApp, requestIdOf, type HttpApp, type HttpAppOptions } from './http/app.js';
export { dryRunHeader } from './http/dry-run.js';
export {
  shadowHeader,
  signShadowRequest,
  verifyShadowRequest,
  type ShadowRequest,
  type ShadowVerdict,
} from './shadow.js';
export { isDryRun } from './request-context.js';
export { shadowSafe } from './shadow-safe.js';
export type { ReadinessCheck } from './http/health.js';
export { sendProblem, writeProblem } from './http/problem.js';
export { parseBody, parseQuery, parseParams, fieldErrors } from './http/validate.js';
export { Lifecycle, startServer, exitOnSignals, runMain, type RunningServer } from './lifecycle.js';
export { developmentJwtSecret, refuseDevelopmentSecret, serviceConfigSchema, tokenConfigShape } from './service.js';
export { bearerToken, createTokens, requireAuth, principalOf, type Principal, type Tokens } from './auth.js';
export { FlagSource, type FlagContext, type FlagSourceKind, type FlagSourceStatus } from './flags/flag-source.js';
export {
  apiFlagOf,
  sampleOf,
  serveToggle,
  shadowFlagOf,
  stageOf,
  stageToggles,
  withSample,
  type Feature,
  type RouteStage,
  type Stage,
} from './flags/features.js';
export { watchForChanges } from './watch-file.js';
export { sendFailureOf, type SendFailure } from './remote/send-failure.js';
export {
  defineApi,
  switchApi,
  type ApiSpec,
  type ApiMethods,
  type AsyncApi,
  type IdempotencyKeys,
  type KeyedApi,
} from './remote/spec.js';
export {
  isOutcomeUnknown,
  learnOutcome,
  outcomeOf,
  type LearnOutcomeOptions,
  type WriteOutcome,
} from './remote/learn-outcome.js';
export { remoteApi, type RemoteApi, type RemoteApiOptions, type RemoteControls } from './remote/client.js';
export { apiRouter, type ApiImplementation, type ApiRouterOptions } from './remote/server.js';
export { apiIdempotencyMigration, apiIdempotencyTable } from './remote/idempotency.js';
export { apiTokenSetting, apiTokenVariable, serviceTokenVariable } from './remote/api-token.js';
