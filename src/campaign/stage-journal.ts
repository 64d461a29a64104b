/**
 * The stage journal of a generation: `<campaign>/journal/generation_NNN.jsonl`, one line when an
 * activity of the generation starts and one when it ends (attempt, host, outcome). It is the
 * wall-clock record of where a generation spent its time, retries and waits included, kept in
 * the workspace beside the files it describes, so a report needs no Temporal server to read it.
 * The artifact's `timings` count only the programs' own run time.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { generationVersion } from '../domain/naming.js';
import { exists } from '../util/files.js';

/** The steps a generation records, named as its stages are. */
export type JournalStage =
  'checking-pool' | 'updating-dataset' | 'training' | 'converting' | 'active-set' | 'selecting';

export interface StageEvent {
  stage: JournalStage;
  event: 'start' | 'end';
  /** ISO time on the worker. */
  at: string;
  attempt: number;
  host: string;
  workflowId?: string;
  /** On `end`: how it ended. */
  outcome?: 'completed' | 'failed' | 'cancelled';
  failure?: string;
  /** On the training `start`: how it starts (`continue`, `extend`, `reset`, or `scratch`) and from what. */
  start?: {
    mode: 'continue' | 'extend' | 'reset' | 'scratch';
    parentVersion: string | null;
    initialPotential: string | null;
  };
}

export function stageJournalPath(campaignDir: string, generation: number): string {
  return join(campaignDir, 'journal', `${generationVersion(generation)}.jsonl`);
}

/** Appends one event (one small line: O_APPEND keeps lines whole). Never throws: the journal must not fail a stage. */
export async function appendStageEvent(
  file: string,
  e: Omit<StageEvent, 'at' | 'host'>,
): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    await appendFile(
      file,
      JSON.stringify({ ...e, at: new Date().toISOString(), host: hostname() }) + '\n',
    );
  } catch {
    // A read-only or full disk shows in the stage itself; the journal is a record, not a step.
  }
}

/** The events of a generation, oldest first; [] when it has no journal. Unreadable lines are skipped. */
export async function readStageJournal(file: string): Promise<StageEvent[]> {
  if (!(await exists(file))) return [];
  const out: StageEvent[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as StageEvent;
      if (
        typeof v.stage === 'string' &&
        (v.event === 'start' || v.event === 'end') &&
        typeof v.at === 'string'
      )
        out.push(v);
    } catch {
      // a torn last line of a killed worker
    }
  }
  return out;
}
