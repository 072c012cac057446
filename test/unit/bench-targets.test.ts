// The benchmark's targets: exactly the rows of the performance issue, evaluated on medians, SKIP when unmeasured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateTargets, formatTargets } from '../../bench/targets.js';
import type { Metric } from '../../bench/results.js';

const metric = (id: string, median: Metric['median']): Metric =>
  ({ id, label: id, unit: '', better: 'higher', median, runs: {} }) as Metric;

test('targets: every row of the issue, PASS/MISS on the ratios of one run, SKIP when a section did not run', () => {
  const metrics = new Map(
    [
      metric('conns.rps', { direct: 20_000, 'caravan-1hop': 5_000 }),
      metric('cpu.conns.usPerConn', { 'caravan-1hop': 350 }),
      metric('redis.ping_inline.c1.rps', { direct: 10_000, 'caravan-1hop': 4_000 }),
      metric('redis.get.c50.rps', { direct: 100_000, 'caravan-1hop': 40_000 }),
      metric('iperf.p1.up', { stunnel: 10, 'caravan-1hop': 11, 'caravan-2hop': 9 }),
      metric('mem.load', { 'caravan-1hop': 70, 'caravan-2hop': 90 }),
    ].map((m) => [m.id, m]),
  );
  const results = evaluateTargets({ metrics, idleRss: {}, churn: [], scale: [] });
  const by = (name: string) => results.find((x) => x.name.startsWith(name));
  assert.equal(by('new connections/s (redis -k 0 -c 8) caravan-1hop/direct')?.pass, true); // 0.25 ≥ 0.22
  assert.equal(by('new connections/s caravan-1hop absolute')?.pass, true);
  assert.equal(by('CPU per new connection')?.pass, false); // 350 > 300
  assert.equal(by('redis PING_INLINE -c 1')?.pass, true); // 0.40
  assert.equal(by('redis GET -c 50')?.pass, false); // 0.40 < 0.45
  assert.equal(by('iperf3 1 stream client→server caravan-1hop/stunnel')?.pass, true); // 1.10
  assert.equal(by('iperf3 1 stream client→server caravan-2hop/caravan-1hop')?.pass, true); // 0.82
  assert.equal(by('iperf3 4 streams client→server')?.pass, undefined);
  assert.equal(by('router RSS peak under load')?.pass, false); // 90 MB
  assert.equal(by('router RSS idle')?.pass, undefined);
  const text = formatTargets(results);
  assert.match(
    text,
    /^PASS {2}new connections\/s \(redis -k 0 -c 8\) caravan-1hop\/direct: 0\.25 \(target ≥ 0\.22\)$/m,
  );
  assert.match(text, /^MISS {2}redis GET -c 50 rps caravan-1hop\/direct: 0\.40 \(target ≥ 0\.45\)$/m);
  assert.match(text, /^SKIP {2}iperf3 4 streams server→client caravan-1hop\/stunnel: n\/a/m);
});

test('targets: UDP 20 Mbit/s loss ≤ 1 % on caravan-1hop, the 2-hop figure beside it; SKIP without the udp section', () => {
  const loss = (median: Metric['median']): Map<string, Metric> =>
    new Map([['udp.20M.loss', { ...metric('udp.20M.loss', median), unit: '%', better: 'lower' }]]);
  const udp = (m: Map<string, Metric>) =>
    evaluateTargets({ metrics: m, idleRss: {}, churn: [], scale: [] }).find((x) =>
      x.name.startsWith('UDP 20 Mbit/s loss'),
    );
  assert.equal(udp(loss({ direct: 0, 'caravan-1hop': 0.4 }))?.pass, true);
  const miss = udp(loss({ 'caravan-1hop': 3, 'caravan-2hop': 5 }));
  assert.equal(miss?.pass, false);
  assert.match(
    formatTargets(miss ? [miss] : []),
    /^MISS {2}UDP 20 Mbit\/s loss .*: 3\.00 \(target ≤ 1 %\) — caravan-2hop 5\.00 %$/,
  );
  assert.equal(udp(new Map())?.pass, undefined);
});
