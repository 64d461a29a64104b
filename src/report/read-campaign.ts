/**
 * Reads a campaign folder into a CampaignReport: each generation's artifact.json (or its
 * selection's result.json when it only selected), learning_curve.tsv, runs.jsonl, stage journal
 * and pool_gamma.json, and the dataset manifest's history. Files from older versions (no
 * journal, no per-element history, no pool_gamma.json) give less, never an error: a report of
 * an old campaign shows what it can.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ActiveSetSelection, type ErrorMetrics } from '../domain/schemas.js';
import { parseCurve } from '../trainer/learning-curve.js';
import type { RunRecord } from '../trainer/run-journal.js';
import { readStageJournal, stageJournalPath, type StageEvent } from '../campaign/stage-journal.js';
import { exists } from '../util/files.js';
import type {
  DatasetGrowth,
  GenerationReport,
  PoolGamma,
  RunSpan,
  StageTime,
  StartMode,
} from './model.js';

const VERSION = /^generation_(\d{3})$/;

async function readJson(path: string): Promise<unknown> {
  return (await exists(path)) ? (JSON.parse(await readFile(path, 'utf8')) as unknown) : null;
}

async function versionsUnder(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  return (await readdir(dir)).filter((n) => VERSION.test(n));
}

/** Runs of a generation from runs.jsonl: where each started and how it ended. */
export function runSpans(records: readonly RunRecord[]): RunSpan[] {
  const spans: RunSpan[] = [];
  for (const r of records) {
    if (r.event === 'start')
      spans.push({ run: r.run, offset: r.offset ?? 0, outcome: 'open', failure: null });
    else {
      const s = spans.findLast((x) => x.run === r.run);
      if (s) {
        s.outcome = r.exitCode === 0 ? 'completed' : 'failed';
        s.failure = r.failure ?? null;
      }
    }
  }
  return spans;
}

/** Wall time per stage from the stage journal: each start to its end, attempts summed. */
export function stageTimes(events: readonly StageEvent[]): StageTime[] {
  const out = new Map<string, StageTime>();
  const open = new Map<string, number>();
  for (const e of events) {
    const key = `${e.stage}#${e.attempt}`;
    const t = Date.parse(e.at);
    if (e.event === 'start') open.set(key, t);
    else {
      const began = open.get(key);
      if (began === undefined) continue;
      open.delete(key);
      const s = out.get(e.stage) ?? { stage: e.stage, seconds: 0, attempts: 0 };
      s.seconds += Math.max(0, (t - began) / 1000);
      s.attempts += 1;
      out.set(e.stage, s);
    }
  }
  return [...out.values()];
}

function startMode(events: readonly StageEvent[], parentVersion: string | null): StartMode {
  const training = events.find((e) => e.stage === 'training' && e.event === 'start' && e.start);
  if (training?.start) return training.start.mode;
  // Older generations have no stage journal: a parent means the default fine-tune, continue.
  return parentVersion === null ? 'scratch' : 'continue';
}

const readRuns = async (dir: string): Promise<RunRecord[]> =>
  (await exists(join(dir, 'runs.jsonl')))
    ? (await readFile(join(dir, 'runs.jsonl'), 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as RunRecord)
    : [];

async function readPoolGamma(file: string | null | undefined): Promise<PoolGamma | null> {
  if (!file) return null;
  const v = (await readJson(file)) as PoolGamma | null;
  return v && Array.isArray(v.gammaMax) ? v : null;
}

interface ArtifactJson {
  kind?: string;
  path: string;
  version: string;
  parentVersion: string | null;
  simulated: boolean;
  metrics: { train: ErrorMetrics; test: ErrorMetrics | null };
  selection?: unknown;
  stoppedEarly?: { iterations?: number; reason?: string };
  timings?: Record<string, number | undefined>;
}

/** One generation, from its folders; null when it left nothing to report (it never finished). */
async function readGeneration(
  campaignDir: string,
  version: string,
): Promise<GenerationReport | null> {
  const generation = Number(VERSION.exec(version)![1]);
  const dir = join(campaignDir, 'potentials', version);
  const journal = await readStageJournal(stageJournalPath(campaignDir, generation));
  const artifact = (await readJson(join(dir, 'artifact.json'))) as ArtifactJson | null;
  const selectionResult = (await readJson(
    join(campaignDir, 'selections', version, 'result.json'),
  )) as { result?: unknown } | null;
  const selectionRaw = artifact?.selection ?? selectionResult?.result ?? null;
  const parsedSelection = selectionRaw === null ? null : ActiveSetSelection.safeParse(selectionRaw);
  const selection = parsedSelection?.success ? parsedSelection.data : null;
  if (!artifact && !selection) return null;
  const parentVersion = artifact?.parentVersion ?? null;
  const curveFile = join(dir, 'learning_curve.tsv');
  const programSeconds: Record<string, number> = {};
  for (const [k, v] of Object.entries(artifact?.timings ?? {}))
    if (typeof v === 'number') programSeconds[k.replace(/Seconds$/, '')] = v;
  return {
    version,
    generation,
    kind: artifact ? 'potential' : 'selection-only',
    parentVersion,
    start: startMode(journal, parentVersion),
    simulated: artifact?.simulated ?? selection?.simulated ?? false,
    metrics: artifact?.metrics ?? null,
    path: artifact?.path ?? null,
    stoppedEarly: artifact?.stoppedEarly
      ? {
          iteration: artifact.stoppedEarly.iterations ?? null,
          reason: artifact.stoppedEarly.reason ?? null,
        }
      : null,
    curve:
      artifact && (await exists(curveFile)) ? parseCurve(await readFile(curveFile, 'utf8')) : [],
    runs: artifact ? runSpans(await readRuns(dir)) : [],
    selection,
    poolGamma: await readPoolGamma(
      selection?.poolGammaFile ?? join(campaignDir, 'selections', version, 'pool_gamma.json'),
    ),
    stages: stageTimes(journal),
    programSeconds,
  };
}

/** Every generation of the campaign that trained or selected, oldest first. */
export async function readGenerations(campaignDir: string): Promise<GenerationReport[]> {
  const versions = new Set([
    ...(await versionsUnder(join(campaignDir, 'potentials'))),
    ...(await versionsUnder(join(campaignDir, 'selections'))),
  ]);
  const out: GenerationReport[] = [];
  for (const v of [...versions].sort()) {
    const g = await readGeneration(campaignDir, v);
    if (g) out.push(g);
  }
  return out;
}

interface ManifestJson {
  total: number;
  structures: { train: number; test: number };
  trainPath: string;
  testPath: string | null;
  history?: {
    time: string;
    generation?: number;
    addedTrain?: number;
    addedTest?: number;
    addedElements?: DatasetGrowth['elements'];
  }[];
}

/** The dataset's totals and each update's additions, from data/manifest.json; null without one. */
export async function readDataset(
  campaignDir: string,
): Promise<{
  total: number;
  train: number;
  test: number;
  history: DatasetGrowth[];
  trainPath: string;
  testPath: string | null;
} | null> {
  const m = (await readJson(join(campaignDir, 'data', 'manifest.json'))) as ManifestJson | null;
  if (!m) return null;
  return {
    total: m.total,
    train: m.structures.train,
    test: m.structures.test,
    trainPath: m.trainPath,
    testPath: m.testPath,
    history: (m.history ?? []).map((h) => ({
      generation: typeof h.generation === 'number' ? h.generation : null,
      time: h.time,
      added: { train: h.addedTrain ?? 0, test: h.addedTest ?? 0 },
      elements: h.addedElements ?? null,
    })),
  };
}
