import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../platform/src/index.js';

/** A logger whose JSON lines a test reads back, e.g. to check what an operator would be told. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level, name: 'test', destination }), lines };
}
