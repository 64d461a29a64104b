/**
 * A worker host's training slots: which GPU and how many CPU threads each concurrent fit gets,
 * and the environment that tells pacemaker and TensorFlow so.
 *
 * Without it, four TensorFlow fits on one node all see every GPU and TensorFlow maps all of a
 * GPU's memory by default, so the second fit fails or they share GPU 0; and concurrent CPU fits
 * each start a thread per core. Planning is pure (unit-tested without a process); the pool only
 * hands slots out and takes them back.
 */
import { BadInputError } from '../errors.js';

/** What one training slot gives the fit that holds it. */
export interface SlotResources {
  /** 0-based slot number on this host. */
  slot: number;
  /** The GPU the fit sees, as `--gpus` names it (an index or a UUID); null: not pinned. */
  gpu: string | null;
  /** Threads of each program of the fit; null: the programs' own defaults. */
  threads: number | null;
  /** The environment that tells the programs so (added to the fit's environment). */
  env: Record<string, string>;
}

export interface SlotPlan {
  /** Trainings at once on this host. */
  slots: number;
  /** GPUs to hand out, one per slot; empty: fits are not pinned (CPU nodes). */
  gpus: readonly string[];
  /** CPU cores this process may use (os.availableParallelism(): the batch job's CPU set). */
  cores: number;
  /** Threads per fit; absent or null: cores / slots, at least 1. */
  cpusPerSlot?: number | null;
}

/**
 * The GPUs of `--gpus` ("0,1,2,3", "none" or ""), else of CUDA_VISIBLE_DEVICES as a batch
 * scheduler sets it for the job, else none. Tokens are kept as written: CUDA takes indices or
 * `GPU-<uuid>` names, and both mean the same thing to it inside one job.
 */
export function parseGpus(flag: string | undefined, cudaVisibleDevices: string | undefined): string[] {
  const raw = flag ?? cudaVisibleDevices ?? '';
  const where = flag !== undefined ? '--gpus' : 'CUDA_VISIBLE_DEVICES';
  const text = raw.trim();
  // CUDA itself reads "" and "-1" as "no GPU"; SLURM writes NoDevFiles when a job has none.
  if (text === '' || text === 'none' || text === '-1' || text === 'NoDevFiles') return [];
  const gpus = text.split(',').map((g) => g.trim());
  const bad = gpus.find((g) => !/^[A-Za-z0-9][A-Za-z0-9:_.-]*$/.test(g));
  if (bad !== undefined) throw new BadInputError(`${where} must list GPUs separated by commas (e.g. 0,1,2,3), got ${JSON.stringify(raw)}`);
  const seen = new Set<string>();
  for (const g of gpus) {
    if (seen.has(g)) throw new BadInputError(`${where} names GPU ${g} twice (${JSON.stringify(raw)}): two slots on one GPU would fight over its memory`);
    seen.add(g);
  }
  return gpus;
}

/**
 * The environment of a fit with `threads` threads on `gpu`:
 * - `CUDA_VISIBLE_DEVICES`: the fit sees its GPU only (as index 0, which is what pacemaker's
 *   `gpu_config.gpu_ind` selects by default), and `TF_FORCE_GPU_ALLOW_GROWTH`: TensorFlow takes
 *   GPU memory as it needs it instead of all of it at start;
 * - `TF_NUM_INTRAOP_THREADS` / `TF_NUM_INTEROP_THREADS`: TensorFlow's thread pools (the
 *   `tensorpot` evaluator), read by TensorFlow itself at start;
 * - `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`: NumPy's and SciPy's BLAS (the
 *   `pyace` evaluator's BFGS and the helpers), whichever BLAS the installation has.
 */
export function slotEnv(gpu: string | null, threads: number | null): Record<string, string> {
  const env: Record<string, string> = {};
  if (gpu !== null) {
    env.CUDA_VISIBLE_DEVICES = gpu;
    env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  }
  if (threads !== null) {
    const n = String(threads);
    Object.assign(env, {
      OMP_NUM_THREADS: n,
      OPENBLAS_NUM_THREADS: n,
      MKL_NUM_THREADS: n,
      TF_NUM_INTRAOP_THREADS: n,
      // Independent ops at once: more than two only adds threads that wait for the intra-op pool.
      TF_NUM_INTEROP_THREADS: String(Math.min(2, threads)),
    });
  }
  return env;
}

/** One SlotResources per slot; a slot count above the GPU count is refused, naming both. */
export function planSlots(p: SlotPlan): SlotResources[] {
  if (!Number.isInteger(p.slots) || p.slots < 1) throw new BadInputError(`--training-slots must be a positive integer, got ${p.slots}`);
  if (p.gpus.length > 0 && p.slots > p.gpus.length) {
    throw new BadInputError(
      `--training-slots ${p.slots} needs ${p.slots} GPUs (one per training slot), but only ${p.gpus.length} are given (${p.gpus.join(',')}): ` +
        `pass --gpus with ${p.slots} GPUs, or --training-slots ${p.gpus.length}`,
    );
  }
  if (p.cpusPerSlot !== undefined && p.cpusPerSlot !== null && !(Number.isInteger(p.cpusPerSlot) && p.cpusPerSlot >= 1)) {
    throw new BadInputError(`--cpus-per-slot must be a positive integer, got ${p.cpusPerSlot}`);
  }
  const threads = p.cpusPerSlot ?? Math.max(1, Math.floor(p.cores / p.slots));
  return Array.from({ length: p.slots }, (_, slot) => {
    const gpu = p.gpus[slot] ?? null;
    return { slot, gpu, threads, env: slotEnv(gpu, threads) };
  });
}

/** A slot held by one fit until it calls `release`. */
export interface SlotLease {
  resources: SlotResources;
  release(): void;
}

/**
 * Hands each running fit a slot of its own and takes it back. Temporal starts no more trainings
 * than there are slots, so `acquire` waits only where one host's queue adds more (a host queue
 * polled beside the training queue); it gives up when `signal` aborts.
 */
export class SlotPool {
  private readonly free: SlotResources[];
  private readonly waiting: ((s: SlotResources) => void)[] = [];

  constructor(readonly slots: readonly SlotResources[]) {
    this.free = [...slots];
  }

  get available(): number {
    return this.free.length;
  }

  async acquire(signal?: AbortSignal): Promise<SlotLease> {
    const slot =
      this.free.shift() ??
      (await new Promise<SlotResources>((resolve, reject) => {
        const take = (s: SlotResources) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(take);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for a training slot'));
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(take);
      }));
    let released = false;
    return {
      resources: slot,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(slot);
        else this.free.push(slot);
      },
    };
  }
}
