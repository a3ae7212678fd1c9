import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, FicusError, toProblem } from '../../../platform/src/index.js';

const documented = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documentedCodes = [...documented.matchAll(/^\| `(FICUS_ERR_[A-Z_]+)` \| ([^|]+) \|/gm)].map(
  ([, code, status]) => ({ code: code!, status: status!.trim() }),
);

describe('error codes', () => {
  it('documents every code in docs/errors.md, with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(errorCodes)) {
      const entry = documentedCodes.find((d) => d.code === code);
      expect(entry, `${code} is missing from docs/errors.md`).toBeDefined();
      if (entry!.status !== '—') expect(Number(entry!.status), code).toBe(status);
    }
  });

  it('documents no code that does not exist', () => {
    expect(documentedCodes.map((d) => d.code).filter((code) => !(code in errorCodes))).toEqual([]);
  });

  it('renders an RFC 9457 problem with code, instance, request id and field errors', () => {
    const error = new FicusError('FICUS_ERR_VALIDATION', 'invalid body', {
      errors: [{ pointer: '/a', detail: 'bad' }],
      extensions: { hint: 1 },
    });
    expect(toProblem(error, { instance: '/x', requestId: 'r1' })).toEqual({
      type: 'urn:ficus:error:FICUS_ERR_VALIDATION',
      title: 'Request validation failed',
      status: 400,
      detail: 'invalid body',
      instance: '/x',
      code: 'FICUS_ERR_VALIDATION',
      requestId: 'r1',
      errors: [{ pointer: '/a', detail: 'bad' }],
      hint: 1,
    });
  });

  it('does not let an extension overwrite the standard members', () => {
    const error = new FicusError('FICUS_ERR_CONFLICT', 'taken', { extensions: { status: 200, code: 'nope' } });
    expect(toProblem(error)).toMatchObject({ status: 409, code: 'FICUS_ERR_CONFLICT' });
  });
});
