/**
 * The state file of a site's router supervisor (`runtime/supervisor.json`): written atomically by the supervisor
 * (`caravan-router --supervise`, src/daemon/supervisor.ts) at every change, read by `caravan site status` and
 * `caravan site stop`. See docs/design/sites.md, "Supervision".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

/** Where the supervisor is: a child starting or running, waiting to restart one, or done. */
export type SupervisorPhase = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'gave-up';

/** How one router process ended. */
export interface ChildExit {
  /** RFC 3339 */
  at: string;
  pid?: number;
  code: number | null;
  signal: string | null;
  /** In words: "killed by SIGKILL", "exited with code 1", "could not start: …". */
  cause: string;
  /** How long the process ran, in milliseconds. */
  uptimeMs: number;
  /** The last lines of logs/router.log when it ended (what it said before dying). */
  logTail?: string[];
}

export interface SupervisorRecord {
  /** The supervisor's own pid. */
  pid: number;
  phase: SupervisorPhase;
  /** RFC 3339: when the supervisor started. */
  startedAt: string;
  /** The router process it runs now (starting or running). */
  childPid?: number;
  /** How many times the router was started again after it died. */
  restarts: number;
  /** Crashes counted in the current window (the supervisor gives up at the limit). */
  recentCrashes: number;
  lastExit?: ChildExit;
  /** RFC 3339: when the next restart is due (phase backoff). */
  nextRestartAt?: string;
  /** Why the supervisor stopped or gave up. */
  reason?: string;
}

export function supervisorStateFile(dir: string): string {
  return join(dir, 'runtime', 'supervisor.json');
}

export async function writeSupervisorRecord(dir: string, rec: SupervisorRecord): Promise<void> {
  await writeFileAtomic(supervisorStateFile(dir), JSON.stringify(rec, null, 2) + '\n', 0o600);
}

/** The supervisor's record, or undefined when there is none (or it cannot be read: never a failure). */
export async function readSupervisorRecord(dir: string): Promise<SupervisorRecord | undefined> {
  let text: string;
  try {
    text = await readFile(supervisorStateFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const r = v as Partial<SupervisorRecord>;
    if (!Number.isInteger(r.pid) || typeof r.phase !== 'string' || !Number.isInteger(r.restarts))
      return undefined;
    return r as SupervisorRecord;
  } catch {
    return undefined;
  }
}

/** "killed by SIGKILL", "exited with code 1". */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}
