// Training slots: one GPU per slot, threads per slot, the environment that says so, and a pool
// that hands each running fit a slot of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGpus, planSlots, slotEnv, SlotPool } from '../../../src/process/slots.js';
import { BadInputError } from '../../../src/errors.js';

test('GPUs come from --gpus, else from CUDA_VISIBLE_DEVICES, else there are none', () => {
  assert.deepEqual(parseGpus('0,1,2,3', '5'), ['0', '1', '2', '3']);
  assert.deepEqual(parseGpus(undefined, '2,3'), ['2', '3']);
  assert.deepEqual(parseGpus(undefined, undefined), []);
  assert.deepEqual(parseGpus('none', '0,1'), [], '--gpus none overrides the environment');
  assert.deepEqual(parseGpus(undefined, 'NoDevFiles'), []);
  assert.deepEqual(parseGpus(' GPU-8a1b2c3d , GPU-9f00aa11', undefined), ['GPU-8a1b2c3d', 'GPU-9f00aa11']);
  assert.throws(() => parseGpus('0,,1', undefined), (e: unknown) => e instanceof BadInputError && /--gpus must list GPUs separated by commas \(e\.g\. 0,1,2,3\), got "0,,1"/.test(e.message));
  assert.throws(() => parseGpus(undefined, '0,0'), /CUDA_VISIBLE_DEVICES names GPU 0 twice/);
});

test('each slot gets its own GPU, allocating memory as it needs it, and cores / slots threads', () => {
  const slots = planSlots({ slots: 4, gpus: ['0', '1', '2', '3'], cores: 32 });
  assert.deepEqual(slots.map((s) => s.gpu), ['0', '1', '2', '3']);
  assert.deepEqual(slots[2]!.env, {
    CUDA_VISIBLE_DEVICES: '2',
    TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    OMP_NUM_THREADS: '8',
    OPENBLAS_NUM_THREADS: '8',
    MKL_NUM_THREADS: '8',
    TF_NUM_INTRAOP_THREADS: '8',
    TF_NUM_INTEROP_THREADS: '2',
  });
  // More GPUs than slots: the extra ones stay idle.
  assert.deepEqual(planSlots({ slots: 1, gpus: ['4', '5'], cores: 2 }).map((s) => s.gpu), ['4']);
});

test('CPU fits are not pinned to a GPU; --cpus-per-slot overrides cores / slots, which is at least 1', () => {
  const cpu = planSlots({ slots: 3, gpus: [], cores: 2 });
  assert.deepEqual(cpu.map((s) => [s.gpu, s.threads]), [[null, 1], [null, 1], [null, 1]]);
  assert.equal(cpu[0]!.env.CUDA_VISIBLE_DEVICES, undefined);
  assert.equal(cpu[0]!.env.TF_NUM_INTEROP_THREADS, '1');
  assert.equal(planSlots({ slots: 2, gpus: [], cores: 16, cpusPerSlot: 6 })[1]!.threads, 6);
  assert.deepEqual(slotEnv(null, null), {});
});

test('more slots than GPUs is refused, naming both counts and the two ways out', () => {
  assert.throws(
    () => planSlots({ slots: 4, gpus: ['0', '1'], cores: 8 }),
    (e: unknown) =>
      e instanceof BadInputError &&
      e.message === '--training-slots 4 needs 4 GPUs (one per training slot), but only 2 are given (0,1): pass --gpus with 4 GPUs, or --training-slots 2',
  );
  assert.throws(() => planSlots({ slots: 0, gpus: [], cores: 8 }), /--training-slots must be a positive integer, got 0/);
  assert.throws(() => planSlots({ slots: 1, gpus: [], cores: 8, cpusPerSlot: 0 }), /--cpus-per-slot must be a positive integer, got 0/);
});

test('the pool gives every running fit a different slot; a fit waits for a released one and gives up when cancelled', async () => {
  const pool = new SlotPool(planSlots({ slots: 2, gpus: ['0', '1'], cores: 4 }));
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.notEqual(a.resources.gpu, b.resources.gpu);
  assert.equal(pool.available, 0);
  const waiting = pool.acquire();
  const ac = new AbortController();
  const cancelled = pool.acquire(ac.signal);
  ac.abort(new Error('activity cancelled'));
  await assert.rejects(cancelled, /activity cancelled/);
  a.release();
  a.release(); // twice is harmless
  const c = await waiting;
  assert.equal(c.resources.gpu, a.resources.gpu);
  assert.equal(pool.available, 0);
  b.release();
  c.release();
  assert.equal(pool.available, 2);
});
