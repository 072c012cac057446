/**
 * `caravan site start --detach` runs the router under its supervisor, with real processes: a router killed with
 * -9 comes back (a new pid answers on the admin socket), `site status` shows one restart and "killed by
 * SIGKILL", and `site stop` stops the supervisor and the router without a restart, leaving no process behind.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { repoRoot, run, type RunResult } from '../support/proc.js';
import { makeTempRoot } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const CARAVAN = join(repoRoot, 'bin', 'caravan.js');

interface SiteStatus {
  running: boolean;
  pid?: number;
  supervisor?: {
    pid: number;
    running: boolean;
    phase: string;
    restarts: number;
    lastExit?: { cause: string; signal: string | null; code: number | null; pid?: number };
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line names `dir` (Linux /proc). */
async function processesOf(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.split('\0').includes(dir)) out.push(Number(e));
  }
  return out;
}

describe('site start --detach: the supervisor restarts a router that dies', () => {
  let root: { dir: string; remove: () => Promise<void> };
  const pids = new Set<number>();
  let siteDir: string;

  const cv = (args: string[]): Promise<RunResult> =>
    run(process.execPath, [CARAVAN, ...args, '--site', 'solo'], {
      env: { ...process.env, CARAVAN_HOME: root.dir, NO_COLOR: '1', CARAVAN_RESTART_DELAY_MS: '200' },
      cwd: root.dir,
    });
  const cvOk = async (args: string[]): Promise<string> => {
    const r = await cv(args);
    assert.equal(r.code, 0, `caravan ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const status = async (): Promise<SiteStatus> =>
    JSON.parse(await cvOk(['site', 'status', '-o', 'json'])) as SiteStatus;

  before(async () => {
    root = await makeTempRoot('supervise');
    const r = await run(process.execPath, [CARAVAN, 'site', 'create', 'solo'], {
      env: { ...process.env, CARAVAN_HOME: root.dir },
      cwd: root.dir,
    });
    assert.equal(r.code, 0, r.stderr);
    siteDir = join(root.dir, 'sites', 'solo');
  });

  after(async () => {
    await cv(['site', 'stop', '--timeout', '5']).catch(() => undefined);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await root?.remove();
  });

  test('kill -9 of the router: it comes back, status shows the restart and its cause; stop leaves nothing', async () => {
    assert.match(await cvOk(['site', 'start', '--detach']), /Site solo started/);
    const first = await status();
    assert.equal(first.running, true);
    assert.ok(first.pid !== undefined && first.supervisor, JSON.stringify(first));
    const routerPid = first.pid;
    const supPid = first.supervisor.pid;
    pids.add(routerPid).add(supPid);
    assert.notEqual(routerPid, supPid);
    assert.equal(first.supervisor.restarts, 0);
    assert.equal(first.supervisor.running, true);
    assert.match(
      await new AdminClient(join(siteDir, 'runtime', 'admin.sock')).metrics(),
      /^caravan_router_restarts_total 0$/m,
    );
    assert.deepEqual((await processesOf(siteDir)).sort(), [routerPid, supPid].sort());

    process.kill(routerPid, 'SIGKILL');
    const back = await waitFor(
      async () => {
        const s = await status();
        return s.pid !== undefined && s.pid !== routerPid && s.supervisor?.phase === 'running'
          ? s
          : undefined;
      },
      { what: 'a new router pid answering on the admin socket', timeoutMs: 20_000, intervalMs: 200 },
    );
    pids.add(back.pid!);
    assert.equal(alive(routerPid), false);
    assert.equal(back.supervisor?.pid, supPid, 'the same supervisor');
    assert.equal(back.supervisor?.restarts, 1);
    assert.equal(back.supervisor?.lastExit?.cause, 'killed by SIGKILL');
    assert.equal(back.supervisor?.lastExit?.signal, 'SIGKILL');
    assert.equal(back.supervisor?.lastExit?.pid, routerPid);
    const human = await cvOk(['site', 'status']);
    assert.match(human, /Restarts:\s+1 \(last exit: killed by SIGKILL/);
    assert.match(human, new RegExp(`Supervisor:\\s+pid ${supPid} \\(running\\)`));
    const yaml = await cvOk(['site', 'status', '-o', 'yaml']);
    assert.match(yaml, /restarts: 1/);
    assert.match(yaml, /cause: killed by SIGKILL/);
    const metrics = await new AdminClient(join(siteDir, 'runtime', 'admin.sock')).metrics();
    assert.match(metrics, /^caravan_router_restarts_total 1$/m);
    const log = await readFile(join(siteDir, 'logs', 'router.log'), 'utf8');
    assert.match(log, /WARN {2}router died; restarting .*cause="killed by SIGKILL"/);

    assert.match(await cvOk(['site', 'stop']), new RegExp(`Site solo stopped \\(pid ${back.pid}\\)`));
    // site stop returns once both are gone; nothing was started in between
    assert.equal(alive(supPid), false, 'supervisor gone');
    assert.equal(alive(back.pid!), false, 'router gone');
    assert.deepEqual(await processesOf(siteDir), [], 'no process of the site is left');
    const rec = JSON.parse(await readFile(join(siteDir, 'runtime', 'supervisor.json'), 'utf8')) as {
      phase: string;
      restarts: number;
      childPid?: number;
    };
    assert.equal(rec.phase, 'stopped');
    assert.equal(rec.restarts, 1, 'no restart after the stop');
    assert.equal(rec.childPid, undefined);
    const after = await status();
    assert.equal(after.running, false);
    assert.equal(after.supervisor?.running, false);
    assert.equal((await cv(['site', 'stop'])).code !== 0, true, 'a second stop finds nothing running');
  });
});
