import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Runs each test of the file with `main`'s output captured, as a user would see it: stdout and
 * stderr interleaved, read with `output()`. process.exit throws: a usage error anywhere must come
 * back as an exit code, never end the test run (whose code 1 means "violations" to CI).
 */
export function captureCliOutput(): { output(): string } {
  let written = '';
  beforeEach(() => {
    written = '';
    const capture = (chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)}) called`);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return { output: () => written };
}
