/**
 * Finding and stopping a pacemaker left running by an earlier attempt. A worker that is
 * SIGKILLed (or loses its node's network) leaves its pacemaker running, because runProgram
 * starts it in its own process group; two pacemakers writing one generation folder would
 * corrupt it. Each run records its process group in `pacemaker.pid.json`, keyed by the
 * workflow id and activity id, and the next attempt stops it before starting.
 */
import { readFile, readlink, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ProgramFailedError } from '../errors.js';
import { groupAlive, signalGroup } from '../process/run-program.js';
import { writeFileAtomic } from '../util/files.js';

/** Who runs the generation: a Temporal activity (workflow id + activity id) or a local caller. */
export interface RunOwner {
  workflowId: string;
  activityId: string;
  attempt: number;
}

export const LOCAL_OWNER: RunOwner = { workflowId: 'local', activityId: 'local', attempt: 1 };

export const PID_FILE = 'pacemaker.pid.json';

interface PidRecord {
  pid: number;
  host: string;
  workflowId: string;
  activityId: string;
  attempt: number;
  startedAt: string;
}

/** A live pacemaker of another host counts as running while its log changed this recently. */
const REMOTE_LIVENESS_MS = 120_000;

export async function writePidFile(dir: string, owner: RunOwner, pid: number): Promise<void> {
  const rec: PidRecord = { pid, host: hostname(), ...owner, startedAt: new Date().toISOString() };
  await writeFileAtomic(join(dir, PID_FILE), JSON.stringify(rec) + '\n');
}

/** True while `pid` is the run recorded in the folder: a superseded attempt must stop writing. */
export async function ownsFolder(dir: string, pid: number): Promise<boolean> {
  const rec = await readPidFile(dir);
  return rec === null || (rec.pid === pid && rec.host === hostname());
}

export async function removePidFile(dir: string, pid: number): Promise<void> {
  const rec = await readPidFile(dir);
  if (rec && rec.pid === pid && rec.host === hostname()) await rm(join(dir, PID_FILE), { force: true });
}

async function readPidFile(dir: string): Promise<PidRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, PID_FILE), 'utf8')) as PidRecord;
  } catch {
    return null;
  }
}

/** The process group still runs in `dir` (guards against a recycled pid). */
async function runsIn(pid: number, dir: string): Promise<boolean> {
  if (!groupAlive(pid)) return false;
  try {
    return resolve(await readlink(`/proc/${pid}/cwd`)) === resolve(dir);
  } catch {
    // No /proc (macOS) or the leader is gone while the group lives: trust the group.
    return true;
  }
}

/**
 * Stops the pacemaker an earlier attempt of the same activity left running (SIGTERM, then
 * SIGKILL after `graceMs`) and returns its pid, or null when there was none. A live run of
 * another workflow in the same folder is an error: two generations must not share a folder.
 */
export async function stopStaleRun(dir: string, owner: RunOwner, graceMs = 5000): Promise<number | null> {
  const rec = await readPidFile(dir);
  if (rec === null) return null;
  if (rec.host !== hostname()) {
    const log = await stat(join(dir, 'log.txt')).catch(() => null);
    if (log && Date.now() - log.mtimeMs < REMOTE_LIVENESS_MS) {
      throw new ProgramFailedError(
        `pacemaker (pid ${rec.pid}) of ${rec.workflowId} attempt ${rec.attempt} may still run on host ${rec.host}: ${join(dir, 'log.txt')} changed ${Math.round((Date.now() - log.mtimeMs) / 1000)} s ago; retrying later`,
        { program: 'pacemaker', exitCode: null, signal: null, logFile: join(dir, 'log.txt'), known: 'StaleRunOnOtherHost' },
        true,
      );
    }
    return null;
  }
  if (!(await runsIn(rec.pid, dir))) return null;
  if (rec.workflowId !== owner.workflowId || rec.activityId !== owner.activityId) {
    throw new ProgramFailedError(
      `another run (workflow ${rec.workflowId}, activity ${rec.activityId}, pid ${rec.pid}) is training in ${dir}; not starting a second pacemaker there`,
      { program: 'pacemaker', exitCode: null, signal: null, logFile: join(dir, 'log.txt'), known: 'FolderBusy' },
      true,
    );
  }
  signalGroup(rec.pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (groupAlive(rec.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (groupAlive(rec.pid)) {
    signalGroup(rec.pid, 'SIGKILL');
    const hard = Date.now() + 3000;
    while (groupAlive(rec.pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
  }
  return rec.pid;
}
