#!/usr/bin/env node
// In this repository the TypeScript sources run directly (tsx, a development dependency), so `npm start` and
// `npx ficus` need no build step. An installed package holds neither the sources nor tsx: it runs the build.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
const built = new URL('../../dist/tools/src/cli.js', import.meta.url);

async function tsx() {
  try {
    return await import('tsx/esm/api');
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

async function load() {
  const loader = existsSync(source) ? await tsx() : undefined;
  if (loader) {
    loader.register();
    return import(source.href);
  }
  if (existsSync(built)) return import(built.href);
  process.stderr.write('ficus: found neither tools/src with tsx (run npm install) nor the build (run npm run build)\n');
  process.exit(1);
}

// `ficus flags status | head`: a reader that stops early is not the command's failure; what it
// was printing is dropped, and the command (or `ficus dev`, with its children) goes on.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

const { main } = await load();
const code = await main(process.argv, process.env);
// `ficus dev` and `ficus router` keep running until a signal; every other command ends here.
if (code !== 0) process.exit(code);
