import { InMemStorageProvider, Unleash, type Context } from 'unleash-client';
import type { Logger } from '../../../platform/src/index.js';
import { stageOf, type Feature, type RouteStage } from './features.js';
import { FileRepository } from './file-repository.js';

export type FlagSourceKind = 'file' | 'unleash';

export interface FlagSourceStatus {
  kind: FlagSourceKind;
  /** The flags file, or the Unleash API URL. */
  location: string;
  /** Whether flags were ever received; until then every route is served by the monolith. */
  ready: boolean;
  /** When the flags were last confirmed current (loaded, or fetched with or without changes). */
  lastSyncAt: number | undefined;
  /** The last problem, kept until the next successful sync. */
  lastError: { message: string; at: number } | undefined;
}

export type FlagContext = Context;

/** The stage of a toggle the flags do not know: the monolith. */
const unknownFlag: RouteStage = Object.freeze({ stage: 'monolith', percent: 0 });

/**
 * The router's view of the serve toggles, evaluated by unleash-client whichever the source:
 * a local client-features file (default) or a real Unleash server. A failing source never
 * fails a request: it keeps the last known flags, or — if none were ever known — the monolith.
 */
export class FlagSource {
  readonly kind: FlagSourceKind;
  readonly location: string;
  readonly #unleash: Unleash;
  readonly #logger: Logger;
  #stages = new Map<string, RouteStage>();
  #ready = false;
  #lastSyncAt: number | undefined;
  #lastError: { message: string; at: number } | undefined;

  private constructor(kind: FlagSourceKind, location: string, unleash: Unleash, logger: Logger) {
    this.kind = kind;
    this.location = location;
    this.#unleash = unleash;
    this.#logger = logger;
    const synced = () => {
      this.#lastSyncAt = Date.now();
      this.#lastError = undefined;
    };
    unleash.on('changed', () => {
      this.#ready = true;
      synced();
      this.#stages = new Map(unleash.getFeatureToggleDefinitions().map((f) => [f.name, stageOf(f as unknown as Feature)]));
      logger.info({ source: location, toggles: this.#stages.size }, 'flags applied');
    });
    unleash.on('unchanged', synced);
    unleash.on('error', (error: Error) => {
      this.#lastError = { message: error.message, at: Date.now() };
      logger.error({ source: location, err: error.message }, 'flag source problem; keeping the last good flags');
    });
    unleash.on('warn', (message: string) => logger.debug({ source: location }, message));
  }

  /** Flags from a local client-features file, re-read within a second of a change. */
  static fromFile(file: string, options: { logger: Logger; pollMs?: number }): FlagSource {
    const unleash = new Unleash({
      appName: 'ficus-router',
      url: 'http://127.0.0.1:9/unused',
      repository: new FileRepository(file, options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      disableMetrics: true,
      disableAutoStart: true,
      refreshInterval: 0,
      storageProvider: new InMemStorageProvider(),
    });
    return new FlagSource('file', file, unleash, options.logger);
  }

  /** Flags from an Unleash server's client API. */
  static fromServer(options: { url: string; apiToken: string; refreshMs: number; logger: Logger; instanceId?: string }): FlagSource {
    const unleash = new Unleash({
      appName: 'ficus-router',
      url: options.url,
      customHeaders: { Authorization: options.apiToken },
      refreshInterval: options.refreshMs,
      disableMetrics: true,
      disableAutoStart: true,
      storageProvider: new InMemStorageProvider(),
      ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    });
    return new FlagSource('unleash', options.url, unleash, options.logger);
  }

  /** File: loads (and throws on a bad file, so startup fails). Server: starts polling; does not wait. */
  async start(): Promise<void> {
    await this.#unleash.start();
  }

  /** The stage a serve toggle sets; unknown toggles are the monolith stage. */
  stage(flag: string): RouteStage {
    return this.#stages.get(flag) ?? unknownFlag;
  }

  /** unleash-client's verdict for this context; false (the monolith) on any problem. */
  isEnabled(flag: string, context: FlagContext): boolean {
    try {
      return this.#unleash.isEnabled(flag, context, false);
    } catch (error) {
      this.#logger.warn({ flag, err: (error as Error).message }, 'flag evaluation failed; serving from the monolith');
      return false;
    }
  }

  /**
   * Seconds since the flags were last confirmed current; undefined if they never were. A
   * watched file is applied on every change: its flags are current unless the last read failed.
   */
  ageSeconds(): number | undefined {
    if (this.kind === 'file' && this.#ready && !this.#lastError) return 0;
    return this.#lastSyncAt === undefined ? undefined : (Date.now() - this.#lastSyncAt) / 1000;
  }

  status(): FlagSourceStatus {
    return { kind: this.kind, location: this.location, ready: this.#ready, lastSyncAt: this.#lastSyncAt, lastError: this.#lastError };
  }

  stop(): void {
    // A fetch failing while we stop would otherwise emit an error nobody listens to.
    this.#unleash.on('error', () => {});
    this.#unleash.destroy();
  }
}
