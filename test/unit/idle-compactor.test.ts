import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { IdleCompactor, type IdleCompactorProbes } from '../../src/daemon/idle-compactor.js';
import { nullLogger } from '../../src/observe/log.js';
import { ROUTER_NODE_FLAGS } from '../../src/site/node-flags.js';

const MiB = 1024 * 1024;

/** A scripted process: the test moves time, CPU and RSS; `gc` records calls and gives the memory back. */
function fakeProcess(): IdleCompactorProbes & { t: number; cpu: number; rss: number; gcs: number } {
  const p = {
    t: 0,
    cpu: 0,
    rss: 20 * MiB,
    gcs: 0,
    cpuMicros: () => p.cpu,
    residentBytes: () => p.rss,
    now: () => p.t,
    gc: (): void => {
      p.gcs++;
      p.rss = 20 * MiB;
    },
  };
  return p;
}

/** Advance 500 ms with `busyMs` of CPU used in it, then look. */
function step(c: IdleCompactor, p: ReturnType<typeof fakeProcess>, busyMs: number): boolean {
  p.t += 500;
  p.cpu += busyMs * 1000;
  return c.tick();
}

test('idle compactor: collects once after a burst, only when quiet and only if RSS grew', () => {
  const p = fakeProcess();
  const c = new IdleCompactor({ logger: nullLogger, probes: p });
  // a burst: busy, RSS grows by 30 MiB; nothing is collected while busy
  for (let i = 0; i < 10; i++) {
    p.rss += 3 * MiB;
    assert.equal(step(c, p, 400), false);
  }
  // quiet: the first quiet look starts the clock, collection after 1 s of quiet
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 1), true);
  assert.equal(p.gcs, 1);
  assert.equal(c.compactions.length, 1);
  assert.equal(c.compactions[0]?.rssBefore, 50 * MiB);
  assert.equal(c.compactions[0]?.rssAfter, 20 * MiB);
  // still quiet, RSS back at the baseline: no second collection
  for (let i = 0; i < 10; i++) assert.equal(step(c, p, 1), false);
  assert.equal(p.gcs, 1);
});

test('idle compactor: small growth or steady traffic never triggers a collection', () => {
  const p = fakeProcess();
  const c = new IdleCompactor({ logger: nullLogger, probes: p });
  p.rss += 5 * MiB; // below the 6 MiB threshold
  for (let i = 0; i < 10; i++) assert.equal(step(c, p, 1), false);
  p.rss += 20 * MiB;
  // 10% of a core is traffic, not quiet
  for (let i = 0; i < 10; i++) assert.equal(step(c, p, 50), false);
  assert.equal(p.gcs, 0);
  // a busy look in between restarts the quiet clock
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 300), false);
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 1), false);
  assert.equal(step(c, p, 1), true);
});

test('idle compactor: without an exposed gc it does nothing', () => {
  const p = { ...fakeProcess(), gc: undefined };
  const c = new IdleCompactor({ logger: nullLogger, probes: p });
  assert.equal(c.available, false);
  c.start(); // no timer
  c.stop();
});

test('idle compactor: the router flags expose gc to a real node process', () => {
  // The daemon relies on ROUTER_NODE_FLAGS; check in a real child process that they give it `gc`.
  const r = spawnSync(
    process.execPath,
    [...ROUTER_NODE_FLAGS, '-e', 'process.stdout.write(typeof globalThis.gc)'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'function');
});

test('idle compactor: growth a collection cannot give back does not make it collect again and again', () => {
  const p = fakeProcess();
  p.gc = (): void => {
    p.gcs++; // gives nothing back (e.g. malloc high water)
  };
  const c = new IdleCompactor({ logger: nullLogger, probes: p });
  p.rss += 10 * MiB;
  for (let i = 0; i < 20; i++) step(c, p, 1);
  assert.equal(p.gcs, 2, 'a second try once sweeping is done, then no more');
  // a new burst on top of it: two more tries at most
  p.rss += 10 * MiB;
  step(c, p, 300);
  for (let i = 0; i < 20; i++) step(c, p, 1);
  assert.equal(p.gcs, 4);
});
