import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';

test('ManualClock runs timers in due order, including ones set by a callback within the step', () => {
  const c = new ManualClock(1_000);
  const seen: string[] = [];
  c.setTimeout(() => seen.push(`b@${c.monotonic()}`), 20);
  c.setTimeout(() => {
    seen.push(`a@${c.monotonic()}`);
    c.setTimeout(() => seen.push(`c@${c.monotonic()}`), 5);
  }, 10);
  c.advance(14);
  assert.deepEqual(seen, ['a@10']);
  c.advance(100);
  assert.deepEqual(seen, ['a@10', 'c@15', 'b@20']);
  assert.equal(c.now(), 1_114);
  assert.equal(c.pending, 0);
});

test('ManualClock intervals repeat until cancelled; a cancelled timeout never runs', () => {
  const c = new ManualClock();
  let ticks = 0;
  const iv = c.setInterval(() => ticks++, 10);
  const t = c.setTimeout(() => assert.fail('cancelled timer ran'), 5);
  t.cancel();
  c.advance(35);
  assert.equal(ticks, 3);
  iv.cancel();
  iv.cancel();
  c.advance(100);
  assert.equal(ticks, 3);
  assert.equal(c.pending, 0);
});

test('ManualClock: changing the wall time moves neither monotonic time nor timers', () => {
  const c = new ManualClock(5_000);
  let ran = false;
  c.setTimeout(() => (ran = true), 10);
  c.setWallTime(0);
  assert.equal(c.now(), 0);
  assert.equal(ran, false);
  c.advance(10);
  assert.equal(ran, true);
  assert.equal(c.now(), 10);
  assert.equal(c.monotonic(), 10);
});

test('systemClock timers fire and can be cancelled', async () => {
  const fired = await new Promise<boolean>((resolve) => {
    const cancelled = systemClock.setTimeout(() => resolve(false), 1);
    cancelled.cancel();
    systemClock.setTimeout(() => resolve(true), 2);
  });
  assert.equal(fired, true);
  assert.ok(Math.abs(systemClock.now() - Date.now()) < 1000);
});
