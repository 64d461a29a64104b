#!/usr/bin/env node
// `npm run build` (and `npm pack`, through prepack): compiles the TypeScript to dist/ and bundles
// the workflows once, to dist/workflow-bundle.js, which the workers of an installed package load
// (app/worker.ts) instead of running webpack at every start, as Temporal advises for production.
// A clone never needs this: bin/mlip-trainer.js runs the sources through tsx.
import { rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Files of sources deleted since the last build must not ship.
rmSync(dist, { recursive: true, force: true });

const require = createRequire(import.meta.url);
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// From the compiled workflows, so the bundle holds exactly the code that ships.
const { bundleWorkflowCode } = await import('@temporalio/worker');
const noop = () => undefined;
const { code } = await bundleWorkflowCode({
  workflowsPath: join(dist, 'workflows', 'index.js'),
  logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
});
writeFileSync(join(dist, 'workflow-bundle.js'), code);
console.log(`build: dist/ compiled, workflows bundled to dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB)`);
