/**
 * `npm run bench`: performance goals, reported as tables of figures measured in this one run.
 * Never timed assertions: machines here are 2 cores and noisy. One module per goal; pass names
 * to run some (`npm run bench -- orchestration`).
 */
import { orchestrationOverhead } from './orchestration.js';
import { workflowVersusDirect } from './workflow.js';
import { selectionGoals } from './selection.js';
import { trainingGoals } from './training.js';
import { datasetAppend } from './dataset.js';
import { stallWatchdogOverhead } from './stall.js';
import { activeLearningBench } from './active-learning.js';

const BENCHES: Record<string, () => Promise<void>> = {
  orchestration: orchestrationOverhead,
  // The stall watchdog's cost is part of what a workflow's training costs.
  workflow: async () => {
    await workflowVersusDirect();
    await stallWatchdogOverhead();
  },
  stall: stallWatchdogOverhead,
  selection: selectionGoals,
  training: trainingGoals,
  dataset: datasetAppend,
  'active-learning': activeLearningBench,
};

/** Long (tens of minutes with the real pacemaker): run only when named. */
const ONLY_WHEN_NAMED = new Set(['active-learning']);

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(BENCHES)) {
  if (wanted.length === 0 ? !ONLY_WHEN_NAMED.has(name) : wanted.includes(name)) await run();
}
