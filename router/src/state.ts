import type { Logger } from '../../platform/src/index.js';
import { Upstream, type BreakerState } from './proxy/upstream.js';
import { loadRouteTable, type RouteTable } from './route-table/load.js';
import { watchForChanges } from '../../platform/src/watch-file.js';

/**
 * The route table in force and the upstream runtimes (pools, bulkheads, breakers) it names.
 * A reload that fails validation changes nothing: the last good table stays and the error is
 * kept for the admin API until a good reload.
 */
export class RouterState {
  #table: RouteTable;
  #upstreams = new Map<string, Upstream>();
  #loadedAt = Date.now();
  #lastError: { message: string; at: number } | undefined;
  readonly #file: string | undefined;
  readonly #env: Record<string, string | undefined>;
  readonly #logger: Logger;
  readonly #onBreakerChange: (name: string, state: BreakerState) => void;
  readonly #onReloadFailed: (file: string) => void;

  constructor(
    table: RouteTable,
    options: {
      file?: string;
      env?: Record<string, string | undefined>;
      logger: Logger;
      onReloadFailed?: (file: string) => void;
    },
  ) {
    this.#file = options.file;
    this.#env = options.env ?? {};
    this.#logger = options.logger;
    this.#onBreakerChange = (name, state) =>
      this.#logger.warn({ upstream: name, breaker: state }, `circuit of ${name} is ${state}`);
    this.#onReloadFailed = options.onReloadFailed ?? (() => {});
    this.#table = table;
    this.#syncUpstreams();
  }

  get table(): RouteTable {
    return this.#table;
  }

  upstream(name: string): Upstream {
    return this.#upstreams.get(name)!;
  }

  get upstreams(): ReadonlyMap<string, Upstream> {
    return this.#upstreams;
  }

  status() {
    return { file: this.#file, loadedAt: this.#loadedAt, lastError: this.#lastError };
  }

  /** Keeps runtimes whose spec did not change, so pools and breaker state survive a reload. */
  #syncUpstreams(): void {
    const next = new Map<string, Upstream>();
    for (const [name, spec] of this.#table.upstreams) {
      const current = this.#upstreams.get(name);
      next.set(name, current?.sameAs(spec) ? current : new Upstream(name, spec, this.#onBreakerChange));
    }
    for (const [name, upstream] of this.#upstreams) if (next.get(name) !== upstream) upstream.retire();
    this.#upstreams = next;
  }

  /** Re-reads the route table file; on error keeps the current table and reports. */
  reload(): boolean {
    if (!this.#file) return false;
    try {
      this.#table = loadRouteTable(this.#file, this.#env);
      this.#syncUpstreams();
      this.#loadedAt = Date.now();
      this.#lastError = undefined;
      this.#logger.info({ file: this.#file, routes: this.#table.routes.length }, 'route table reloaded');
      return true;
    } catch (error) {
      this.#lastError = { message: (error as Error).message, at: Date.now() };
      this.#onReloadFailed(this.#file);
      this.#logger.error(
        { file: this.#file, err: (error as Error).message },
        'route table reload refused; the last good table stays in force',
      );
      return false;
    }
  }

  #stopWatching: (() => void) | undefined;

  watch(pollMs = 250): void {
    if (this.#file) this.#stopWatching = watchForChanges(this.#file, pollMs, () => this.reload());
  }

  close(): void {
    this.#stopWatching?.();
    for (const upstream of this.#upstreams.values()) upstream.close();
  }
}
