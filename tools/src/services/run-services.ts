import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiTokenVariable } from '../../../platform/src/index.js';
import type { ServiceDatabase } from './database.js';
import { serviceUrlVariable } from './manifest.js';
import { SupervisedProcess } from './supervise.js';

export interface RunningService {
  name: string;
  url: string;
  process: SupervisedProcess;
}

/**
 * Starts every service as its own supervised process, from its TypeScript source (tsx), on
 * 127.0.0.1 and its manifest's port, connected as its own role to its own database, and waits
 * (up to `readyTimeoutMs`) for each to be ready. Returns the router's environment for them
 * (`CATALOG_SERVICE_URL`, ...), the callers' (`CATALOG_API_TOKEN`, ...: the token each service's
 * API requires, its INTERNAL_API_TOKEN) and the running services.
 */
export async function startServices(options: {
  root: string;
  databases: readonly ServiceDatabase[];
  env: Record<string, string | undefined>;
  /** The monolith's JWT secret: a token it issues must be accepted by the service. */
  jwtSecret: string;
  say: (line: string) => void;
  readyTimeoutMs?: number;
}): Promise<{
  services: RunningService[];
  routerEnv: Record<string, string>;
  callerEnv: Record<string, string>;
  stop(): Promise<void>;
}> {
  const services: RunningService[] = [];
  const routerEnv: Record<string, string> = {};
  const callerEnv: Record<string, string> = {};
  for (const { service, url: databaseUrl } of options.databases) {
    // <NAME>_SERVICE_PORT moves a service off its manifest's port (two demos on one machine, tests).
    const port = options.env[serviceUrlVariable(service.name).replace(/_URL$/, '_PORT')] ?? String(service.port);
    const url = `http://127.0.0.1:${port}`;
    // A token of its own per service and run, as for SHADOW_SECRET: nothing outlives the run that
    // needs it, and the API is never left open in the demo. One given in the environment is kept.
    const tokenVariable = apiTokenVariable(service.name);
    const token = options.env[tokenVariable] ?? randomBytes(32).toString('base64url');
    const child = new SupervisedProcess({
      name: service.name,
      command: process.execPath,
      args: ['--import', 'tsx', join(options.root, service.dir, 'src/server.ts')],
      env: {
        ...options.env,
        HOST: '127.0.0.1',
        PORT: port,
        DATABASE_URL: databaseUrl,
        JWT_SECRET: options.jwtSecret,
        INTERNAL_API_TOKEN: token,
        // The router prints a line per request it sends there; the service only says what goes wrong.
        LOG_LEVEL: options.env['SERVICE_LOG_LEVEL'] ?? 'warn',
      },
      url,
      say: options.say,
    });
    services.push({ name: service.name, url, process: child });
    routerEnv[serviceUrlVariable(service.name)] = options.env[serviceUrlVariable(service.name)] ?? url;
    callerEnv[tokenVariable] = token;
  }
  const stop = async () => void (await Promise.all(services.map((s) => s.process.stop())));
  for (const service of services) {
    if (!(await service.process.ready(options.readyTimeoutMs ?? 30_000))) {
      options.say(
        `ficus: ${service.name} is not ready at ${service.url}/readyz yet; the router falls back to the monolith`,
      );
    }
  }
  return { services, routerEnv, callerEnv, stop };
}
