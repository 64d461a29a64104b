// The SLURM job script of examples/slurm, run by bash as sbatch runs it, with stand-ins for the
// worker and scontrol: SLURM's early SIGTERM to the batch shell stops the worker and requeues
// the job. (The worker's side, a fit handed over on SIGTERM, is in
// test/integration/workflows/train-potential/worker-hosts.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/paths.js';
import { exists } from '../../../src/util/files.js';
import { until } from '../../helpers/wait.js';

const SCRIPT = join(PROJECT_ROOT, 'examples', 'slurm', 'training-worker.sbatch');

test('the SLURM job script stops the worker with SIGTERM when SLURM signals ahead of the walltime, waits for it, then requeues the job', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slurm-'));
  const events = join(dir, 'events.txt');
  // The worker: says it runs, and on SIGTERM takes a moment to stop its fits before exiting 0.
  await writeFile(
    join(dir, 'mlip-trainer'),
    `#!/bin/sh\ntrap 'echo "worker: SIGTERM" >> ${events}; sleep 0.5; echo "worker: stopped" >> ${events}; exit 0' TERM\necho "worker: $*" >> ${events}\nwhile true; do sleep 0.1; done\n`,
  );
  await writeFile(join(dir, 'scontrol'), `#!/bin/sh\necho "scontrol $*" >> ${events}\n`);
  await chmod(join(dir, 'mlip-trainer'), 0o755);
  await chmod(join(dir, 'scontrol'), 0o755);
  const job = spawn('bash', [SCRIPT], {
    cwd: dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, MLIP_TRAINER: join(dir, 'mlip-trainer'), SLURM_JOB_ID: '4242', SLURM_GPUS_ON_NODE: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  job.stdout.on('data', (b: Buffer) => (output += b.toString()));
  const ended = new Promise<number | null>((r) => job.once('exit', (code) => r(code)));
  await until('the worker started by the job script', async () => (await exists(events)) && /worker: worker/.test(await readFile(events, 'utf8')));
  job.kill('SIGTERM'); // what --signal=B:TERM@300 sends, to the batch shell only
  await ended;
  const lines = (await readFile(events, 'utf8')).trim().split('\n');
  assert.match(lines[0]!, /^worker: worker --role training --workspace \/shared\/mlip --pacemaker \/opt\/pace\/bin --training-slots 2$/);
  assert.deepEqual(lines.slice(1), ['worker: SIGTERM', 'worker: stopped', 'scontrol requeue 4242'], 'requeued only after the worker stopped');
  assert.match(output, /walltime near: stopping the worker and requeueing job 4242/);
});
