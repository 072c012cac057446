// Routing scale, in process: N interior routing engines on a random connected graph of mean degree 4 (the
// simulator in test/support/routing/simulator.ts, 1 ms per hop, HELLO every second). Measures the first convergence
// (messages not serialised, for speed), then one link going down and coming back with messages JSON-serialised
// as on a real link: messages flooded, simulated time until the last advertisement and wall time to process it;
// and SPF time per router on the converged database.
import { performance } from 'node:perf_hooks';
import { buildRandom, Simulator } from '../test/support/routing/simulator.js';
import { shortestPaths, type SpfNode } from '../src/routing/spf.js';
import type { RouterId } from '../src/routing/types.js';
import { median, percentile } from './stats.js';

export interface ChangeResult {
  change: string;
  /** Advertisements and other non-HELLO messages sent because of the change. */
  messages: number;
  byType: Record<string, number>;
  /** Simulated time from the change to the last advertisement sent. */
  simMs: number;
  /** Wall time to process the simulated interval until every router recomputed its routes. */
  wallMs: number;
  spfRuns: number;
  converged: boolean;
}

export interface ScaleResult {
  routers: number;
  links: number;
  meanDegree: number;
  initial: { simMs: number; wallMs: number; messages: number };
  changes: ChangeResult[];
  spf: { samples: number; medianMs: number; p99Ms: number; maxMs: number };
}

const HELLO_MS = 1000;

function spfRunsTotal(sim: Simulator): number {
  let n = 0;
  for (const id of sim.routerIds()) n += sim.engine(id).stats().spfRuns;
  return n;
}

function nonHello(byType: Record<string, number>): number {
  return Object.entries(byType).reduce((a, [t, n]) => (t === 'hello' ? a : a + n), 0);
}

/** A few routers' routes compared with the reference (checking all 1000 would take longer than the run). */
function converged(sim: Simulator, ids: RouterId[]): boolean {
  const step = Math.max(1, Math.floor(ids.length / 20));
  const sources = ids.filter((_, i) => i % step === 0);
  return sim.check({ sources, addresses: false, maxErrors: 1 }).length === 0;
}

/**
 * Runs until quiet, timing each step, and returns the wall time spent until `helloMs` past the last activity:
 * the engine defers SPF by at most one HELLO interval after its database changed, so by then every router has
 * recomputed.
 */
function measureChange(sim: Simulator, change: string, apply: () => void, ids: RouterId[]): ChangeResult {
  sim.resetCounters();
  const spfBefore = spfRunsTotal(sim);
  const start = sim.now;
  const quiet = sim.cfg.deadIntervalMs + 2 * HELLO_MS;
  const simAt: number[] = [];
  const wallAt: number[] = [];
  const t0 = performance.now();
  apply();
  simAt.push(sim.now);
  wallAt.push(performance.now() - t0);
  while (sim.step()) {
    simAt.push(sim.now);
    wallAt.push(performance.now() - t0);
    if (sim.now > sim.lastActivityAt + quiet) break;
  }
  const lastActivity = sim.lastActivityAt;
  const doneAt = lastActivity + HELLO_MS;
  let wallMs = wallAt[0] as number;
  for (let i = 0; i < simAt.length && (simAt[i] as number) <= doneAt; i++) wallMs = wallAt[i] as number;
  return {
    change,
    messages: nonHello(sim.counters.byType),
    byType: Object.fromEntries(Object.entries(sim.counters.byType).filter(([t]) => t !== 'hello')),
    simMs: lastActivity - start,
    wallMs,
    spfRuns: spfRunsTotal(sim) - spfBefore,
    converged: converged(sim, ids),
  };
}

/** Time of shortestPaths() per source over one router's converged database. */
function spfTimes(sim: Simulator, ids: RouterId[], samples: number): number[] {
  const topo = sim.engine(ids[0] as RouterId).topology();
  const nodes = new Map<RouterId, SpfNode>();
  for (const r of topo.routers) {
    nodes.set(r.id, { mode: r.mode, links: new Map(r.links.map((l) => [l.neighbor, l.cost])) });
  }
  for (let i = 0; i < 20; i++) shortestPaths(ids[i % ids.length] as RouterId, nodes); // warm up the JIT
  const step = Math.max(1, Math.floor(ids.length / samples));
  const times: number[] = [];
  for (let i = 0; i < ids.length && times.length < samples; i += step) {
    const runs: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      shortestPaths(ids[i] as RouterId, nodes);
      runs.push(performance.now() - t);
    }
    times.push(median(runs));
  }
  return times;
}

function pickLink(sim: Simulator, seed: number): { a: RouterId; b: RouterId } {
  const adj = sim.groundTruth();
  const ids = [...adj.keys()];
  // a link between two well-connected routers, so that taking it down does not partition the network
  for (let i = 0; i < ids.length; i++) {
    const a = ids[(seed + i * 7919) % ids.length] as RouterId;
    const na = adj.get(a) as Map<RouterId, number>;
    if (na.size < 3) continue;
    for (const b of [...na.keys()].sort()) {
      if ((adj.get(b)?.size ?? 0) >= 3) return { a, b };
    }
  }
  throw new Error('routing scale: no suitable link');
}

export function routingScale(n: number, opts: { seed?: number; spfSamples?: number } = {}): ScaleResult {
  const seed = opts.seed ?? 42;
  const sim = new Simulator({ helloIntervalMs: HELLO_MS, latencyMs: 1 });
  const t0 = performance.now();
  // the first convergence floods N^2 advertisements: skip JSON there (it only costs time), keep it for changes
  sim.cfg.jsonRoundTrip = false;
  const ids = buildRandom(sim, n, 4, { seed });
  const simInitial = sim.runUntilQuiet();
  sim.cfg.jsonRoundTrip = true;
  const initial = {
    simMs: simInitial,
    wallMs: performance.now() - t0,
    messages: nonHello(sim.counters.byType),
  };
  const links = [...sim.groundTruth().values()].reduce((a, m) => a + m.size, 0) / 2;

  const { a, b } = pickLink(sim, seed);
  const link = sim.linksBetween(a, b)[0];
  if (!link) throw new Error(`routing scale: no link ${a}-${b}`);
  const changes = [
    measureChange(sim, `link ${a}-${b} down`, () => sim.removeLink(link.id), ids),
    measureChange(sim, `link ${a}-${b} up`, () => void sim.addLink(a, b), ids),
  ];
  const times = spfTimes(sim, ids, opts.spfSamples ?? 50);
  return {
    routers: n,
    links,
    meanDegree: (2 * links) / n,
    initial,
    changes,
    spf: {
      samples: times.length,
      medianMs: median(times),
      p99Ms: percentile(times, 99),
      maxMs: Math.max(...times),
    },
  };
}
