// Scale: a 1000-router random network converges, and SPF on it is fast. Prints timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Simulator, buildRandom, Prng } from '../support/routing/simulator.js';
import { shortestPaths, type SpfNode } from '../../src/routing/spf.js';

const N = 1000;
const DEGREE = 4;

test(`${N}-router random graph (mean degree ${DEGREE}) converges; SPF per run is fast`, (t) => {
  const log = (msg: string): void => t.diagnostic(msg);
  const t0 = performance.now();
  const sim = new Simulator({ helloIntervalMs: 1000, jsonRoundTrip: false });
  const ids = buildRandom(sim, N, DEGREE, { seed: 2024, maxCost: 10, latencyMs: 2 });
  const simMs = sim.runUntilQuiet();
  const t1 = performance.now();
  log(
    `converged in ${simMs} ms simulated, ${(t1 - t0).toFixed(0)} ms wall; ` +
      `${sim.counters.messages} messages (${sim.counters.byType.ra ?? 0} advertisements)`,
  );

  // Compare a sample of routers against the reference (a full check is O(N^3)).
  const rng = new Prng(5);
  const sample = Array.from({ length: 12 }, () => ids[rng.int(N)] as string);
  const t2 = performance.now();
  const errors = sim.check({ sources: sample });
  assert.deepEqual(errors, [], errors.join('\n'));
  log(`reference check of ${sample.length} routers: ${(performance.now() - t2).toFixed(0)} ms`);
  // Every router reaches every other one.
  for (const id of ids) assert.equal(sim.engine(id).routes().size, N - 1);

  // SPF timing, engine-level: a cost change on one router's link, recomputed (origination + SPF + route diff).
  const eng = sim.engine(ids[0] as string);
  const [link] = eng.linkInfo();
  assert.ok(link);
  const runs = 30;
  const spfBefore = eng.stats().spfRuns;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    eng.setLinkCost(link.linkId, 11 + (i % 2), sim.now);
    const s = performance.now();
    void eng.version; // recompute
    times.push(performance.now() - s);
  }
  eng.drainOutbox();
  assert.equal(eng.stats().spfRuns - spfBefore, runs);
  times.sort((a, b) => a - b);
  const median = times[runs >> 1] as number;
  const max = times[runs - 1] as number;
  log(`engine recompute on ${N} routers: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
  assert.ok(median < 500, `median recompute ${median} ms`);

  // SPF alone on the converged database.
  const nodes = new Map<string, SpfNode>();
  for (const r of eng.topology().routers) {
    nodes.set(r.id, { mode: r.mode, links: new Map(r.links.map((l) => [l.neighbor, l.cost])) });
  }
  const spfTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const res = shortestPaths(ids[i] as string, nodes);
    spfTimes.push(performance.now() - s);
    assert.equal(res.nextHop.size, N - 1);
  }
  spfTimes.sort((a, b) => a - b);
  log(
    `shortestPaths on ${N} routers / ${(N * DEGREE) / 2} links: median ${(spfTimes[runs >> 1] as number).toFixed(2)} ms, ` +
      `max ${(spfTimes[runs - 1] as number).toFixed(2)} ms`,
  );
  assert.ok((spfTimes[runs >> 1] as number) < 500);

  // A failure in the big network reconverges.
  const victim = ids[N >> 1] as string;
  sim.killRouter(victim);
  sim.runUntilQuiet();
  const errors2 = sim.check({ sources: sample.filter((s) => s !== victim) });
  assert.deepEqual(errors2, [], errors2.join('\n'));
  log(`after killing ${victim}: total wall ${(performance.now() - t0).toFixed(0)} ms`);
});
