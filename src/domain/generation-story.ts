/**
 * What the Temporal UI says about a generation: the one-line static summary of its list row, the
 * static details of its page (Markdown), the current details that follow its stages, and the
 * summaries of its activities in the timeline. Pure (workflow code and clients both import it),
 * so a client-started generation and a loop's child read the same way.
 *
 * The UI renders Markdown in the details; plain lists and inline code are what it shows well.
 */
import type { TrainingProgress } from './progress.js';
import { generationVersion } from './naming.js';

/** What a generation is, as far as it is known when it starts. */
export interface GenerationFacts {
  campaign: string;
  generation: number;
  config: {
    pacemaker: {
      elements: readonly string[];
      cutoff: number;
      order?: number | undefined;
      functions_per_element?: number | undefined;
      max_epochs?: number | undefined;
      evaluator?: string | undefined;
      batch_size?: number | undefined;
      kappa?: number | undefined;
      test_size?: number | undefined;
    };
  };
  results?: readonly string[] | undefined;
  initialPotential?: string | null | undefined;
  parentVersion?: string | null | undefined;
  fineTune?: 'continue' | 'extend' | 'reset' | undefined;
  pool?: { path: string; n: number; memoryLimit?: string | undefined; randomFraction?: number | undefined; gammaMin?: number | null | undefined; gammaMax?: number | null | undefined } | null | undefined;
  taskQueues?: { data?: string | undefined; training?: string | undefined } | undefined;
}

/** What a caller may add: the structures in the new results (the CLI reads them), the workers' workspace. */
export interface StoryExtras {
  newStructures?: number;
  /** The workers' workspace root, when the caller knows it (the dev stack); else `<workspace>`. */
  workspace?: string;
}

/** `1240` -> `1,240`, without Intl (the same in every sandbox). */
export function groupThousands(n: number): string {
  const s = String(Math.round(Math.abs(n)));
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function baseName(path: string): string {
  return (
    path
      .split('/')
      .filter((p) => p !== '')
      .pop() ?? path
  );
}

/** `fine-tune (continue) of generation_002`, or `from scratch`. */
export function describeStart(
  f: Pick<GenerationFacts, 'initialPotential' | 'parentVersion' | 'fineTune'>,
): string {
  if (!f.initialPotential) return 'from scratch';
  return `fine-tune (${f.fineTune ?? 'continue'}) of ${f.parentVersion ?? baseName(f.initialPotential)}`;
}

/** The static summary: `Cu-Ni gen 3: fine-tune (continue) of generation_002 on 40 new structures; select 10 from pool.jsonl`. */
export function generationSummary(f: GenerationFacts, x: StoryExtras = {}): string {
  const results = f.results ?? [];
  const data =
    x.newStructures !== undefined
      ? `on ${groupThousands(x.newStructures)} new structures`
      : results.length > 0
        ? `on ${results.length} new result file${results.length === 1 ? '' : 's'}`
        : 'on the dataset as it is';
  const pool = f.pool ? `; select ${groupThousands(f.pool.n)} from ${baseName(f.pool.path)}` : '';
  return `${f.config.pacemaker.elements.join('-')} gen ${f.generation}: ${describeStart(f)} ${data}${pool}`;
}

/** Where a generation's files are under the workers' workspace. */
export function generationPaths(campaign: string, generation: number, workspace = '<workspace>') {
  const v = generationVersion(generation);
  const root = `${workspace.replace(/\/$/, '')}/${campaign}`;
  return {
    generationDir: `${root}/potentials/${v}`,
    selectionDir: `${root}/selections/${v}`,
    datasetDir: `${root}/data`,
    journal: `${root}/journal/${v}.jsonl`,
  };
}

/** The static details (Markdown): config, start, new data, pool, where its files are. */
export function generationDetails(f: GenerationFacts, x: StoryExtras = {}): string {
  const p = f.config.pacemaker;
  const v = generationVersion(f.generation);
  const paths = generationPaths(f.campaign, f.generation, x.workspace);
  const results = f.results ?? [];
  const cfg = [
    `elements ${p.elements.join(', ')}`,
    `cutoff ${p.cutoff} Å`,
    p.order !== undefined ? `order ${p.order}` : null,
    p.functions_per_element !== undefined ? `${p.functions_per_element} functions/element` : null,
    p.max_epochs !== undefined ? `max_epochs ${p.max_epochs}` : null,
    p.evaluator !== undefined ? `evaluator ${p.evaluator}` : null,
    p.batch_size !== undefined ? `batch_size ${p.batch_size}` : null,
    p.kappa !== undefined ? `kappa ${p.kappa}` : null,
    p.test_size !== undefined ? `test_size ${p.test_size}` : null,
  ].filter((s) => s !== null);
  const lines = [
    `**${p.elements.join('-')} generation ${f.generation}** (\`${v}\`) of campaign \`${f.campaign}\``,
    '',
    `- **Start:** ${describeStart(f)}${f.initialPotential ? ` (\`${f.initialPotential}\`)` : ''}`,
    `- **Config:** ${cfg.join('; ')}`,
    `- **New data:** ${
      results.length === 0
        ? 'no result files'
        : `${results.length} result file(s)${x.newStructures !== undefined ? `, ${groupThousands(x.newStructures)} structures` : ''}: ${results
            .slice(0, 5)
            .map((r) => `\`${r}\``)
            .join(', ')}${results.length > 5 ? ', …' : ''}`
    }`,
    `- **Data version:** the dataset's sha256 after this generation's update: in the current details once the dataset step ran, and in \`artifact.json\` (\`datasetSha256\`)`,
    `- **Pool:** ${f.pool ? `\`${f.pool.path}\`: select ${groupThousands(f.pool.n)}${f.pool.memoryLimit ? ` (memory limit ${f.pool.memoryLimit})` : ''}${poolOptions(f.pool)}` : 'none'}`,
    `- **Files:** \`${paths.generationDir}/\` (artifact.json, output_potential.yace, learning_curve.tsv, runs.jsonl)${f.pool ? `, selection \`${paths.selectionDir}/\`` : ''}, dataset \`${paths.datasetDir}/\`, stage journal \`${paths.journal}\``,
    `- **Report:** \`mlip-trainer report --campaign ${f.campaign}\``,
  ];
  if (f.taskQueues && (f.taskQueues.data || f.taskQueues.training)) {
    lines.push(
      `- **Queues:** data \`${f.taskQueues.data ?? '(default)'}\`, training \`${f.taskQueues.training ?? '(default)'}\``,
    );
  }
  return lines.join('\n');
}

/**
 * Training progress as the training activity sends it to its workflow: sparingly (the first
 * iteration, then at most every few minutes, and at once when a stall begins or ends), since
 * each signal is a history event. The live figures are in the heartbeat details.
 */
export type ProgressUpdate = Pick<
  TrainingProgress,
  'iteration' | 'maxiter' | 'loss' | 'energyRmse' | 'forceRmse' | 'etaSeconds'
> & {
  run?: number | undefined;
  /** s without a line from pacemaker, once longer than ordinary (see TrainingProgress). */
  silentSeconds?: number | null | undefined;
  stallLimitSeconds?: number | null | undefined;
  /** ISO time on the worker when it was sent. */
  at: string;
};

/** What a generation's workflow knows when it updates its current details. */
export interface CurrentState {
  stage: string;
  /** Workflow time of this update (ISO). */
  at: string;
  dataset?:
    { total: number; train: number; test: number; added: number; sha256: string } | undefined;
  training?: ProgressUpdate | undefined;
  stopRequested?: boolean | undefined;
  potential?:
    | {
        path: string;
        testForceRmse: number | null;
        testEnergyRmse: number | null;
        trainForceRmse: number;
      }
    | undefined;
  activeSet?: { path: string | null; warning: string | null } | undefined;
  selection?:
    | { chosen: number; poolSize: number; byPaceSelect: number; byGamma: number; byRandom?: number; selected: string }
    | undefined;
}

const fixed = (v: number | null | undefined, d: number): string =>
  v === null || v === undefined ? '-' : v.toFixed(d);

/** `35 s`, `4 min`, `2 h 05 min`: whole minutes from 2 min on (a silence of 119 s is still seconds). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** The training line of the current details: the figures, or the stall instead of an ETA. */
export function trainingLine(t: ProgressUpdate): string {
  const it = `iteration ${t.iteration ?? '-'}/${t.maxiter ?? '?'}`;
  const stalled = t.silentSeconds !== undefined && t.silentSeconds !== null;
  const limit = t.stallLimitSeconds
    ? ` (stalled after ${formatDuration(t.stallLimitSeconds)})`
    : '';
  const tail = stalled
    ? `**no progress for ${formatDuration(t.silentSeconds!)}**${limit}`
    : `ETA ${t.etaSeconds === null ? '-' : formatDuration(t.etaSeconds)}`;
  return `${it} · loss ${t.loss === null ? '-' : t.loss.toPrecision(4)} · RMSE E ${fixed(t.energyRmse, 1)} meV/atom, F ${fixed(t.forceRmse, 1)} meV/Å · ${tail}${t.run !== undefined && t.run > 1 ? ` · run ${t.run} (resumed)` : ''}`;
}

/** The current details (Markdown): the stage, and what each finished step left. */
export function currentDetails(s: CurrentState): string {
  const lines = [
    `**Stage:** ${s.stage}${s.stopRequested ? ' (stop requested)' : ''} · updated ${s.at.replace(/\.\d+Z$/, 'Z')}`,
  ];
  if (s.dataset) {
    const d = s.dataset;
    lines.push(
      `- **Dataset:** ${groupThousands(d.total)} structures (train ${groupThousands(d.train)}, test ${groupThousands(d.test)}), ${groupThousands(d.added)} new; version \`${d.sha256.slice(0, 12)}\``,
    );
  }
  if (s.training && s.stage === 'training') {
    lines.push(`- **Training:** ${trainingLine(s.training)}`);
    lines.push(
      `  (as of ${s.training.at.replace(/\.\d+Z$/, 'Z')}; live figures: *Pending Activities* → heartbeat details, or \`mlip-trainer watch\`)`,
    );
  }
  if (s.potential) {
    const p = s.potential;
    const test =
      p.testForceRmse === null
        ? 'no test set'
        : `test RMSE E ${fixed(p.testEnergyRmse, 2)} meV/atom, F ${fixed(p.testForceRmse, 2)} meV/Å`;
    lines.push(
      `- **Potential:** \`${p.path}\` · ${test} · train F ${p.trainForceRmse.toFixed(2)} meV/Å`,
    );
  }
  if (s.activeSet)
    lines.push(
      `- **Active set:** ${s.activeSet.path ? `\`${s.activeSet.path}\`` : `none: ${s.activeSet.warning ?? 'not computed'}`}`,
    );
  if (s.selection) {
    const x = s.selection;
    lines.push(
      `- **Selection:** ${x.chosen} of ${groupThousands(x.poolSize)} to label (${x.byPaceSelect} by pace_select, ${x.byGamma} by largest gamma${x.byRandom ? `, ${x.byRandom} at random` : ''}): \`${x.selected}\``,
    );
  }
  return lines.join('\n');
}

/** One line per activity call, shown in the UI's timeline. */
export const activitySummaries = {
  inspectPool: (f: GenerationFacts) =>
    `check pool ${baseName(f.pool?.path ?? '?')}: structures, elements ${f.config.pacemaker.elements.join(', ')}`,
  updateDataset: (f: GenerationFacts) =>
    (f.results?.length ?? 0) === 0
      ? `read ${f.campaign}'s dataset (no new results)`
      : `append ${f.results!.length} result file(s) to ${f.campaign}'s dataset`,
  trainPotential: (f: GenerationFacts, structures: number) =>
    `pacemaker: ${describeStart(f)} on ${groupThousands(structures)} structures, max_epochs ${f.config.pacemaker.max_epochs ?? '?'}`,
  finaliseCheckpoint: (reason: string) =>
    `stopped early (${reason}): keep the newest checkpoint, evaluate it`,
  computeActiveSet: (f: GenerationFacts) =>
    `pace_activeset: active set of ${generationVersion(f.generation)}'s potential`,
  selectActiveSet: (f: GenerationFacts, withWhat: string) =>
    `select ${f.pool?.n ?? '?'} from ${baseName(f.pool?.path ?? '?')} with ${withWhat}`,
  collectLabelledResults: (generation: number) =>
    `collect labelled results of ${generationVersion(generation)}`,
  labelSelection: (generation: number, calculator: string) =>
    `oracle (${calculator}): label the structures ${generationVersion(generation - 1)} selected, for ${generationVersion(generation)}`,
};

/** The pool's selection options, when any is set: `; 25 % at random, gamma <= 10`. */
function poolOptions(pool: { randomFraction?: number | undefined; gammaMin?: number | null | undefined; gammaMax?: number | null | undefined }): string {
  const parts = [
    ...(pool.randomFraction ? [`${Math.round(pool.randomFraction * 100)} % at random`] : []),
    ...(typeof pool.gammaMin === 'number' ? [`gamma >= ${pool.gammaMin}`] : []),
    ...(typeof pool.gammaMax === 'number' ? [`gamma <= ${pool.gammaMax}`] : pool.gammaMax === null ? ['no gamma threshold'] : []),
  ];
  return parts.length ? `; ${parts.join(', ')}` : '';
}

/** The loop's current details: where it is and each generation's headline. */
export function loopDetails(o: {
  campaign: string;
  running: number | null;
  maxGenerations: number;
  targetForceRmse: number | null;
  finished: readonly { version: string; forceRmse: number | null; path: string | null }[];
  at: string;
}): string {
  const head =
    o.running === null
      ? 'between generations'
      : `running generation ${o.running} (\`train-${o.campaign}-${generationVersion(o.running)}\`)`;
  const target = o.targetForceRmse === null ? 'no target' : `target F ≤ ${o.targetForceRmse} meV/Å`;
  const lines = [
    `**Loop ${o.campaign}:** ${head} of at most ${o.maxGenerations}; ${target} · updated ${o.at.replace(/\.\d+Z$/, 'Z')}`,
  ];
  for (const g of o.finished.slice(-20)) {
    lines.push(
      `- ${g.version}: ${g.path === null ? 'selection only' : `F ${fixed(g.forceRmse, 2)} meV/Å, \`${g.path}\``}`,
    );
  }
  return lines.join('\n');
}

/** What a loop's start says of it: the facts fixed at its start. */
export interface LoopFacts {
  campaign: string;
  config: { pacemaker: { elements: readonly string[] } };
  maxGenerations: number;
  startGeneration?: number | undefined;
  targetForceRmse?: number | null | undefined;
  labelledDir: string;
  labeller?: { kind: string; calculator: string } | undefined;
  pool?: { path: string; n: number } | null | undefined;
}

/**
 * The loop's static summary in the UI's list, e.g. "Cu-Ni loop: up to 5 generations, select 20
 * per generation from pool.pckl.gzip, labelled by the emt oracle, until F <= 50 meV/Å".
 */
export function loopSummary(f: LoopFacts): string {
  const parts = [`${f.config.pacemaker.elements.join('-')} loop: up to ${f.maxGenerations} generations`];
  if (f.pool) parts.push(`select ${groupThousands(f.pool.n)} per generation from ${baseName(f.pool.path)}`);
  parts.push(f.labeller ? `labelled by the ${f.labeller.calculator} ${f.labeller.kind}` : `labels read from ${baseName(f.labelledDir)}/`);
  if (f.targetForceRmse !== null && f.targetForceRmse !== undefined) parts.push(`until F ≤ ${f.targetForceRmse} meV/Å`);
  return parts.join(', ');
}

/** The loop's static details in Markdown: campaign, stop rules, where labels and the pool are. */
export function loopStaticDetails(f: LoopFacts): string {
  return [
    `**Active-learning loop ${f.campaign}** (elements ${f.config.pacemaker.elements.join(', ')})`,
    `- generations: from ${f.startGeneration ?? 0}, at most ${f.maxGenerations} in total; ${f.targetForceRmse ? `stops at test F ≤ ${f.targetForceRmse} meV/Å` : 'no RMSE target'}`,
    `- labelled results: \`${f.labelledDir}\`${f.labeller ? ` (written by the ${f.labeller.calculator} ${f.labeller.kind})` : ' (prepared by the labelling stage)'}`,
    `- pool: ${f.pool ? `\`${f.pool.path}\`, ${groupThousands(f.pool.n)} selected per generation` : 'none (nothing is selected)'}`,
    `- each generation is a child workflow \`train-${f.campaign}-generation_NNN\` with its own summary and details`,
  ].join('\n');
}
