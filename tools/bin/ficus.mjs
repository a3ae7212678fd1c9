#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx ficus` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv, process.env);
// `ficus dev` keeps running until a signal; every other command ends here.
if (code !== 0) process.exit(code);
