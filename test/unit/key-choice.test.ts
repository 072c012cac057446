import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyChoice } from '../../src/adapters/common/key-choice.js';

const all = (): boolean => true;

test('priority: keys in the order written; unreachable ones last, still in order', () => {
  const c = new KeyChoice({
    strategy: 'priority',
    keys: ['a', 'b', 'c'].map((k) => ({ routingKey: k, weight: 1 })),
  });
  assert.deepEqual(c.order(all), ['a', 'b', 'c']);
  assert.deepEqual(
    c.order((k) => k !== 'a'),
    ['b', 'c', 'a'],
  );
  assert.deepEqual(
    c.order(() => false),
    ['a', 'b', 'c'],
  );
});

test('weighted: smooth round robin gives each key its exact share, evenly interleaved', () => {
  const c = new KeyChoice({
    strategy: 'weighted',
    keys: [
      { routingKey: 'v1', weight: 5 },
      { routingKey: 'v2', weight: 2 },
      { routingKey: 'v3', weight: 1 },
    ],
  });
  const firsts: string[] = [];
  for (let i = 0; i < 80; i++) firsts.push(c.order(all)[0] as string);
  const count = (k: string): number => firsts.filter((x) => x === k).length;
  assert.deepEqual([count('v1'), count('v2'), count('v3')], [50, 20, 10]);
  // interleaved, not in runs: v3 never comes twice within one cycle of 8, v1 never more than 3 times in a row
  assert.doesNotMatch(firsts.join(','), /(v1,){4}/);
  for (let i = 0; i + 8 <= firsts.length; i += 8)
    assert.equal(firsts.slice(i, i + 8).filter((x) => x === 'v3').length, 1);
  // after the first choice come the other reachable keys by weight, heaviest first, then the unreachable ones
  const weight: Record<string, number> = { v1: 5, v2: 2, v3: 1 };
  for (let i = 0; i < 8; i++) {
    const rest = c.order(all).slice(1);
    assert.equal(rest.length, 2);
    assert.ok((weight[rest[0] as string] ?? 0) > (weight[rest[1] as string] ?? 0), rest.join(','));
    const some = c.order((k) => k !== 'v1');
    assert.equal(some[2], 'v1', 'the unreachable key comes last');
  }
});

test('weighted: an unreachable key drops out and the others share its part; it comes back when reachable', () => {
  const c = new KeyChoice({
    strategy: 'weighted',
    keys: [
      { routingKey: 'a', weight: 3 },
      { routingKey: 'b', weight: 1 },
    ],
  });
  const up = new Set(['b']);
  const pick = (): string[] => c.order((k) => up.has(k));
  for (let i = 0; i < 5; i++) assert.deepEqual(pick(), ['b', 'a']);
  up.add('a');
  const firsts = Array.from({ length: 40 }, () => pick()[0]);
  assert.equal(firsts.filter((k) => k === 'a').length, 30);
  assert.deepEqual(
    c.order((k) => k === 'a'),
    ['a', 'b'],
  );
});

test('established connections are counted per key', () => {
  const c = new KeyChoice({
    strategy: 'priority',
    keys: [
      { routingKey: 'a', weight: 1 },
      { routingKey: 'b', weight: 1 },
    ],
  });
  c.established('b');
  c.established('b');
  c.established('a');
  assert.deepEqual(Object.fromEntries(c.routed), { a: 1, b: 2 });
});
