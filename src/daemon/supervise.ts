/**
 * `caravan-router --supervise --dir SITE_DIR [router options]`: the supervisor process. Starts
 * `caravan-router --dir SITE_DIR [router options]` as its child (stdout/stderr to logs/router.log, an IPC channel
 * on which the router says "ready"), restarts it when it dies, and ends when it was stopped or gave up.
 * Restart settings come from CARAVAN_RESTART_* environment variables (docs/design/sites.md, "Supervision").
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../clock.js';
import { errorMessage } from '../errors.js';
import { createLogger, type LogLevel } from '../observe/log.js';
import { writeFileAtomic } from '../site/atomic.js';
import { ROUTER_NODE_FLAGS } from '../site/node-flags.js';
import { writeSupervisorRecord } from '../site/supervision.js';
import type { ExitEvent, RestartOptions } from './restart-policy.js';
import { Supervisor, type ChildHandle } from './supervisor.js';

/** `bin/caravan-router.js` of this package (dist/src/daemon/supervise.js → ../../../bin). */
const ROUTER_BIN = fileURLToPath(new URL('../../../bin/caravan-router.js', import.meta.url));

/** How many times the supervisor started the router again before this start (the router exports it as a metric). */
export const RESTARTS_ENV = 'CARAVAN_SUPERVISOR_RESTARTS';

/** The message a supervised router sends on its IPC channel once it runs. */
export const READY_MESSAGE = 'caravan-router-ready';

const ENV_SETTINGS: Array<[keyof RestartOptions, string]> = [
  ['initialDelayMs', 'CARAVAN_RESTART_DELAY_MS'],
  ['maxDelayMs', 'CARAVAN_RESTART_MAX_DELAY_MS'],
  ['stableMs', 'CARAVAN_RESTART_STABLE_MS'],
  ['maxCrashes', 'CARAVAN_RESTART_LIMIT'],
  ['windowMs', 'CARAVAN_RESTART_WINDOW_MS'],
];

/** Restart settings from the environment; throws RangeError naming the variable when one is not a positive integer. */
export function restartOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<RestartOptions> {
  const out: Partial<RestartOptions> = {};
  for (const [key, name] of ENV_SETTINGS) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`${name} must be a positive integer (got '${v}')`);
    out[key] = n;
  }
  return out;
}

/** The last `lines` lines of a file, reading at most its last `maxBytes` bytes. */
export async function tailLines(path: string, lines = 10, maxBytes = 8192): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const text = buf.toString('utf8').trimEnd();
    const all = text.split('\n');
    if (size > len) all.shift(); // a partial first line
    return all.slice(-lines);
  } finally {
    await fh.close();
  }
}

export interface SuperviseOptions {
  dir: string;
  /** Options passed on to the router (`--log-level`, `--log-format`, `--console-port`). */
  routerArgs: string[];
  level: LogLevel;
  format: 'text' | 'json';
  restart: Partial<RestartOptions>;
}

function spawnRouter(dir: string, args: string[], logPath: string, restarts: number): ChildHandle {
  // opened for every start, so a restarted router writes to the current log after a rotation
  const fd = openSync(logPath, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [...ROUTER_NODE_FLAGS, ROUTER_BIN, '--dir', dir, ...args], {
      stdio: ['ignore', fd, fd, 'ipc'],
      env: { ...process.env, [RESTARTS_ENV]: String(restarts) },
    });
  } finally {
    closeSync(fd);
  }
  let exitFn: ((ev: ExitEvent) => void) | undefined;
  let exited: ExitEvent | undefined;
  const end = (ev: ExitEvent): void => {
    if (exited) return;
    exited = ev;
    exitFn?.(ev);
  };
  child.on('exit', (code, signal) => end({ code, signal }));
  child.on('error', (e) => {
    if (child.pid === undefined || child.exitCode !== null)
      end({ code: null, signal: null, error: errorMessage(e) });
  });
  return {
    pid: child.pid,
    kill: (sig) => void child.kill(sig),
    onReady: (fn) => {
      const onMsg = (m: unknown): void => {
        if (m !== READY_MESSAGE) return;
        child.off('message', onMsg);
        child.disconnect();
        fn();
      };
      child.on('message', onMsg);
    },
    onExit: (fn) => {
      exitFn = fn;
      if (exited) fn(exited);
    },
  };
}

/** Runs the supervisor until the router was stopped (0) or the supervisor gave up (1). */
export async function supervise(opts: SuperviseOptions): Promise<number> {
  const logPath = join(opts.dir, 'logs', 'router.log');
  const pidPath = join(opts.dir, 'runtime', 'router.pid');
  mkdirSync(join(opts.dir, 'logs'), { recursive: true, mode: 0o700 });
  // appended line by line (the router rotates the file; each line goes to the current one)
  const logger = createLogger(
    {
      level: opts.level,
      format: opts.format,
      sinks: [
        {
          write: (l) => {
            try {
              appendFileSync(logPath, l, { mode: 0o600 });
            } catch {
              process.stderr.write(l);
            }
          },
        },
      ],
    },
    { component: 'supervisor' },
  );
  const sup = new Supervisor({
    clock: systemClock,
    logger,
    spawn: (restarts) => spawnRouter(opts.dir, opts.routerArgs, logPath, restarts),
    writeRecord: (rec) => writeSupervisorRecord(opts.dir, rec),
    writePid: async (pid) => {
      if (pid === undefined) await unlink(pidPath).catch(() => undefined);
      else await writeFileAtomic(pidPath, `${pid}\n`);
    },
    logTail: () => tailLines(logPath),
    restart: opts.restart,
  });
  const onTerm = (): void => sup.stop('SIGTERM');
  const onInt = (): void => sup.stop('SIGINT');
  const onHup = (): void => sup.forward('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  logger.info('supervisor started', { dir: opts.dir });
  sup.start();
  const code = await sup.done;
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  process.off('SIGHUP', onHup);
  logger.info('supervisor stopped', { phase: sup.phase });
  return code;
}
