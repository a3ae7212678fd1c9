import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { compareJson, type Difference } from '../../../router/src/shadow/compare.js';
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

/** One difference in words, naming the sides: `$.items: 2 items against 1`. */
export function describeDifference(d: Difference, first: string, second: string): string {
  const show = (v: unknown) => JSON.stringify(v);
  switch (d.kind) {
    case 'missing':
      return `${d.path}: only in ${first}`;
    case 'extra':
      return `${d.path}: only in ${second}`;
    case 'length':
      return `${d.path}: ${d.primary} items against ${d.candidate}`;
    case 'order':
      return `${d.path}: the same items in another order`;
    default:
      return `${d.path}: ${show(d.primary)} against ${show(d.candidate)} (${first} against ${second})`;
  }
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
      for (const difference of compareJson(first.body, second.body, { ignore: testCase.ignore })) {
        problems.push(`body ${describeDifference(difference, a!.name, b!.name)}`);
      }
    }
    const statuses = Object.fromEntries(targets.flatMap((t, i) => (answers[i] ? [[t.name, answers[i].status]] : [])));
    results.push({ name: testCase.name, passed: problems.length === 0, statuses, problems });
  }
  return results;
}
