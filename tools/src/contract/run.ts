import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { type Contract, type ContractCase, shapeMismatches } from './cases.js';

/** One side a contract runs against: the monolith or the service. */
export interface ContractTarget {
  name: string;
  url: string;
}

interface Answer {
  status: number;
  body: unknown;
}

export interface CaseResult {
  name: string;
  passed: boolean;
  /** Per target: its status. */
  statuses: Record<string, number>;
  problems: string[];
}

/** `items[3].price` → `items[*].price`, to match ignore rules written for any element. */
const generalised = (path: string) => path.replace(/\[\d+\]/g, '[*]');

function ignored(path: string, ignore: readonly string[]): boolean {
  const bare = generalised(path).replace(/^\$\.?/, '');
  return ignore.some((rule) => bare === rule || bare.startsWith(`${rule}.`) || bare.startsWith(`${rule}[`));
}

/** Where two JSON values differ, one line per difference with its path; `ignore` paths are skipped. */
export function jsonDifferences(a: unknown, b: unknown, ignore: readonly string[] = [], path = '$'): string[] {
  if (ignored(path, ignore)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const lines = a.length === b.length ? [] : [`${path}: ${a.length} items against ${b.length}`];
    for (let i = 0; i < Math.min(a.length, b.length); i++)
      lines.push(...jsonDifferences(a[i], b[i], ignore, `${path}[${i}]`));
    return lines;
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => {
      const at = `${path}.${key}`;
      if (!(key in b)) return ignored(at, ignore) ? [] : [`${at}: only in the first`];
      if (!(key in a)) return ignored(at, ignore) ? [] : [`${at}: only in the second`];
      return jsonDifferences(a[key], b[key], ignore, at);
    });
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} against ${JSON.stringify(b)}`];
}

async function ask(target: ContractTarget, testCase: ContractCase, requestId: string): Promise<Answer> {
  const { method, path, headers, body } = testCase.request;
  const response = await request(new URL(path, target.url), {
    method,
    headers: {
      ...headers,
      'x-request-id': requestId,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: compared as text.
  }
  return { status: response.statusCode, body: parsed };
}

/**
 * Runs each case against every target (the same request, with the same request id, so ids
 * echoed in bodies match) and checks it: the expected status and shape on each side, and, with
 * two targets, the same status and body on both (parity).
 */
export async function runContract(contract: Contract, targets: readonly ContractTarget[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of contract.cases) {
    const requestId = randomUUID();
    const problems: string[] = [];
    const answers = await Promise.all(
      targets.map((target) =>
        ask(target, testCase, requestId).catch((error: Error) => {
          problems.push(`${target.name} (${target.url}) did not answer: ${error.message}`);
          return undefined;
        }),
      ),
    );
    targets.forEach((target, index) => {
      const answer = answers[index];
      if (!answer) return;
      const { status, shape } = testCase.expect;
      if (status !== undefined && answer.status !== status)
        problems.push(`${target.name}: status ${answer.status}, expected ${status}`);
      if (shape !== undefined)
        problems.push(...shapeMismatches(answer.body, shape).map((line) => `${target.name}: ${line}`));
    });
    const [first, second] = answers;
    if (first && second) {
      const [a, b] = targets;
      if (first.status !== second.status)
        problems.push(`status: ${a!.name} ${first.status}, ${b!.name} ${second.status}`);
      problems.push(
        ...jsonDifferences(first.body, second.body, testCase.ignore).map(
          (line) => `body ${line} (${a!.name} against ${b!.name})`,
        ),
      );
    }
    const statuses = Object.fromEntries(targets.flatMap((t, i) => (answers[i] ? [[t.name, answers[i].status]] : [])));
    results.push({ name: testCase.name, passed: problems.length === 0, statuses, problems });
  }
  return results;
}
