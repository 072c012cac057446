// Memory under connection churn: router RSS before and after opening and closing 10,000 connections through a
// Caravan path (redis-benchmark -k 0: connect, PING, close), after a short warm-up. Also checks that every flow
// was released (listener/connector/link counters of active flows back to 0).
import type { CaravanPath } from '../caravan-path.js';
import { sleep } from '../ports.js';
import { rssBytes } from '../procfs.js';
import { runRedis } from './redis.js';

export interface ChurnSpec {
  connections: number;
  warmup: number;
  rounds: number;
  clients: number;
  settleMs: number;
}

export interface ChurnResult {
  path: string;
  connections: number;
  /** RSS per router role (bytes) after the warm-up, and after each churn round (settled). */
  before: Record<string, number>;
  after: Array<Record<string, number>>;
  /** Largest growth over any router, after the last round, in bytes. */
  maxGrowth: number;
  /** New connections per second during each churn round. */
  rps: number[];
  /** Flows still active anywhere on the path after the churn (should be 0). */
  activeAfter: number;
}

function rssByRole(p: CaravanPath): Record<string, number> {
  return Object.fromEntries(p.procs.map((x) => [x.role, rssBytes(x.pid)]));
}

async function activeFlows(p: CaravanPath): Promise<number> {
  let n = 0;
  for (const site of p.sites) {
    const s = await site.status();
    for (const l of s.listeners) n += l.stats.active ?? 0;
    for (const c of s.connectors) n += c.stats.active ?? 0;
    for (const l of s.links) n += l.activeFlows;
  }
  return n;
}

async function settle(p: CaravanPath, ms: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let active = await activeFlows(p);
  while (active > 0 && Date.now() < deadline) {
    await sleep(200);
    active = await activeFlows(p);
  }
  await sleep(ms);
  return active;
}

export async function churn(redisBenchmark: string, p: CaravanPath, spec: ChurnSpec): Promise<ChurnResult> {
  const run = (n: number): ReturnType<typeof runRedis> =>
    runRedis(redisBenchmark, p.redisPort, {
      test: 'PING_INLINE',
      clients: spec.clients,
      requests: n,
      keepalive: false,
    });
  await run(spec.warmup);
  await settle(p, spec.settleMs);
  const before = rssByRole(p);
  const after: Array<Record<string, number>> = [];
  const rps: number[] = [];
  let activeAfter = 0;
  for (let i = 0; i < spec.rounds; i++) {
    rps.push((await run(spec.connections)).rps);
    activeAfter = await settle(p, spec.settleMs);
    after.push(rssByRole(p));
  }
  const last = after[after.length - 1] ?? before;
  const maxGrowth = Math.max(...Object.keys(before).map((r) => (last[r] ?? NaN) - (before[r] ?? NaN)));
  return { path: p.name, connections: spec.connections, before, after, maxGrowth, rps, activeAfter };
}
