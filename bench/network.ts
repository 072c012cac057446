// The network part of the benchmark: starts the servers and the four paths, measures idle memory, connection
// churn, then iperf3, redis-benchmark, new connections per second and iperf3 -u (UDP loss) with runs interleaved
// across paths.
import { join } from 'node:path';
import { errorMessage } from '../src/errors.js';
import { addUdp, caravanPath, type CaravanPath } from './caravan-path.js';
import type { BenchConfig } from './config.js';
import type { Tools } from './env.js';
import { interleave, type Progress, type RunSample } from './interleave.js';
import { nodeTlsPath } from './node-tls-path.js';
import { directPath, type BenchPath, type PathName } from './paths.js';
import { sleep } from './ports.js';
import { rssBytes } from './procfs.js';
import {
  cpuPerUnit,
  metricFromSamples,
  metricFromValues,
  peakRss,
  type Metric,
  type PerPath,
} from './results.js';
import { startServers, type Servers } from './servers.js';
import { stunnelPath } from './stunnel-path.js';
import { churn, type ChurnResult } from './workloads/churn.js';
import { iperfLabel, runIperf, type IperfResult, type IperfSpec } from './workloads/iperf.js';
import { runUdp, udpLabel, type UdpResult, type UdpSpec } from './workloads/udp.js';
import { redisLabel, runRedis, type RedisResult, type RedisSpec } from './workloads/redis.js';

export interface NetworkResults {
  metrics: Metric[];
  /** RSS 2 s after the warm-up traffic (V8 has not yet given back its young generation) */
  recentRss: PerPath<Record<string, number>>;
  /** RSS after IDLE_SETTLE_MS without traffic: the router's steady idle footprint */
  idleRss: PerPath<Record<string, number>>;
  loadRss: PerPath<Record<string, number>>;
  churn: ChurnResult[];
  samples: Record<string, Array<RunSample<unknown>>>;
}

const NEEDS_PATHS = ['iperf', 'udp', 'redis', 'conns', 'churn'] as const;

/**
 * How long the routers stay without traffic before "idle" RSS is read. V8's memory reducer shrinks the young
 * generation (4 MiB committed after any burst, with --max-semi-space-size=2) and the old generation's free pages
 * 8 s after the last major GC once allocation is low; measured on a 1-hop path it took RSS from 61.8 to 56.8 MB
 * between 6 and 10 s after the warm-up. Reading it sooner measures "just after traffic", which is kept as well.
 */
const IDLE_SETTLE_MS = 12_000;

async function startPaths(
  cfg: BenchConfig,
  tools: Tools,
  root: string,
  progress: Progress,
): Promise<{ paths: BenchPath[]; caravan: CaravanPath[]; servers: Servers }> {
  const servers = await startServers(tools, join(root, 'logs'));
  progress(`servers: redis-server :${servers.redisPort}, iperf3 :${servers.iperfPort}`);
  const one = await caravanPath(root, servers, 1);
  const caravan: CaravanPath[] = [one];
  if (cfg.paths.has('caravan-2hop')) caravan.push(await caravanPath(root, servers, 2));
  const paths: BenchPath[] = [directPath(servers), ...caravan];
  if (cfg.paths.has('stunnel')) paths.push(await stunnelPath(root, servers, tools));
  if (cfg.paths.has('node-tls')) paths.push(await nodeTlsPath(root, servers));
  if (cfg.paths.has('node-tls-worker')) paths.push(await nodeTlsPath(root, servers, [], 'node-tls-worker'));
  for (const p of paths) {
    // fails early (and warms up) if a path does not carry traffic
    await runRedis(tools.redisBenchmark, p.redisPort, { test: 'SET', clients: 1, requests: 200 });
    progress(`path ${p.name}: ${p.procs.map((x) => `${x.role} pid ${x.pid}`).join(', ') || 'no processes'}`);
  }
  return { paths, caravan, servers };
}

function idleRss(paths: readonly BenchPath[]): PerPath<Record<string, number>> {
  const out: PerPath<Record<string, number>> = {};
  for (const p of paths) {
    if (p.procs.length > 0) out[p.name] = Object.fromEntries(p.procs.map((x) => [x.role, rssBytes(x.pid)]));
  }
  return out;
}

/** What every measured section works with, and where it puts its results. */
interface Section {
  cfg: BenchConfig;
  tools: Tools;
  paths: BenchPath[];
  progress: Progress;
  metrics: Metric[];
  samples: Record<string, Array<RunSample<unknown>>>;
}

/** Runs `run` on every path, interleaved for `rounds` rounds, and keeps the samples under `id`. */
async function measure<R>(
  sec: Section,
  id: string,
  label: string,
  rounds: number,
  run: (p: BenchPath) => Promise<R>,
): Promise<Array<RunSample<R>>> {
  const s = await interleave(label, sec.paths, rounds, run, sec.progress);
  sec.samples[id] = s;
  return s;
}

async function runIperfSection(sec: Section): Promise<void> {
  const { cfg, tools, metrics } = sec;
  const all: Array<RunSample<IperfResult>> = [];
  for (const streams of [1, 4]) {
    for (const direction of ['up', 'down'] as const) {
      const spec: IperfSpec = { streams, direction, seconds: cfg.iperfSeconds };
      const label = iperfLabel(spec);
      const id = `iperf.p${streams}.${direction}`;
      const s = await measure(sec, id, label, cfg.iperfRounds, (p) =>
        runIperf(tools.iperf3, p.iperfPort, spec),
      );
      metrics.push(metricFromSamples({ id, label, unit: 'MB/s', better: 'higher' }, s, (r) => r.mbps));
      all.push(...s);
    }
  }
  const gb = (r: IperfResult): number => r.bytes / 1e9;
  metrics.push(
    metricFromValues(
      { id: 'cpu.iperf.sPerGB', label: 'CPU per GB, all path processes', unit: 's/GB', better: 'lower' },
      cpuPerUnit(all, gb, false),
    ),
    metricFromValues(
      { id: 'cpu.iperf.sPerGB.busiest', label: 'CPU per GB, busiest process', unit: 's/GB', better: 'lower' },
      cpuPerUnit(all, gb, true),
    ),
  );
}

/**
 * iperf3 -u at fixed rates: the loss the server counted, on the paths that carry UDP (direct and the caravan
 * paths; stunnel and node-tls tunnel TCP only and are left out of these rows). Runs after the other sections:
 * the caravan paths get their udp listener and connector here.
 */
async function runUdpSection(sec: Section, caravan: readonly CaravanPath[], servers: Servers): Promise<void> {
  const { cfg, tools, metrics } = sec;
  for (const p of caravan) {
    await addUdp(p, servers.iperfPort).catch((e: unknown) => {
      sec.progress(`udp: ${p.name} left out of the UDP rows: ${errorMessage(e)}`);
    });
  }
  const udpPaths = sec.paths.filter((p) => p.udpPort !== undefined);
  for (const mbit of cfg.udp.rates) {
    const spec: UdpSpec = { mbit, length: cfg.udp.length, seconds: cfg.udp.seconds };
    const label = udpLabel(spec);
    const id = `udp.${mbit}M.loss`;
    const s = await measure({ ...sec, paths: udpPaths }, id, label, cfg.iperfRounds, (p) =>
      runUdp(tools.iperf3, p.udpPort ?? 0, spec),
    );
    metrics.push(
      metricFromSamples({ id, label, unit: '%', better: 'lower' }, s, (r: UdpResult) => r.lossPercent),
    );
  }
}

async function runRedisSection(sec: Section): Promise<void> {
  const { cfg, tools, metrics } = sec;
  for (const test of ['PING_INLINE', 'GET'] as const) {
    for (const clients of [1, 50]) {
      const spec: RedisSpec = {
        test,
        clients,
        requests: clients === 1 ? cfg.redisRequests.c1 : cfg.redisRequests.c50,
      };
      const label = redisLabel(spec);
      const id = `redis.${test.toLowerCase()}.c${clients}`;
      const s = await measure(sec, id, label, cfg.redisRounds, (p) =>
        runRedis(tools.redisBenchmark, p.redisPort, spec),
      );
      metrics.push(
        metricFromSamples(
          { id: `${id}.rps`, label, unit: 'req/s', better: 'higher' },
          s,
          (r: RedisResult) => r.rps,
        ),
        metricFromSamples(
          { id: `${id}.p50`, label: `${label} p50`, unit: 'ms', better: 'lower' },
          s,
          (r) => r.p50Ms,
        ),
        metricFromSamples(
          { id: `${id}.p99`, label: `${label} p99`, unit: 'ms', better: 'lower' },
          s,
          (r) => r.p99Ms,
        ),
      );
      if (test === 'GET' && clients === 50) {
        metrics.push(
          metricFromValues(
            {
              id: 'cpu.get50.usPerReq',
              label: 'CPU per GET -c 50, all path processes',
              unit: 'µs',
              better: 'lower',
            },
            cpuPerUnit(s, (r) => (r.rps > 0 ? spec.requests / 1e6 : 0), false),
          ),
        );
      }
    }
  }
}

async function runConnsSection(sec: Section): Promise<void> {
  const { cfg, tools, metrics } = sec;
  const spec: RedisSpec = {
    test: 'PING_INLINE',
    clients: cfg.conns.clients,
    requests: cfg.conns.requests,
    keepalive: false,
  };
  const label = `new connections/s (redis -k 0 -c ${spec.clients})`;
  const s = await measure(sec, 'conns', label, cfg.redisRounds, (p) =>
    runRedis(tools.redisBenchmark, p.redisPort, spec),
  );
  metrics.push(
    metricFromSamples({ id: 'conns.rps', label, unit: 'conn/s', better: 'higher' }, s, (r) => r.rps),
    metricFromValues(
      {
        id: 'cpu.conns.usPerConn',
        label: 'CPU per new connection, all path processes',
        unit: 'µs',
        better: 'lower',
      },
      cpuPerUnit(s, () => spec.requests / 1e6, false),
    ),
  );
}

export async function measureNetwork(
  cfg: BenchConfig,
  tools: Tools,
  root: string,
  progress: Progress,
): Promise<NetworkResults | undefined> {
  if (!NEEDS_PATHS.some((s) => cfg.sections.has(s))) return undefined;
  const { paths, caravan, servers } = await startPaths(cfg, tools, root, progress);
  await sleep(2000);
  const recent = idleRss(paths);
  progress(`idle memory: waiting ${IDLE_SETTLE_MS / 1000} s without traffic…`);
  await sleep(IDLE_SETTLE_MS - 2000);
  const idle = idleRss(paths);
  const metrics: Metric[] = [];
  const samples: Record<string, Array<RunSample<unknown>>> = {};
  const churned: ChurnResult[] = [];
  if (cfg.sections.has('churn')) {
    for (const p of caravan) {
      progress(`churn: ${cfg.churn.rounds} × ${cfg.churn.connections} connections through ${p.name}…`);
      churned.push(await churn(tools.redisBenchmark, p, cfg.churn));
    }
  }
  const sec: Section = { cfg, tools, paths, progress, metrics, samples };
  if (cfg.sections.has('iperf')) await runIperfSection(sec);
  if (cfg.sections.has('redis')) {
    // GET reads the key redis-benchmark's SET writes
    await runRedis(tools.redisBenchmark, paths[0]?.redisPort ?? 0, {
      test: 'SET',
      clients: 1,
      requests: 100,
    });
    await runRedis(tools.redisBenchmark, paths[0]?.redisPort ?? 0, {
      test: 'SET',
      clients: 1,
      requests: 100,
    });
    await runRedisSection(sec);
  }
  if (cfg.sections.has('conns')) await runConnsSection(sec);
  if (cfg.sections.has('udp')) await runUdpSection(sec, caravan, servers);
  const load = peakRss(Object.values(samples).flat());
  metrics.push(
    metricFromSamples(
      { id: 'machine.busyCores', label: 'machine cores busy during runs', unit: 'cores', better: 'lower' },
      Object.values(samples)
        .flat()
        .map((s) => ({ ...s, result: s.result === undefined ? undefined : s.machineBusyCores })),
      (v) => v,
    ),
    metricFromValues(
      { id: 'mem.idle', label: 'RSS idle, largest process', unit: 'MB', better: 'lower' },
      largest(idle),
    ),
    metricFromValues(
      { id: 'mem.load', label: 'RSS peak under load, largest process', unit: 'MB', better: 'lower' },
      largest(load),
    ),
  );
  for (const p of paths) await p.stop();
  return { metrics, recentRss: recent, idleRss: idle, loadRss: load, churn: churned, samples };
}

function largest(byPath: PerPath<Record<string, number>>): PerPath<number> {
  const out: PerPath<number> = {};
  for (const [p, roles] of Object.entries(byPath)) {
    const v = Object.values(roles).filter((x) => Number.isFinite(x));
    if (v.length > 0) out[p as PathName] = Math.max(...v) / (1024 * 1024);
  }
  return out;
}
