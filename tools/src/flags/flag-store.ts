import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { lock } from 'proper-lockfile';
import { FicusError } from '../../../platform/src/index.js';
import type { Feature } from '../../../platform/src/flags/features.js';
import { parseFlagsFile, readFlagsFile } from '../../../platform/src/flags/file-repository.js';
import { formatFlagsFile } from './flags-file-layout.js';

/** Where serve toggles live: the local flags file, or an Unleash server's Admin API. */
export interface FlagStore {
  readonly description: string;
  get(flag: string): Promise<Feature | undefined>;
  /** Creates or replaces the toggle; resolves with the toggle it replaced, read as part of the change. */
  put(feature: Feature): Promise<Feature | undefined>;
  /**
   * Creates or replaces several toggles, in one write where the store can (the flags file:
   * all or none); resolves with the toggles they replaced, in order.
   */
  putAll(features: readonly Feature[]): Promise<Array<Feature | undefined>>;
  /** How a person deletes these toggles from this store: a sentence for `ficus flags status`. */
  howToDelete(flags: readonly string[]): string;
}

/**
 * The local client-features file. Writes are atomic (a temporary file in the same folder,
 * flushed, then renamed over), so the router never reads half a file, and serialized by a
 * lock (`<file>.lock`), so two `ficus flags` commands at once cannot lose either change. The
 * file keeps its committed layout (`formatFlagsFile`).
 */
export class FileFlagStore implements FlagStore {
  readonly description: string;
  constructor(readonly file: string) {
    this.description = `flags file ${file}`;
  }

  async #read() {
    return existsSync(this.file) ? readFlagsFile(this.file) : { version: 2, features: [] as Feature[] };
  }

  async get(flag: string) {
    return (await this.#read()).features.find((f) => f.name === flag);
  }

  howToDelete(flags: readonly string[]): string {
    return `remove ${flags.map((f) => `"${f}"`).join(', ')} from the features of ${this.file} (and commit the file)`;
  }

  async put(feature: Feature): Promise<Feature | undefined> {
    return (await this.putAll([feature]))[0];
  }

  async putAll(features: readonly Feature[]): Promise<Array<Feature | undefined>> {
    let release: () => Promise<void>;
    try {
      // A holder refreshes the lock while it works; one left by a killed command is stale after 10 s.
      release = await lock(this.file, {
        realpath: false,
        lockfilePath: `${this.file}.lock`,
        stale: 10_000,
        retries: { retries: 40, minTimeout: 25, maxTimeout: 250 },
      });
    } catch (error) {
      throw new FicusError(
        'FICUS_ERR_FLAG_SOURCE',
        `${this.file} is locked by another ficus flags command (${this.file}.lock); try again in a moment`,
        { cause: error },
      );
    }
    try {
      return await this.#write(features);
    } finally {
      await release();
    }
  }

  #unreadable = (error: Error): never => {
    throw new FicusError('FICUS_ERR_FLAG_SOURCE', `cannot read the flags file ${this.file}: ${error.message}`, {
      cause: error,
    });
  };

  async #write(features: readonly Feature[]): Promise<Array<Feature | undefined>> {
    // Only the changed toggles are rewritten: every other part of the file stays as it was written,
    // not as validation reads it (key order, numbers that validation turns into strings).
    const text = existsSync(this.file) ? await readFile(this.file, 'utf8').catch(this.#unreadable) : undefined;
    const data = text === undefined ? { version: 2, features: [] } : parseFlagsFile(text, this.file);
    const written = (text === undefined ? data : JSON.parse(text)) as { features: unknown[] };
    const previous = features.map((feature) => {
      const index = data.features.findIndex((f) => f.name === feature.name);
      if (index === -1) {
        data.features.push(feature);
        if (written !== data) written.features.push(feature);
        return undefined;
      }
      const replaced = data.features[index];
      data.features[index] = feature;
      written.features[index] = feature;
      return replaced;
    });
    const temporary = join(dirname(this.file), `.${basename(this.file)}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(formatFlagsFile(written));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return previous;
  }
}

interface AdminStrategy {
  id: string;
  name: string;
}

/** An Unleash server's Admin API (`UNLEASH_ADMIN_TOKEN`): creates missing toggles, sets their rollout, turns them on or off. */
class UnleashFlagStore implements FlagStore {
  readonly description: string;
  readonly #base: string;
  readonly #token: string;
  readonly #environment: string;

  constructor(options: { apiUrl: string; adminToken: string; project: string; environment: string }) {
    const api = options.apiUrl.replace(/\/+$/, '');
    this.#base = `${api.endsWith('/api') ? api : `${api}/api`}/admin/projects/${encodeURIComponent(options.project)}/features`;
    this.#token = options.adminToken;
    this.#environment = options.environment;
    this.description = `Unleash ${api} (project ${options.project}, environment ${options.environment})`;
  }

  howToDelete(flags: readonly string[]): string {
    // The Admin API's DELETE of a feature archives it, as the UI's "archive" does; it can be revived.
    return `archive ${flags.join(', ')} on ${this.description}: in its UI, or DELETE ${this.#base}/<flag> with an admin token`;
  }

  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: { authorization: this.#token, 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new FicusError('FICUS_ERR_FLAG_SOURCE', `cannot reach ${this.description}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw new FicusError(
        'FICUS_ERR_FLAG_SOURCE',
        `${this.description} refused UNLEASH_ADMIN_TOKEN (${response.status}); use an admin token`,
      );
    }
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  }

  #fail(what: string, result: { status: number; json: unknown }): never {
    throw new FicusError(
      'FICUS_ERR_FLAG_SOURCE',
      `${this.description}: ${what} failed with ${result.status}: ${JSON.stringify(result.json)}`,
    );
  }

  async get(flag: string): Promise<Feature | undefined> {
    const result = await this.#call('GET', `/${encodeURIComponent(flag)}`);
    if (result.status === 404) return undefined;
    if (result.status !== 200) this.#fail(`reading ${flag}`, result);
    const feature = result.json as {
      name: string;
      environments?: Array<{ name: string; enabled: boolean; strategies: Feature['strategies'] }>;
    };
    const environment = feature.environments?.find((e) => e.name === this.#environment);
    return { name: feature.name, enabled: environment?.enabled ?? false, strategies: environment?.strategies ?? [] };
  }

  async putAll(features: readonly Feature[]): Promise<Array<Feature | undefined>> {
    // The Admin API changes one toggle per call: a failure part way puts back those changed.
    const previous: Array<Feature | undefined> = [];
    try {
      for (const feature of features) previous.push(await this.put(feature));
    } catch (error) {
      for (const [i, replaced] of [...previous.entries()].reverse())
        await this.put(replaced ?? { ...features[i]!, enabled: false }).catch(() => undefined);
      throw error;
    }
    return previous;
  }

  async put(feature: Feature): Promise<Feature | undefined> {
    // The Admin API has no compare-and-set: the previous state is read just before the change.
    const previous = await this.get(feature.name);
    const flag = encodeURIComponent(feature.name);
    const created = await this.#call('POST', '', {
      name: feature.name,
      type: feature.type ?? 'release',
      description: feature.name.endsWith('.shadow')
        ? 'ficus shadow toggle: its rollout is the share of requests compared'
        : 'ficus serve toggle',
    });
    if (created.status !== 201 && created.status !== 200 && created.status !== 409)
      this.#fail(`creating ${feature.name}`, created);
    const strategiesPath = `/${flag}/environments/${encodeURIComponent(this.#environment)}/strategies`;
    const existing = await this.#call('GET', strategiesPath);
    if (existing.status !== 200) this.#fail(`listing strategies of ${feature.name}`, existing);
    const strategies = existing.json as AdminStrategy[];
    const rollout = strategies.find((s) => s.name === 'flexibleRollout');
    const strategy = feature.strategies[0]!;
    const body = { name: strategy.name, parameters: strategy.parameters, constraints: [] };
    const saved = rollout
      ? await this.#call('PUT', `${strategiesPath}/${rollout.id}`, body)
      : await this.#call('POST', strategiesPath, body);
    if (saved.status !== 200 && saved.status !== 201) this.#fail(`saving the rollout of ${feature.name}`, saved);
    // The serve toggle is ficus's: any other strategy (added in the Unleash UI, say) would
    // widen the rollout behind the stage the audit log records, so it goes.
    for (const other of strategies.filter((s) => s !== rollout)) {
      const removed = await this.#call('DELETE', `${strategiesPath}/${other.id}`);
      if (removed.status !== 200) this.#fail(`removing strategy ${other.name} from ${feature.name}`, removed);
    }
    const toggled = await this.#call(
      'POST',
      `/${flag}/environments/${encodeURIComponent(this.#environment)}/${feature.enabled ? 'on' : 'off'}`,
    );
    if (toggled.status !== 200) this.#fail(`turning ${feature.name} ${feature.enabled ? 'on' : 'off'}`, toggled);
    return previous;
  }
}

/** The Unleash server's Admin API when UNLEASH_URL is set (with an admin token), else the local flags file. */
export function storeFor(options: { flags: string }, env: Record<string, string | undefined>): FlagStore {
  if (env['UNLEASH_URL']) {
    if (!env['UNLEASH_ADMIN_TOKEN'])
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        'UNLEASH_URL is set but UNLEASH_ADMIN_TOKEN is not; set an Unleash admin token, or unset UNLEASH_URL to use the flags file',
      );
    return new UnleashFlagStore({
      apiUrl: env['UNLEASH_URL'],
      adminToken: env['UNLEASH_ADMIN_TOKEN'],
      project: env['UNLEASH_PROJECT'] ?? 'default',
      environment: env['UNLEASH_ENVIRONMENT'] ?? 'development',
    });
  }
  return new FileFlagStore(options.flags);
}
