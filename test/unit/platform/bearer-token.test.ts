import { describe, expect, it } from 'vitest';
import { bearerToken } from '../../../platform/src/index.js';

describe('bearerToken', () => {
  it('reads the token whatever the case of the scheme, and nothing from other schemes or empty values', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer abc.def')).toBe('abc.def');
    expect(bearerToken('BEARER   abc.def')).toBe('abc.def');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
