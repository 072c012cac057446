/**
 * The router supervisor's restart policy (a pure state machine on a ManualClock) and its driver with fake child
 * processes: backoff doubling and its cap, the reset after a stable run, giving up after too many crashes in the
 * window, no restart after an intentional stop or a clean exit, and the state it records.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { RestartPolicy, type ExitEvent, type PolicyAction } from '../../src/daemon/restart-policy.js';
import { Supervisor, type ChildHandle } from '../../src/daemon/supervisor.js';
import { memoryLogger } from '../../src/observe/log.js';
import type { SupervisorRecord } from '../../src/site/supervision.js';

const KILL: ExitEvent = { code: null, signal: 'SIGKILL' };
const OPTS = { initialDelayMs: 100, maxDelayMs: 1000, stableMs: 5000, maxCrashes: 5, windowMs: 60_000 };

/** Starts a child, makes it ready, and returns the policy's answer to its crash. */
function crash(p: RestartPolicy, pid: number, ev: ExitEvent = KILL): PolicyAction {
  p.spawned(pid);
  p.ready();
  return p.exited(ev);
}

describe('RestartPolicy', () => {
  test('delays double after each crash and stop at the cap', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, { ...OPTS, maxCrashes: 100 });
    assert.deepEqual(p.begin(), { do: 'spawn' });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const a = crash(p, 100 + i);
      assert.equal(a.do, 'wait');
      if (a.do === 'wait') delays.push(a.ms);
      assert.equal(p.phase, 'backoff');
      c.advance(delays[i]!);
      assert.deepEqual(p.due(), { do: 'spawn' });
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(p.restarts, 6);
  });

  test('records the cause, the pid and how long the child ran', () => {
    const c = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const p = new RestartPolicy(c, OPTS);
    p.begin();
    p.spawned(42);
    p.ready();
    c.advance(1500);
    p.exited(KILL, ['last line']);
    assert.deepEqual(p.lastExit, {
      at: '2026-06-01T12:00:01.500Z',
      pid: 42,
      code: null,
      signal: 'SIGKILL',
      cause: 'killed by SIGKILL',
      uptimeMs: 1500,
      logTail: ['last line'],
    });
    assert.equal(p.nextRestartAt, Date.UTC(2026, 5, 1, 12) + 1600);
    crash(p, 43, { code: 3, signal: null });
    assert.equal(p.lastExit?.cause, 'exited with code 3');
  });

  test('a child that ran stably resets the delay', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, { ...OPTS, maxCrashes: 100 });
    p.begin();
    for (const expected of [100, 200, 400]) {
      const a = crash(p, 1);
      assert.deepEqual(a, { do: 'wait', ms: expected });
      c.advance(expected);
      p.due();
    }
    p.spawned(2);
    p.ready();
    c.advance(4999);
    assert.deepEqual(p.exited(KILL), { do: 'wait', ms: 800 }, 'not yet stable: the delay keeps growing');
    c.advance(800);
    p.due();
    p.spawned(3);
    p.ready();
    c.advance(5000);
    assert.deepEqual(p.exited(KILL), { do: 'wait', ms: 100 }, 'stable run: back to the first delay');
  });

  test('gives up at the crash limit within the window, and says why', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, OPTS);
    p.begin();
    for (let i = 0; i < 4; i++) {
      const a = crash(p, i);
      assert.equal(a.do, 'wait');
      c.advance(1000);
      p.due();
    }
    const a = crash(p, 9, { code: 1, signal: null });
    assert.equal(a.do, 'exit');
    assert.equal(p.phase, 'gave-up');
    if (a.do === 'exit') {
      assert.equal(a.code, 1);
      assert.match(a.reason, /crashed 5 times within 1 min; last: exited with code 1/);
    }
    assert.deepEqual(p.due(), { do: 'nothing' }, 'no restart after giving up');
  });

  test('crashes older than the window no longer count', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, { ...OPTS, stableMs: 1_000_000 });
    p.begin();
    for (let i = 0; i < 4; i++) {
      crash(p, i);
      c.advance(1000);
      p.due();
    }
    assert.equal(p.recentCrashes, 4);
    c.advance(60_000);
    assert.equal(p.recentCrashes, 0);
    assert.equal(crash(p, 5).do, 'wait');
    assert.equal(p.recentCrashes, 1);
  });

  test('a first child that never became ready is not restarted', () => {
    const p = new RestartPolicy(new ManualClock(), OPTS);
    p.begin();
    p.spawned(7);
    const a = p.exited({ code: 1, signal: null });
    assert.deepEqual(a, { do: 'exit', code: 1, reason: 'the router failed to start (exited with code 1)' });
    assert.equal(p.phase, 'gave-up');
  });

  test('a restarted child that dies before it is ready counts as a crash', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, OPTS);
    p.begin();
    crash(p, 1);
    c.advance(100);
    p.due();
    p.spawned(2);
    assert.deepEqual(p.exited({ code: null, signal: null, error: 'spawn ENOENT' }), { do: 'wait', ms: 200 });
    assert.equal(p.lastExit?.cause, 'could not start: spawn ENOENT');
  });

  test('an intentional stop is passed on and never followed by a restart', () => {
    const p = new RestartPolicy(new ManualClock(), OPTS);
    p.begin();
    p.spawned(1);
    p.ready();
    assert.deepEqual(p.stop('SIGTERM'), { do: 'signal', signal: 'SIGTERM' });
    assert.equal(p.phase, 'stopping');
    // even when the router dies from the signal (or crashes while stopping)
    assert.deepEqual(p.exited({ code: null, signal: 'SIGTERM' }), {
      do: 'exit',
      code: 0,
      reason: 'stopped by SIGTERM',
    });
    assert.equal(p.phase, 'stopped');
    assert.deepEqual(p.stop('SIGTERM'), { do: 'nothing' });
  });

  test('a stop while waiting to restart ends at once', () => {
    const c = new ManualClock();
    const p = new RestartPolicy(c, OPTS);
    p.begin();
    crash(p, 1);
    const a = p.stop('SIGINT');
    assert.equal(a.do, 'exit');
    assert.equal(p.phase, 'stopped');
    assert.equal(p.nextRestartAt, undefined);
    assert.deepEqual(p.due(), { do: 'nothing' });
  });

  test('a router that exits with code 0 on its own is not restarted', () => {
    const p = new RestartPolicy(new ManualClock(), OPTS);
    p.begin();
    const a = crash(p, 1, { code: 0, signal: null });
    assert.equal(a.do, 'exit');
    if (a.do === 'exit') assert.equal(a.code, 0);
    assert.equal(p.phase, 'stopped');
  });
});

class FakeChild implements ChildHandle {
  signals: NodeJS.Signals[] = [];
  private readyFn: (() => void) | undefined;
  private exitFn: ((ev: ExitEvent) => void) | undefined;
  constructor(readonly pid: number) {}
  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
  }
  onReady(fn: () => void): void {
    this.readyFn = fn;
  }
  onExit(fn: (ev: ExitEvent) => void): void {
    this.exitFn = fn;
  }
  ready(): void {
    this.readyFn?.();
  }
  exit(ev: ExitEvent): void {
    this.exitFn?.(ev);
  }
}

/** Lets the supervisor's queued promise callbacks (log tail, state writes) run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function harness(opts: { stopGraceMs?: number } = {}) {
  const clock = new ManualClock();
  const logger = memoryLogger('info');
  const children: FakeChild[] = [];
  const records: SupervisorRecord[] = [];
  const pids: Array<number | undefined> = [];
  const sup = new Supervisor({
    clock,
    logger,
    pid: 999,
    spawn: () => {
      const c = new FakeChild(1000 + children.length);
      children.push(c);
      return c;
    },
    writeRecord: async (r) => void records.push(r),
    writePid: async (p) => void pids.push(p),
    logTail: async () => ['boom'],
    restart: OPTS,
    ...opts,
  });
  return { clock, logger, children, records, pids, sup, last: () => records[records.length - 1]! };
}

describe('Supervisor', () => {
  test('restarts a killed router after the delay and records the restart and its cause', async () => {
    const h = harness();
    h.sup.start();
    h.children[0]!.ready();
    await settle();
    assert.equal(h.last().phase, 'running');
    assert.equal(h.last().childPid, 1000);
    h.children[0]!.exit(KILL);
    await settle();
    assert.equal(h.last().phase, 'backoff');
    assert.equal(h.last().lastExit?.cause, 'killed by SIGKILL');
    assert.deepEqual(h.last().lastExit?.logTail, ['boom']);
    assert.ok(h.logger.lines.some((l) => /router died; restarting .*cause="killed by SIGKILL"/.test(l)));
    h.clock.advance(99);
    assert.equal(h.children.length, 1, 'not before the delay');
    h.clock.advance(1);
    assert.equal(h.children.length, 2);
    h.children[1]!.ready();
    await settle();
    assert.equal(h.last().phase, 'running');
    assert.equal(h.last().restarts, 1);
    assert.equal(h.last().childPid, 1001);
    assert.equal(h.last().pid, 999);
    assert.deepEqual(h.pids, [1000, 1001]);
  });

  test('a stop is passed on, the router is not restarted, the pid file goes', async () => {
    const h = harness();
    h.sup.start();
    h.children[0]!.ready();
    h.sup.stop('SIGTERM');
    assert.deepEqual(h.children[0]!.signals, ['SIGTERM']);
    h.children[0]!.exit({ code: 0, signal: null });
    assert.equal(await h.sup.done, 0);
    h.clock.advance(60_000);
    assert.equal(h.children.length, 1);
    assert.equal(h.last().phase, 'stopped');
    assert.equal(h.last().reason, 'stopped by SIGTERM');
    assert.equal(h.pids[h.pids.length - 1], undefined);
  });

  test('a router that ignores the stop is killed after the grace period', async () => {
    const h = harness({ stopGraceMs: 2000 });
    h.sup.start();
    h.children[0]!.ready();
    h.sup.stop('SIGINT');
    h.clock.advance(1999);
    assert.deepEqual(h.children[0]!.signals, ['SIGINT']);
    h.clock.advance(1);
    assert.deepEqual(h.children[0]!.signals, ['SIGINT', 'SIGKILL']);
    h.children[0]!.exit({ code: null, signal: 'SIGKILL' });
    assert.equal(await h.sup.done, 0);
    assert.equal(h.children.length, 1);
  });

  test('a stop during the backoff ends without another start', async () => {
    const h = harness();
    h.sup.start();
    h.children[0]!.ready();
    h.children[0]!.exit(KILL);
    await settle();
    h.sup.stop('SIGTERM');
    assert.equal(await h.sup.done, 0);
    h.clock.advance(10_000);
    assert.equal(h.children.length, 1);
    assert.equal(h.clock.pending, 0);
  });

  test('gives up after the crash limit, logs why and ends with code 1', async () => {
    const h = harness();
    h.sup.start();
    for (let i = 0; i < 5; i++) {
      h.children[i]!.ready();
      h.children[i]!.exit({ code: 1, signal: null });
      await settle();
      h.clock.advance(1000);
    }
    assert.equal(await h.sup.done, 1);
    assert.equal(h.children.length, 5);
    assert.equal(h.last().phase, 'gave-up');
    assert.equal(h.last().restarts, 4);
    assert.match(h.last().reason ?? '', /crashed 5 times/);
    assert.ok(h.logger.lines.some((l) => /ERROR router died; giving up/.test(l)));
  });

  test('a router that cannot be spawned at all ends the supervisor with the reason', async () => {
    const clock = new ManualClock();
    const records: SupervisorRecord[] = [];
    const sup = new Supervisor({
      clock,
      logger: memoryLogger('info'),
      pid: 1,
      spawn: () => {
        throw new Error('spawn EACCES');
      },
      writeRecord: async (r) => void records.push(r),
      writePid: async () => undefined,
      restart: OPTS,
    });
    sup.start();
    assert.equal(await sup.done, 1);
    const last = records[records.length - 1]!;
    assert.equal(last.phase, 'gave-up');
    assert.equal(last.lastExit?.cause, 'could not start: spawn EACCES');
    assert.match(last.reason ?? '', /failed to start \(could not start: spawn EACCES\)/);
  });

  test('SIGHUP is passed on without touching the supervision', () => {
    const h = harness();
    h.sup.start();
    h.sup.forward('SIGHUP');
    assert.deepEqual(h.children[0]!.signals, ['SIGHUP']);
    assert.equal(h.sup.phase, 'starting');
  });
});
