import { InMemStorageProvider, Unleash, type Context } from 'unleash-client';
import type { Logger } from '../logger.js';
import { featureSchema, sampleOf, shadowFlagOf, stageOf, withSample, type RouteStage } from './features.js';
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
  /** Problems since start (failed fetches, unreadable files or toggles). */
  errors: number;
}

export type FlagContext = Context;

/** unleash-client's warnings that mean it could not get current flags (the rest are notes). */
const fetchProblem = /responded|backing off|retrying|unable to/i;

/** The stage of a toggle the flags do not know (or cannot read): the monolith. */
const unknownFlag: RouteStage = Object.freeze({ stage: 'monolith', percent: 0 });

/**
 * The stage of every toggle unleash-client holds. A toggle that does not validate (no
 * strategies array, a rollout of "150") is served by the monolith and named in `problems`,
 * so the stage map never goes stale behind the client's flags.
 */
function readStages(definitions: readonly unknown[]): { stages: Map<string, RouteStage>; problems: string[] } {
  const stages = new Map<string, RouteStage>();
  const samples = new Map<string, number>();
  const problems: string[] = [];
  for (const definition of definitions) {
    const name = String((definition as { name?: unknown })?.name ?? '(unnamed)');
    const parsed = featureSchema.safeParse(definition);
    if (parsed.success) {
      stages.set(name, stageOf(parsed.data));
      samples.set(name, sampleOf(parsed.data));
      continue;
    }
    stages.set(name, unknownFlag);
    samples.set(name, 0);
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(toggle)'}: ${issue.message}`);
    problems.push(`toggle ${name} is served by the monolith until it is fixed: ${issues.join('; ')}`);
  }
  // Each serve toggle with its shadow toggle's sample, so the hot path reads one map entry.
  for (const [name, sample] of samples) {
    const serve = name.slice(0, -'.shadow'.length);
    if (shadowFlagOf(serve) === name) stages.set(serve, withSample(stages.get(serve) ?? unknownFlag, sample));
  }
  return { stages, problems };
}

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
  #errors = 0;
  #problemListeners: Array<(message: string) => void> = [];

  private constructor(kind: FlagSourceKind, location: string, unleash: Unleash, logger: Logger) {
    this.kind = kind;
    this.location = location;
    this.#unleash = unleash;
    this.#logger = logger;
    // A sync clears the last error, unless a toggle it brought cannot be read.
    let toggleProblem: { message: string; at: number } | undefined;
    const synced = () => {
      this.#lastSyncAt = Date.now();
      this.#lastError = toggleProblem;
    };
    const failed = (message: string) => {
      this.#lastError = { message, at: Date.now() };
      this.#errors++;
      for (const listener of this.#problemListeners) listener(message);
      logger.error({ source: location, err: message }, 'flag source problem; keeping the last good flags');
    };
    unleash.on('changed', () => {
      this.#ready = true;
      const { stages, problems } = readStages(unleash.getFeatureToggleDefinitions());
      this.#stages = stages;
      toggleProblem = problems.length ? { message: problems.join('\n'), at: Date.now() } : undefined;
      synced();
      for (const problem of problems) failed(problem);
      logger.info({ source: location, toggles: this.#stages.size }, 'flags applied');
    });
    unleash.on('unchanged', synced);
    unleash.on('error', (error: Error) => failed(error.message));
    // unleash-client reports a server answering 5xx, 404 or 429 as a warning while it backs off:
    // for the router those are failures to get current flags.
    unleash.on('warn', (message: unknown) => {
      const text = String(message instanceof Error ? message.message : message);
      if (fetchProblem.test(text)) failed(text);
      else logger.debug({ source: location }, text);
    });
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
  static fromServer(options: {
    url: string;
    apiToken: string;
    refreshMs: number;
    logger: Logger;
    instanceId?: string;
  }): FlagSource {
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

  /** Whether the flags hold this toggle (a missing one leaves the decision to its default). */
  has(flag: string): boolean {
    return this.#stages.has(flag);
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

  /** Called on every problem (a failed fetch, an unreadable file or toggle), for metrics. */
  onProblem(listener: (message: string) => void): void {
    this.#problemListeners.push(listener);
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
    return {
      kind: this.kind,
      location: this.location,
      ready: this.#ready,
      lastSyncAt: this.#lastSyncAt,
      lastError: this.#lastError,
      errors: this.#errors,
    };
  }

  stop(): void {
    // A fetch failing while we stop would otherwise emit an error nobody listens to.
    this.#unleash.on('error', () => {});
    this.#unleash.destroy();
  }
}
