/**
 * The keys of pacemaker's input.yaml this project lets a config pass through, and their check.
 * Apart from input-yaml.ts (which builds the input from a config) so that the config schema can
 * check its `input` without the two modules importing each other. Pure.
 */

/**
 * pacemaker keys each section accepts (read from python-ace's sources), so a typo such as
 * `fit.maxiters` is refused instead of silently ignored. Values are passed through as given.
 */
export const KNOWN_INPUT_KEYS: Readonly<Record<string, readonly string[]>> = {
  potential: [
    'deltaSplineBins', 'elements', 'embeddings', 'bonds', 'functions', 'initial_potential', 'filename', 'reset',
    'metadata', 'overwrite_blocks_from_initial_bbasis', 'func_coefs_init', 'randomize_func_coeffs',
  ],
  data: ['filename', 'test_filename', 'test_size', 'reference_energy', 'datapath', 'ignore_weights', 'seed', 'aug_factor', 'query'],
  fit: [
    'loss', 'weighting', 'optimizer', 'options', 'maxiter', 'repulsion', 'trainable_parameters', 'fit_cycles',
    'noise_relative_sigma', 'noise_absolute_sigma', 'ladder_step', 'ladder_type', 'randomize_func_coeffs',
    'min_relative_train_loss_per_iter', 'min_relative_test_loss_per_iter', 'early_stopping_patience', 'callbacks',
    'compute_convergence_state',
  ],
  backend: [
    'evaluator', 'batch_size', 'batch_size_reduction', 'batch_size_reduction_factor', 'display_step', 'gpu_config',
    'parallel_mode', 'n_workers', 'mem_limit',
  ],
};

/** One problem with the pass-through keys: its dotted path and what is wrong. */
export interface InputKeyIssue {
  path: string[];
  message: string;
  value: unknown;
}

/** Checks the `input` pass-through of a config against KNOWN_INPUT_KEYS and a few value shapes. */
export function checkInputOverrides(input: Record<string, unknown>): InputKeyIssue[] {
  const issues: InputKeyIssue[] = [];
  for (const [section, known] of Object.entries(KNOWN_INPUT_KEYS)) {
    const sec = input[section];
    if (!isPlainObject(sec)) continue;
    for (const [k, v] of Object.entries(sec)) {
      if (!known.includes(k)) {
        issues.push({ path: [section, k], message: `is not a pacemaker ${section} key (known: ${known.join(', ')})`, value: v });
      }
    }
  }
  const fit = isPlainObject(input.fit) ? input.fit : {};
  const backend = isPlainObject(input.backend) ? input.backend : {};
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (fit.fit_cycles !== undefined && !positiveInt(fit.fit_cycles)) {
    issues.push({ path: ['fit', 'fit_cycles'], message: 'must be an integer >= 1', value: fit.fit_cycles });
  }
  if (backend.display_step !== undefined && !positiveInt(backend.display_step)) {
    issues.push({ path: ['backend', 'display_step'], message: 'must be an integer >= 1', value: backend.display_step });
  }
  const ls = fit.ladder_step;
  if (ls !== undefined && !positiveInt(ls) && !(Array.isArray(ls) && ls.length >= 1 && ls.every((x) => typeof x === 'number' && x > 0))) {
    issues.push({ path: ['fit', 'ladder_step'], message: 'must be an integer >= 1 or a list of positive numbers like [10, 0.02]', value: ls });
  }
  return issues;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
