import type { DecidedStage } from './decide.js';
import type { UpstreamFailure } from './proxy/status-code.js';

/**
 * What happened to one request, emitted after its response ended. Metrics and the admin
 * API's counters listen to it; shadow comparison will hook in here too.
 */
export interface ServedEvent {
  requestId: string;
  method: string;
  path: string;
  /** Route id, or `default` when no route matched. */
  routeId: string;
  stage: DecidedStage;
  /** The upstream whose response the client got; `router` when the router answered itself. */
  upstream: string;
  status: number;
  durationMs: number;
  /** Set when a failing service's request was served by the monolith. */
  fallback?: { from: string; reason: UpstreamFailure };
}

export type ServedListener = (event: ServedEvent) => void;
