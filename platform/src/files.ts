import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { FicusError, type ErrorCode } from './errors.js';

/** What a validated-file read reports its problems as. */
export interface FileProblem {
  /** The error code callers (and the CLI's exit code) go by. */
  code: ErrorCode;
  /** What the file should be, for the message: "a ficus boundaries baseline". */
  expected: string;
  /** What to do about it, appended to the message. */
  hint?: string;
}

/** One line per zod issue: `  file: path.to.field: message`. */
export function issueLines(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `  ${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`).join('\n');
}

/**
 * Parses JSON text and validates it with `schema`; a FicusError names the file, every field at
 * fault and what to do. The one reading of ficus's JSON files (config, baseline, manifests, flags).
 */
export function parseValidated<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  problem: FileProblem,
): z.output<S> {
  const hint = problem.hint ? `; ${problem.hint}` : '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FicusError(problem.code, `${file} is not valid JSON (${(error as Error).message})${hint}`, {
      cause: error,
    });
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new FicusError(
      problem.code,
      `${file} is not ${problem.expected}${hint}:\n${issueLines(file, result.error.issues)}`,
    );
  return result.data;
}

/** Reads a JSON file and validates it (see parseValidated); an unreadable file is the same kind of error. */
export function readValidated<S extends z.ZodType>(file: string, schema: S, problem: FileProblem): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FicusError(problem.code, `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseValidated(text, file, schema, problem);
}

/**
 * Every file below `root/dir` (paths relative to `root`, `/`-separated) whose name `accept`s,
 * skipping node_modules and dot-folders; a folder that cannot be read is skipped.
 */
export function listFiles(root: string, dir: string, accept: (name: string) => boolean, out: string[] = []): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) listFiles(root, path, accept, out);
    else if (accept(entry.name)) out.push(path);
  }
  return out;
}
