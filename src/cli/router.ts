/**
 * The router process of a site as the CLI sees it: is it running (does its admin socket answer), its pid file,
 * starting it (`bin/caravan-router.js --dir SITE_DIR`, never imported) and stopping it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../admin/client.js';
import type { StatusSnapshot } from '../admin/types.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { ROUTER_NODE_FLAGS } from '../site/node-flags.js';
import { writeFileAtomic } from '../site/atomic.js';
import { readSupervisorRecord, type SupervisorRecord } from '../site/supervision.js';
import { readSiteResource, type SiteRef } from './sites.js';

/** `bin/caravan-router.js` of this package (dist/src/cli/router.js → ../../../bin). */
export const ROUTER_BIN = fileURLToPath(new URL('../../../bin/caravan-router.js', import.meta.url));
/** `bin/caravan.js` of this package. */
export const CLI_BIN = fileURLToPath(new URL('../../../bin/caravan.js', import.meta.url));

export function pidFile(dir: string): string {
  return join(dir, 'runtime', 'router.pid');
}

export function routerLogFile(dir: string): string {
  return join(dir, 'logs', 'router.log');
}

/** The admin socket of a site: `spec.admin.socket` of its Site, else `runtime/admin.sock`. */
export async function adminSocketOf(dir: string): Promise<string> {
  try {
    const site = await readSiteResource(dir);
    const s = site.spec.admin?.socket;
    if (s) return isAbsolute(s) ? s : resolve(dir, s);
  } catch {
    // fall back to the default
  }
  return join(dir, 'runtime', 'admin.sock');
}

export async function adminClient(dir: string, timeoutMs = 5000): Promise<AdminClient> {
  return new AdminClient(await adminSocketOf(dir), timeoutMs);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` looks like a Caravan router or its supervisor (Linux: /proc cmdline; elsewhere: alive). */
async function looksLikeRouter(pid: number): Promise<boolean> {
  if (!processAlive(pid)) return false;
  try {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('caravan-router');
  } catch {
    return true;
  }
}

/** Whether `pid` looks like a router supervisor (Linux: /proc cmdline; elsewhere: alive). */
async function looksLikeSupervisor(pid: number): Promise<boolean> {
  if (!processAlive(pid)) return false;
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.includes('--supervise') && args.some((a) => a.includes('caravan-router'));
  } catch {
    return true;
  }
}

/** The pid recorded in runtime/router.pid, when that process is still a live router. */
export async function readPid(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await looksLikeRouter(pid)) ? pid : undefined;
}

export async function writePid(dir: string, pid: number): Promise<void> {
  await writeFileAtomic(pidFile(dir), `${pid}\n`);
}

export async function removePid(dir: string, pid?: number): Promise<void> {
  if (pid !== undefined) {
    const text = await readFile(pidFile(dir), 'utf8').catch(() => '');
    if (text.trim() !== String(pid)) return;
  }
  await unlink(pidFile(dir)).catch(() => undefined);
}

/** The supervisor's record, and whether that supervisor process is still there. */
export type SupervisorState = SupervisorRecord & { alive: boolean };

/** runtime/supervisor.json of a site, with whether its supervisor still runs. */
export async function supervisorState(dir: string): Promise<SupervisorState | undefined> {
  const rec = await readSupervisorRecord(dir);
  if (!rec) return undefined;
  const done = rec.phase === 'stopped' || rec.phase === 'gave-up';
  return { ...rec, alive: !done && (await looksLikeSupervisor(rec.pid)) };
}

export interface RouterState {
  /** A router runs, or its supervisor does (between two starts of the router). */
  running: boolean;
  /** The router's status when its admin socket answers. */
  status?: StatusSnapshot;
  /** The router's pid (from its status or the pid file). */
  pid?: number;
  /** Alive per pid file, but its admin socket does not answer (starting, or hung). */
  unresponsive?: boolean;
  /** From runtime/supervisor.json, when the router was started with `site start --detach`. */
  supervisor?: SupervisorState;
}

/** Asks the site's admin socket; falls back to the pid file and the supervisor's record. */
export async function routerState(dir: string, timeoutMs = 3000): Promise<RouterState> {
  const client = await adminClient(dir, timeoutMs);
  const sup = await supervisorState(dir);
  const withSup = sup ? { supervisor: sup } : {};
  try {
    const status = await client.status();
    return { running: true, status, pid: status.router.pid, ...withSup };
  } catch {
    const pid = await readPid(dir);
    if (pid !== undefined) return { running: true, pid, unresponsive: true, ...withSup };
    if (sup?.alive) return { running: true, ...withSup };
    return { running: false, ...withSup };
  }
}

/** The status of a running site's router, or SITE_NOT_RUNNING. */
export async function requireRunning(site: SiteRef): Promise<StatusSnapshot> {
  const st = await routerState(site.dir);
  if (st.status) return st.status;
  if (st.unresponsive) {
    throw new CaravanError(
      ErrorCodes.SITE_NOT_RUNNING,
      `the router of site ${site.name} (pid ${st.pid}) does not answer on its admin socket; see ${routerLogFile(site.dir)}`,
    );
  }
  throw new CaravanError(
    ErrorCodes.SITE_NOT_RUNNING,
    `site ${site.name} is not running: start it with 'caravan site start --site ${site.name}'`,
  );
}

export function routerArgs(dir: string, logLevel?: string): string[] {
  return [...ROUTER_NODE_FLAGS, ROUTER_BIN, '--dir', dir, ...(logLevel ? ['--log-level', logLevel] : [])];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function tail(path: string, lines: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts the router in the background under its supervisor (`caravan-router --supervise`, which starts it again
 * when it dies): logs to logs/router.log, the router's pid in runtime/router.pid, the supervisor's state in
 * runtime/supervisor.json. Resolves once the router answers on its admin socket; rejects (with the end of the
 * log) if it exits first or does not answer in time.
 */
export async function startDetached(
  site: SiteRef,
  opts: { logLevel?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<StatusSnapshot> {
  const log = routerLogFile(site.dir);
  const fd = openSync(log, 'a', 0o600);
  let exited: { code: number | null; signal: string | null } | undefined;
  let child;
  try {
    child = spawn(process.execPath, [...routerArgs(site.dir, opts.logLevel), '--supervise'], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
    });
  } finally {
    closeSync(fd);
  }
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.on('error', (e) => (exited = { code: null, signal: errorMessage(e) }));
  const pid = child.pid;
  if (pid === undefined) throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot start ${ROUTER_BIN}`);
  const client = await adminClient(site.dir, 2000);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) {
        const rec = await readSupervisorRecord(site.dir);
        const why = rec?.pid === pid ? rec.lastExit?.cause : undefined;
        const end = await tail(log, 5);
        const err = [...end.matchAll(/^error: (.*)$/gm)].pop()?.[1];
        throw new CaravanError(
          ErrorCodes.SITE_NOT_RUNNING,
          `the router of site ${site.name} did not start (${why ?? exited.signal ?? `exited with code ${exited.code}`})${err ? `: ${err}` : ''}; see ${log}`,
        );
      }
      const rec = await readSupervisorRecord(site.dir);
      if (rec?.pid === pid && rec.childPid !== undefined) {
        const st = await client.status().catch(() => undefined);
        if (st && st.router.pid === rec.childPid) return st;
      }
      if (Date.now() > deadline) {
        throw new CaravanError(
          ErrorCodes.SITE_NOT_RUNNING,
          `the router of site ${site.name} (supervisor pid ${pid}) did not answer within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s; see ${log}`,
        );
      }
      await sleep(100);
    }
  } finally {
    child.unref();
  }
}

/** Sends SIGTERM and waits until the process is gone (SIGKILL after `timeoutMs`). Returns how it ended. */
export async function stopProcess(pid: number, timeoutMs = 15_000): Promise<'stopped' | 'killed' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      while (processAlive(pid)) await sleep(50);
      return 'killed';
    }
    await sleep(50);
  }
  return 'stopped';
}
