import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RouteStage } from '../../../platform/src/flags/features.js';

export interface AuditEntry {
  at: string;
  who: string;
  route: string;
  flag: string;
  from: RouteStage;
  to: RouteStage;
  store: string;
  /** The parity the gate saw on a promotion. */
  parity?: Record<string, unknown>;
  /** Set when the gate refused and `--force --reason` went on. */
  forced?: { reason: string; unmet: string[] };
  /** Why, when a command other than `ficus flags` changed the flag (a cutover, a revert). */
  reason?: string;
}

/** Appends one JSON line per stage change: who, when, from, to. */
export async function appendAudit(file: string, entry: AuditEntry): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(entry)}\n`);
}
