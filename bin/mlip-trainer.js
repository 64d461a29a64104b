#!/usr/bin/env node
// The `mlip-trainer` command. In a clone, where the TypeScript sources sit beside this file, it
// runs them through tsx: no build step, and a dist/ left over from an earlier `npm run build` is
// never run by mistake. An installed package ships no sources and runs the compiled dist/.
import { existsSync } from 'node:fs';

const sources = new URL('../app/cli.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/app/cli.js');
}
