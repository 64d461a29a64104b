/**
 * The composition root of the workers: the one module that imports the activities and knows
 * where the workflow code is, and hands both to the library's worker module
 * (src/temporal/worker.ts) as a WorkerComposition.
 *
 * Why here and not in src/: the library sits below activities/ and workflows/ (they import it),
 * so a src/ module importing them would turn the layers into a circle and drag every activity's
 * I/O into whatever imports the worker code. The composition is built above all three, in app/,
 * and injected: the CLI gets it from its entry point (app/cli.ts), tests and benchmarks import it
 * or build their own.
 */
import { fileURLToPath } from 'node:url';
import { createActivities } from '../activities/index.js';
import { bundleWorkflows, type WorkerComposition, type WorkflowCode } from '../src/temporal/worker.js';

/** Compiled (dist/app/worker.js: an installed package) rather than run from the TypeScript sources. */
const COMPILED = import.meta.url.endsWith('.js');

/** The workflows' entry module among the sources, bundled by a worker at start (a few seconds). */
export const WORKFLOWS_SOURCES = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The workflow code: in a clone, the sources, bundled at start, so an edit needs no build step;
 * compiled, the bundle `npm run build` wrote beside the compiled code (dist/workflow-bundle.js),
 * so an installed package starts its workers without webpack, as Temporal advises for production.
 */
export const workflowCode: WorkflowCode = COMPILED
  ? { workflowBundle: { codePath: fileURLToPath(new URL('../workflow-bundle.js', import.meta.url)) } }
  : { workflowsPath: WORKFLOWS_SOURCES };

/** What every worker of this project registers: the activities of createActivities and the workflows. */
export const composition: WorkerComposition = { createActivities, workflows: workflowCode };

/** Bundles the workflow sources once, for tests that start many workers or replay histories. */
export function bundleWorkflowSources(): ReturnType<typeof bundleWorkflows> {
  return bundleWorkflows(WORKFLOWS_SOURCES);
}
