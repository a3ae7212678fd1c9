import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { UnleashConfig } from 'unleash-client';
import { FicusError } from '../errors.js';
import { parseValidated } from '../files.js';
import { watchForChanges } from '../watch-file.js';
import { clientFeaturesSchema, type ClientFeatures, type Feature } from './features.js';

type RepositoryInterface = NonNullable<UnleashConfig['repository']>;
type Segment = NonNullable<ClientFeatures['segments']>[number];

/** Reads and validates a flags file; throws FICUS_ERR_FLAG_SOURCE naming the file and field. */
export function readFlagsFile(file: string): ClientFeatures {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FicusError('FICUS_ERR_FLAG_SOURCE', `cannot read the flags file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseFlagsFile(text, file);
}

/** Validates the text of a flags file; throws FICUS_ERR_FLAG_SOURCE naming `file` and the field. */
export function parseFlagsFile(text: string, file: string): ClientFeatures {
  const data = parseValidated(text, file, clientFeaturesSchema, {
    code: 'FICUS_ERR_FLAG_SOURCE',
    expected: 'in Unleash client-features format',
  });
  const names = new Set<string>();
  for (const [index, feature] of data.features.entries()) {
    if (names.has(feature.name))
      throw new FicusError('FICUS_ERR_FLAG_SOURCE', `${file}: features.${index}.name: "${feature.name}" appears twice`);
    names.add(feature.name);
  }
  return data;
}

/**
 * An unleash-client repository backed by a local client-features file, so local flags are
 * evaluated by exactly the same code as flags from an Unleash server. The file is polled
 * (stat every `pollMs`, robust to editors' and `ficus flags`' atomic renames); a change is
 * applied when it validates, otherwise the last good flags stay and `error` is emitted.
 */
export class FileRepository extends EventEmitter implements RepositoryInterface {
  readonly file: string;
  readonly #pollMs: number;
  #features = new Map<string, Feature>();
  #segments = new Map<number, Segment>();
  #ready = false;

  constructor(file: string, options: { pollMs?: number } = {}) {
    super();
    this.file = file;
    this.#pollMs = options.pollMs ?? 250;
  }

  /** Loads the file now; throws when it is invalid (startup must fail loudly). */
  load(): void {
    const data = readFlagsFile(this.file);
    this.#features = new Map(data.features.map((f) => [f.name, f]));
    this.#segments = new Map((data.segments ?? []).map((s) => [s.id, s]));
    if (!this.#ready) {
      this.#ready = true;
      this.emit('ready');
    }
    this.emit('changed', data.features);
  }

  #stopWatching: (() => void) | undefined;

  #reload(): void {
    try {
      this.load();
    } catch (error) {
      this.emit('error', error);
    }
  }

  async start(): Promise<void> {
    this.load();
    this.#stopWatching = watchForChanges(this.file, this.#pollMs, () => this.#reload());
  }

  stop(): void {
    this.#stopWatching?.();
  }

  getToggle(name: string) {
    return this.#features.get(name) as unknown as ReturnType<RepositoryInterface['getToggle']>;
  }

  getToggles() {
    // Validated by clientFeaturesSchema: the shape unleash-client reads.
    return [...this.#features.values()] as unknown as ReturnType<RepositoryInterface['getToggles']>;
  }

  getSegment(id: number) {
    return this.#segments.get(id) as ReturnType<RepositoryInterface['getSegment']>;
  }

  getTogglesWithSegmentData() {
    return this.getToggles().map((feature) => ({
      ...feature,
      strategies: feature.strategies?.map(({ segments, ...strategy }) => ({
        ...strategy,
        segments: segments?.map((id) => this.#segments.get(id)),
      })),
    })) as ReturnType<RepositoryInterface['getTogglesWithSegmentData']>;
  }
}
