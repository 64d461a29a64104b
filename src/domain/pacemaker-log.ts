/**
 * Parsers for what pacemaker writes: its per-iteration log line and its whitespace metrics
 * tables. Pure, so the progress logic is unit-tested without a process.
 */

const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)`;

// 2026-11-30 04:44:45,637 I - Iteration   #1    (454 evals):      Loss: 2.0918e-01 | RMSE Energy(low): 129.61 (129.61) meV/at | Forces(low): 468.36 (468.36) meV/A | Time/eval: 118.99 mcs/at
const ITERATION_RE = new RegExp(
  String.raw`Iteration\s+#(\d+)\s+\((\d+)\s+evals\):\s+Loss:\s+(${NUM})\s+\|\s+RMSE Energy\(low\):\s+(${NUM})\s+\((${NUM})\)\s+meV/at\s+\|\s+Forces\(low\):\s+(${NUM})\s+\((${NUM})\)\s+meV/A(?:\s+\|\s+Time/eval:\s+(${NUM})\s+mcs/at)?`,
  'i',
);

/** One optimizer iteration as pacemaker logs it. Energies meV/atom, forces meV/Å per component. */
export interface IterationLine {
  iteration: number;
  evals: number;
  loss: number;
  energyRmseMevPerAtom: number;
  energyRmseLowMevPerAtom: number;
  forceRmseMevPerA: number;
  forceRmseLowMevPerA: number;
  timePerEvalMicrosPerAtom: number | null;
}

export function parseIterationLine(line: string): IterationLine | null {
  const m = ITERATION_RE.exec(line);
  if (!m) return null;
  const n = (i: number) => Number(m[i]);
  return {
    iteration: n(1),
    evals: n(2),
    loss: n(3),
    energyRmseMevPerAtom: n(4),
    energyRmseLowMevPerAtom: n(5),
    forceRmseMevPerA: n(6),
    forceRmseLowMevPerA: n(7),
    timePerEvalMicrosPerAtom: m[8] === undefined ? null : n(8),
  };
}

const STATS_ITERATION_RE = new RegExp(String.raw`^\s*Iteration:\s+#(\d+)\s+Loss:\s+Total:\s+(${NUM})`, 'i');
const STATS_RMSE_RE = new RegExp(String.raw`^\s*RMSE:\s+(${NUM})\s+(${NUM})\s+(${NUM})\s+(${NUM})`, 'i');

/**
 * A parser for pacemaker's output as a stream of lines. On every `display_step` iteration
 * pacemaker prints a multi-line FIT STATS block instead of the one-line form, with the
 * iteration and loss on one line and the RMSE row a few lines later; both forms are read.
 */
export function createIterationParser(): (line: string) => IterationLine | null {
  let pending: { iteration: number; loss: number } | null = null;
  return (line) => {
    const one = parseIterationLine(line);
    if (one) {
      pending = null;
      return one;
    }
    const head = STATS_ITERATION_RE.exec(line);
    if (head) {
      pending = { iteration: Number(head[1]), loss: Number(head[2]) };
      return null;
    }
    const rmse = pending ? STATS_RMSE_RE.exec(line) : null;
    if (pending && rmse) {
      const it: IterationLine = {
        iteration: pending.iteration,
        evals: 0,
        loss: pending.loss,
        energyRmseMevPerAtom: Number(rmse[1]),
        energyRmseLowMevPerAtom: Number(rmse[2]),
        forceRmseMevPerA: Number(rmse[3]),
        forceRmseLowMevPerA: Number(rmse[4]),
        timePerEvalMicrosPerAtom: null,
      };
      pending = null;
      return it;
    }
    return null;
  };
}

/** A whitespace table with a header row (metrics.txt, cycle_metrics.txt, ...). */
export function parseMetricsTable(text: string): Record<string, number>[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const header = lines.shift();
  if (header === undefined) return [];
  const cols = header.split(/\s+/);
  return lines.map((line) => {
    const cells = line.split(/\s+/);
    const row: Record<string, number> = {};
    cols.forEach((c, i) => {
      row[c] = Number(cells[i]);
    });
    return row;
  });
}

/** Log fragments that identify a known failure, so it is reported by name. */
export const KNOWN_FAILURES: readonly { kind: string; pattern: RegExp; retryable: boolean; hint: string }[] = [
  {
    kind: 'OutOfMemory',
    // TensorFlow's allocator (tensorpot), Python's, and the C++ runtime's (pyace, or TensorFlow
    // outside its allocator: `std::bad_alloc`, then an abort): each as the real program writes it.
    pattern: /ResourceExhaustedError|OOM when allocating|MemoryError|out of memory|std::bad_alloc/i,
    retryable: true,
    hint: 'pacemaker ran out of memory; a smaller backend.batch_size uses less',
  },
  {
    kind: 'EarlyStoppingCrash',
    pattern: /TestLossChangeTooSmallException|EARLY STOPPING[\s\S]*(Traceback|Error)/,
    retryable: false,
    hint: 'early stopping crashed pacemaker (seen with scipy 1.10): remove fit.min_relative_train_loss_per_iter / early_stopping_patience, or use scipy >= 1.11 in the pacemaker installation',
  },
  {
    kind: 'BestCycleRestart',
    pattern: /Number of finished fit cycles|`?bbasisconfig`? couldn't be None/,
    retryable: false,
    hint: 'pacemaker did no fitting: its start potential carried _fit_cycles (interim_potential_best_cycle.yaml, upstream issue #77), or a ladder found nothing to add to the initial potential',
  },
  {
    kind: 'MissingReferenceEnergy',
    pattern: /Neither 'energy_corrected' column nor/,
    retryable: false,
    hint: "the data has only total energies and input.yaml no data.reference_energy (pacemaker's -d drops it)",
  },
  {
    kind: 'UnsupportedDataFile',
    pattern: /Unsupported file type/,
    retryable: false,
    hint: 'pacemaker reads only pandas pickles (.pckl.gzip / .pkl.gz)',
  },
  {
    kind: 'PotentialAndInitialPotential',
    pattern: /ValueError:.*(initial.?potential|potential.*initial)/i,
    retryable: false,
    hint: 'pacemaker refuses -p together with -ip',
  },
  {
    kind: 'MissingCutoff',
    pattern: /ValueError:.*cutoff/i,
    retryable: false,
    hint: 'input.yaml has no top-level cutoff',
  },
  {
    kind: 'MissingSection',
    pattern: /AttributeError/,
    retryable: false,
    hint: 'input.yaml lacks a section pacemaker needs (potential: or backend:)',
  },
  {
    kind: 'UnderDetermined',
    pattern: /under-?determined/i,
    retryable: false,
    hint: 'an element has fewer atoms in the data than basis functions',
  },
  {
    kind: 'MissingData',
    pattern: /(FileNotFoundError|No such file).*(pckl|pkl|gzip)/i,
    retryable: false,
    hint: 'a dataset file named in input.yaml does not exist',
  },
  {
    kind: 'MissingFile',
    pattern: /FileNotFoundError/,
    retryable: false,
    hint: 'a file named in input.yaml or on the command line does not exist',
  },
];

export function recogniseFailure(logTail: string): (typeof KNOWN_FAILURES)[number] | null {
  return KNOWN_FAILURES.find((f) => f.pattern.test(logTail)) ?? null;
}
