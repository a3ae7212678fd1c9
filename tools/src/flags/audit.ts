import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
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

/** The audit log of a flags file: `--audit`, else `flags-audit.jsonl` beside the flags file. */
export function auditFileOf(flagsFile: string, audit?: string): string {
  return audit ?? join(dirname(flagsFile), 'flags-audit.jsonl');
}

/** Appends one JSON line per stage change: who, when, from, to. */
export async function appendAudit(file: string, entry: AuditEntry): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(entry)}\n`);
}

/** What reading the log needs of an entry: when, which flag, to what. */
const entrySchema = z.looseObject({
  at: z.iso.datetime({ offset: true }),
  flag: z.string(),
  to: z.looseObject({ stage: z.string(), percent: z.number().optional().nullable() }).optional(),
});

export type AuditRecord = Pick<z.output<typeof entrySchema>, 'at' | 'flag' | 'to'>;

/** The audit log as read back: its entries in file order, and the lines that were not entries. */
export interface AuditLog {
  file: string;
  exists: boolean;
  entries: AuditRecord[];
  /** Lines that are not JSON entries with `at` and `flag` (a hand edit, a line cut short by a crash). */
  unreadable: number;
}

export async function readAudit(file: string): Promise<AuditLog> {
  if (!existsSync(file)) return { file, exists: false, entries: [], unreadable: 0 };
  const entries: AuditRecord[] = [];
  let unreadable = 0;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      unreadable++;
      continue;
    }
    const parsed = entrySchema.safeParse(json);
    if (parsed.success) entries.push(parsed.data);
    else unreadable++;
  }
  return { file, exists: true, entries, unreadable };
}
