import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import { RepeatLog } from '../../src/observe/repeat-log.js';
import { TokenBucket } from '../../src/rate-limit.js';

test('rate-limited log: first occurrence at once, the rest as one summary line per interval', () => {
  const clock = new ManualClock();
  const log = memoryLogger('info');
  const rl = new RepeatLog(log, { clock, intervalMs: 10_000 });
  for (let i = 0; i < 1000; i++) rl.warn('bad-header', 'flow refused: malformed header', { link: `in-${i}` });
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0] ?? '', /WARN +flow refused: malformed header link=in-0$/);
  assert.deepEqual(rl.pending, { 'bad-header': 999 });
  clock.advance(10_000);
  assert.equal(log.lines.length, 2);
  assert.match(
    log.lines[1] ?? '',
    /flow refused: malformed header \(repeated\) link=in-999 repeated=999 intervalS=10/,
  );
  // still flooding: again one line for the next interval
  for (let i = 0; i < 5; i++) rl.warn('bad-header', 'flow refused: malformed header');
  assert.equal(log.lines.length, 2);
  clock.advance(10_000);
  assert.equal(log.lines.length, 3);
  assert.match(log.lines[2] ?? '', /repeated=5/);
  // a quiet interval: the next occurrence is logged at once again, and the timer stops meanwhile
  clock.advance(10_000);
  assert.equal(clock.pending, 0);
  rl.warn('bad-header', 'flow refused: malformed header');
  assert.equal(log.lines.length, 4);
  rl.close();
});

test('rate-limited log: kinds are counted apart and bounded in number', () => {
  const clock = new ManualClock();
  const log = memoryLogger('info');
  const rl = new RepeatLog(log, { clock, maxKinds: 2 });
  rl.warn('a', 'fault a');
  rl.warn('b', 'fault b');
  rl.warn('a', 'fault a');
  for (let i = 0; i < 100; i++) rl.warn(`k${i}`, 'fault k');
  assert.equal(log.lines.length, 3, log.lines.join('\n')); // a, b, and one for all further kinds
  rl.close();
  assert.ok(log.lines.some((l) => /fault a \(repeated\).*repeated=1/.test(l)));
  assert.ok(log.lines.some((l) => /fault k \(repeated\).*repeated=99/.test(l)));
});

test('rate-limited log writes nothing when its level is off', () => {
  const log = memoryLogger('error');
  const rl = new RepeatLog(log, { clock: new ManualClock() });
  rl.warn('a', 'x');
  rl.close();
  assert.equal(log.lines.length, 0);
});

test('token bucket: a burst, then the rate', () => {
  const clock = new ManualClock();
  const b = new TokenBucket({ perSecond: 100, burst: 3 }, clock);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  clock.advance(10);
  assert.equal(b.take(), true);
  assert.equal(b.take(), false);
  clock.advance(60_000);
  let n = 0;
  while (b.take()) n++;
  assert.equal(n, 3, 'never more than the burst');
});
