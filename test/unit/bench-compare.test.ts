// `npm run bench -- --compare <ref>`: its arguments, the interleaved order of the two builds, and the table of
// medians, ratios and spreads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRow, formatCompare, schedule, spread } from '../../bench/compare-report.js';
import { parseConfig } from '../../bench/config.js';

test('compare arguments: ref, rounds, hops, sections; errors for bad values', () => {
  const cfg = parseConfig(['--compare', 'HEAD~1']);
  assert.deepEqual(cfg?.compare, { ref: 'HEAD~1', rounds: 5, hops: 1, rebuild: false });
  // without --only, the comparison measures the traffic sections only
  assert.deepEqual([...(cfg?.sections ?? [])].sort(), ['conns', 'iperf', 'redis']);
  const quick = parseConfig(['--compare', 'main', '--quick', '--only', 'conns', '--hops', '2', '--rebuild']);
  assert.deepEqual(quick?.compare, { ref: 'main', rounds: 3, hops: 2, rebuild: true });
  assert.deepEqual([...(quick?.sections ?? [])], ['conns']);
  assert.equal(parseConfig(['--compare', 'abc123', '--rounds', '7'])?.compare?.rounds, 7);
  assert.equal(parseConfig([])?.compare, undefined);

  assert.throws(() => parseConfig(['--compare', 'x', '--rounds', '0']), /--rounds: expected a whole number/);
  assert.throws(() => parseConfig(['--compare', 'x', '--rounds', '2.5']), /--rounds/);
  assert.throws(() => parseConfig(['--compare', 'x', '--hops', '3']), /--hops: expected 1 or 2/);
  assert.throws(() => parseConfig(['--compare', 'x', '--only', 'churn']), /'churn' is not one of them/);
  assert.throws(() => parseConfig(['--compare', '']), /not a git ref/);
  assert.throws(() => parseConfig(['--rounds', '3']), /--rounds is an option of --compare/);
  assert.throws(() => parseConfig(['--compare']), /argument missing/);
});

test('schedule: every round runs both builds once, and each build goes first in alternate rounds', () => {
  const order = schedule(4).map((s) => `${s.round}${s.side}`);
  assert.deepEqual(order, ['0A', '0B', '1B', '1A', '2A', '2B', '3B', '3A']);
  assert.deepEqual(
    schedule(1).map((s) => s.side),
    ['A', 'B'],
  );
  const five = schedule(5);
  assert.equal(five.filter((s) => s.side === 'A').length, 5);
  assert.equal(five.filter((s) => s.side === 'B').length, 5);
  assert.throws(() => schedule(0), /positive integer/);
});

test('compare rows: medians, B/A, spreads, and a verdict only when the ranges do not overlap', () => {
  const faster = compareRow({
    id: 'conns.rps',
    label: 'new connections/s',
    unit: 'conn/s',
    better: 'higher',
    a: [1000, 1100, 900, NaN], // a failed run counts as no run
    b: [1500, 1400, 1600, 1450],
  });
  assert.equal(faster.medianA, 1000);
  assert.equal(faster.medianB, 1475); // even count: mean of the middle two
  assert.equal(faster.ratio, 1.475);
  assert.equal(faster.spreadA, 0.1); // (1100 - 900) / 2 / 1000
  assert.equal(faster.runsA, 3);
  assert.equal(faster.runsB, 4);
  assert.equal(faster.verdict, 'better');
  assert.deepEqual(faster.valuesA, [1000, 1100, 900, NaN]); // kept as run, for the JSON

  const cpu = compareRow({
    id: 'x.cpu',
    label: 'cpu',
    unit: 'µs',
    better: 'lower',
    a: [500, 520],
    b: [400, 410],
  });
  assert.equal(cpu.verdict, 'better'); // lower is better and every B run is below every A run
  const slower = compareRow({ id: 'x', label: 'x', unit: 'MB/s', better: 'higher', a: [10, 11], b: [8, 9] });
  assert.equal(slower.verdict, 'worse');
  const overlap = compareRow({
    id: 'x',
    label: 'x',
    unit: 'MB/s',
    better: 'higher',
    a: [10, 12],
    b: [11, 13],
  });
  assert.equal(overlap.verdict, 'same');
  const none = compareRow({ id: 'x', label: 'x', unit: 'MB', better: 'lower', a: [60], b: [] });
  const single = compareRow({ id: 'x', label: 'x', unit: 'MB', better: 'lower', a: [60], b: [50] });
  assert.equal(single.verdict, 'n/a'); // one run each: no verdict
  assert.equal(single.ratio, 50 / 60);
  assert.equal(none.verdict, 'n/a');
  assert.ok(Number.isNaN(none.ratio));
  assert.ok(Number.isNaN(none.spreadA)); // one run has no spread
  assert.ok(Number.isNaN(spread([])));

  const text = formatCompare([faster, cpu, none], 'abc1234 old (HEAD~1)', 'this working tree');
  const lines = text.split('\n');
  assert.match(lines[0] ?? '', /^row +A +B +B\/A +spread A +spread B +runs +verdict$/);
  assert.match(
    text,
    /^new connections\/s \(conn\/s, higher is better\) +1,000 +1,475 +1\.475 +±10\.0% +±6\.8% +3\/4 +better$/m,
  );
  assert.match(text, /^cpu \(µs, lower is better\) +510 +405 +0\.794 .* better$/m);
  assert.match(text, /^x \(MB, lower is better\) +60\.0 +– +– +– +– +1\/0 +n\/a$/m);
  assert.match(text, /A = abc1234 old \(HEAD~1\), B = this working tree/);
});
