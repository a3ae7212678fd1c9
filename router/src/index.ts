/** The ficus router's public surface: the standalone server, the express middleware, and their parts. */
export { ficusRouter, type FicusRouterMiddlewareOptions } from './middleware.js';
export { createRouter, type FicusRouter, type RouterOptions, type RoutingOptions } from './server.js';
export { startRouter, type RunningRouter } from './main.js';
export { createAdminApp } from './admin.js';
export { routerConfigSchema, type RouterConfig } from './config.js';
export { FlagSource, type FlagSourceStatus } from '../../platform/src/flags/flag-source.js';
export { stageOf, serveToggle, type Stage, type RouteStage } from '../../platform/src/flags/features.js';
export {
  loadRouteTable,
  parseRouteTable,
  matchRoute,
  type RouteTable,
  type CompiledRoute,
} from './route-table/load.js';
export { normalizeTarget } from './normalize-path.js';
export type { Decision } from './decide.js';
export type { ServedEvent, ServedListener } from './served-event.js';
