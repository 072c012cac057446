// `npm run bench -- --compare <ref>`: the same workloads through a Caravan path of another commit's build (A) and
// of this build (B), both running at the same time against the same servers, interleaved run by run (A B, B A, …),
// so that a change's effect is measured in one run on a machine whose load changes from minute to minute.
import { join } from 'node:path';
import { caravanPath, type CaravanPath } from './caravan-path.js';
import { buildOther } from './compare-build.js';
import {
  compareRow,
  formatCompare,
  schedule,
  type CompareRow,
  type CompareSeries,
  type Side,
} from './compare-report.js';
import type { BenchConfig, CompareConfig } from './config.js';
import type { Tools } from './env.js';
import { measureRun, sampleLine, type Progress, type RunSample } from './interleave.js';
import type { BenchPath } from './paths.js';
import { sleep } from './ports.js';
import { rssBytes } from './procfs.js';
import { startServers } from './servers.js';
import { runIperf, type IperfSpec } from './workloads/iperf.js';
import { runRedis, type RedisSpec } from './workloads/redis.js';

const MB = 1024 * 1024;
/** As in the full bench (bench/network.ts): V8 gives back its young generation ~8–10 s after traffic stops. */
const IDLE_SETTLE_MS = 12_000;
/** idle RSS is read this many times, 1 s apart, so that its row has a spread too */
const IDLE_SAMPLES = 5;

/** One workload of the comparison and the rows it yields from one run. */
interface Workload {
  section: 'iperf' | 'redis' | 'conns';
  label: string;
  run: (tools: Tools, p: BenchPath) => Promise<Record<string, number>>;
  rows: Array<Omit<CompareSeries, 'a' | 'b'>>;
}

function cpuOfRun(s: RunSample<unknown>): number {
  return Object.values(s.cpu).reduce((a, b) => a + b, 0);
}

function workloads(cfg: BenchConfig): Workload[] {
  const q = cfg.quick;
  const conns: RedisSpec = { test: 'PING_INLINE', clients: 8, requests: q ? 2_000 : 4_000, keepalive: false };
  const ping: RedisSpec = { test: 'PING_INLINE', clients: 1, requests: q ? 4_000 : 10_000 };
  const get50: RedisSpec = { test: 'GET', clients: 50, requests: q ? 20_000 : 60_000 };
  const iperf1: IperfSpec = { streams: 1, direction: 'up', seconds: q ? 2 : 3 };
  const iperf4: IperfSpec = { streams: 4, direction: 'up', seconds: q ? 2 : 3 };
  const redis = (spec: RedisSpec) => async (tools: Tools, p: BenchPath) => {
    const r = await runRedis(tools.redisBenchmark, p.redisPort, spec);
    return { rps: r.rps, p50: r.p50Ms, units: spec.requests };
  };
  const iperf = (spec: IperfSpec) => async (tools: Tools, p: BenchPath) => {
    const r = await runIperf(tools.iperf3, p.iperfPort, spec);
    return { mbps: r.mbps, units: r.bytes / 1e9 };
  };
  const all: Workload[] = [
    {
      section: 'conns',
      label: `new connections (redis -k 0 -c ${conns.clients})`,
      run: redis(conns),
      rows: [
        { id: 'conns.rps', label: 'new connections/s', unit: 'conn/s', better: 'higher' },
        { id: 'conns.cpu', label: 'router CPU per new connection, all routers', unit: 'µs', better: 'lower' },
      ],
    },
    {
      section: 'redis',
      label: 'redis PING_INLINE -c 1',
      run: redis(ping),
      rows: [
        { id: 'ping.rps', label: 'redis PING_INLINE -c 1', unit: 'req/s', better: 'higher' },
        { id: 'ping.p50', label: 'redis PING_INLINE -c 1 p50', unit: 'ms', better: 'lower' },
        { id: 'ping.cpu', label: 'router CPU per PING -c 1, all routers', unit: 'µs', better: 'lower' },
      ],
    },
    {
      section: 'redis',
      label: 'redis GET -c 50',
      run: redis(get50),
      rows: [
        { id: 'get50.rps', label: 'redis GET -c 50', unit: 'req/s', better: 'higher' },
        { id: 'get50.cpu', label: 'router CPU per GET -c 50, all routers', unit: 'µs', better: 'lower' },
      ],
    },
    {
      section: 'iperf',
      label: 'iperf3 1 stream client→server',
      run: iperf(iperf1),
      rows: [
        { id: 'iperf1.mbps', label: 'iperf3 1 stream client→server', unit: 'MB/s', better: 'higher' },
        { id: 'iperf1.cpu', label: 'router CPU per GB, 1 stream', unit: 's/GB', better: 'lower' },
      ],
    },
    {
      section: 'iperf',
      label: 'iperf3 4 streams client→server',
      run: iperf(iperf4),
      rows: [
        { id: 'iperf4.mbps', label: 'iperf3 4 streams client→server', unit: 'MB/s', better: 'higher' },
        { id: 'iperf4.cpu', label: 'router CPU per GB, 4 streams', unit: 's/GB', better: 'lower' },
      ],
    },
  ];
  return all.filter((w) => cfg.sections.has(w.section));
}

/** The value of one row from one run: the workload's own figures, or CPU per unit of work (µs or s/GB). */
function rowValue(id: string, s: RunSample<Record<string, number>>): number {
  const r = s.result;
  if (r === undefined) return NaN;
  const [, what] = id.split('.');
  const units = r.units ?? NaN;
  if (what === 'cpu') {
    const cpu = cpuOfRun(s);
    return id.startsWith('iperf') ? cpu / units : (cpu / units) * 1e6;
  }
  if (what === 'rps') return r.rps ?? NaN;
  if (what === 'p50') return r.p50 ?? NaN;
  if (what === 'mbps') return r.mbps ?? NaN;
  return NaN;
}

function largestRss(p: BenchPath): number {
  return Math.max(...p.procs.map((x) => rssBytes(x.pid))) / MB;
}

export interface CompareResult {
  rows: CompareRow[];
  text: string;
  other: { ref: string; commit: string; title: string; how: string };
}

export async function runCompare(
  cfg: BenchConfig,
  cmp: CompareConfig,
  tools: Tools,
  root: string,
  progress: Progress,
): Promise<CompareResult> {
  const other = await buildOther(cmp.ref, cmp.rebuild, progress);
  const servers = await startServers(tools, join(root, 'logs'));
  const paths: Record<Side, CaravanPath> = {
    A: await caravanPath(root, servers, cmp.hops, {
      routerMain: other.routerMain,
      routerFlags: other.routerFlags,
      prefix: `a${cmp.hops}`,
    }),
    B: await caravanPath(root, servers, cmp.hops, { prefix: `b${cmp.hops}` }),
  };
  try {
    for (const side of ['A', 'B'] as const) {
      await runRedis(tools.redisBenchmark, paths[side].redisPort, { test: 'SET', clients: 1, requests: 200 });
    }
    progress(`compare: idle memory: waiting ${IDLE_SETTLE_MS / 1000} s without traffic…`);
    await sleep(IDLE_SETTLE_MS);
    const idle: CompareSeries = {
      id: 'rss.idle',
      label: `router RSS idle (after ${IDLE_SETTLE_MS / 1000} s quiet), largest router`,
      unit: 'MB',
      better: 'lower',
      a: [],
      b: [],
    };
    for (let i = 0; i < IDLE_SAMPLES; i++) {
      if (i > 0) await sleep(1000);
      idle.a.push(largestRss(paths.A));
      idle.b.push(largestRss(paths.B));
    }
    const series: CompareSeries[] = [idle];
    const peak: CompareSeries = {
      id: 'rss.peak',
      label: 'router RSS peak during the runs, largest router',
      unit: 'MB',
      better: 'lower',
      a: [],
      b: [],
    };
    const slots = schedule(cmp.rounds);
    for (const w of workloads(cfg)) {
      const rows: CompareSeries[] = w.rows.map((r) => ({ ...r, a: [], b: [] }));
      for (const slot of slots) {
        const s = await measureRun(paths[slot.side], slot.round, (p) => w.run(tools, p));
        progress(sampleLine(w.label, slot.round, cmp.rounds, slot.side, s));
        for (const row of rows) (slot.side === 'A' ? row.a : row.b).push(rowValue(row.id, s));
        const rss = Math.max(...Object.values(s.peakRss)) / MB;
        (slot.side === 'A' ? peak.a : peak.b).push(rss);
      }
      series.push(...rows);
    }
    series.push(peak);
    const rows = series.map(compareRow);
    const nameA = `${other.title} (${cmp.ref})`;
    const nameB = 'this working tree';
    return {
      rows,
      text: formatCompare(rows, nameA, nameB),
      other: { ref: other.ref, commit: other.commit, title: other.title, how: other.how },
    };
  } finally {
    await Promise.all([paths.A.stop(), paths.B.stop()]);
  }
}
