/**
 * A stand-in for a worker process: runs one PacemakerTrainer.train in its own Node process,
 * so a test can SIGKILL it the way a node dies, while the pacemaker it started (in its own
 * process group) lives on. Not a test file: started by pacemaker-trainer.test.ts as
 * `node --import tsx worker-process.ts '<json>'`.
 */
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import type { TrainingData } from '../../../src/dataset/store.js';
import type { RunOwner } from '../../../src/trainer/stale-process.js';

interface Args {
  campaignDir: string;
  config: unknown;
  data: TrainingData;
  owner: RunOwner;
  env: Record<string, string>;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const trainer = new PacemakerTrainer({
  config: PacemakerTrainerConfig.parse(args.config),
  campaignDir: args.campaignDir,
  toolchain: simulatorToolchain(),
  generation: 0,
  env: args.env,
});
await trainer.train(args.data, null, { owner: args.owner });
console.log('training finished');
