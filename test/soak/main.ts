/**
 * `npm run soak -- [--minutes N] [--seed S] [--json] [--faults k1,k2] [--concurrency C] [--bound-s B]
 * [--detect-bound-s D] [--keep]`: the chaos soak. Builds the network of topology.ts, runs checked TCP, HTTP/1.1,
 * gRPC, UDP and AMQP traffic through it (client.ts), redeems tokens at random times (redeem.ts), and injects one
 * fault after another (faults.ts) until the time is up, noting when the routers detected each (detect.ts); then
 * prints what happened and exits 1 when an invariant broke (report.ts). Needs root (network namespaces,
 * nftables, tc). Everything it starts is removed on exit, on failure and on SIGINT/SIGTERM.
 */
import { rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerCleanup, testOutputDir } from '../support/proc.js';
import { waitFor } from '../support/wait.js';
import type { TrafficKind } from './client.js';
import { CONNECTION_KINDS, LinkWatch, detection, reachable, scopeOf } from './detect.js';
import { FAULT_KINDS, inject, type Fault, type FaultKind } from './faults.js';
import { RouterMonitor } from './monitor.js';
import { Rng } from './prng.js';
import { Redeemer } from './redeem.js';
import { emptyStats, type AgentEvent, type KeyStats } from './protocol.js';
import {
  formatResult,
  type AmqpFigures,
  maxRss,
  medianRss,
  violations,
  type Anomaly,
  type FaultRecord,
  type RouterFigures,
  type SoakResult,
} from './report.js';
import { PROBED, SERVICES, SITES, SoakNetwork, type SiteName } from './topology.js';

const USAGE = `Usage: npm run soak -- [options]   (as root: network namespaces, nftables, tc)

Runs a network of real routers under random faults with checked traffic, prints what happened and exits 1
when an invariant broke (docs/design/security.md, "Soak").

Options:
  --minutes N          how long (default 10)
  --seed S             the seed of faults and traffic (default: random; printed to replay a run)
  --faults K1,K2       only these fault kinds (${FAULT_KINDS.join(', ')})
  --concurrency C      loops per listener site and routing key (default 2)
  --bound-s B          a new stream succeeds within B s after each heal (default 30)
  --detect-bound-s D   no new connection with a path fails later than D s after detection (default 1)
  --rss-growth-mb M    RSS at the end within M MB of its warm-up level (default 20; runs of >= 8 min)
  --stall-s S          a flow without progress or error for S s is stalled (default 45)
  --json               print the result as JSON
  --keep               keep the run's directory (logs, site directories)
  -h, --help           this help
`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '2' },
      'bound-s': { type: 'string', default: '30' },
      'detect-bound-s': { type: 'string', default: '1' },
      'rss-growth-mb': { type: 'string', default: '20' },
      'stall-s': { type: 'string', default: '45' },
      keep: { type: 'boolean', default: false },
      faults: { type: 'string' },
    },
  });
} catch (e) {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
  process.exit(2);
}
const opts = parsed.values;
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const minutes = Number(opts.minutes);
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31);
const boundMs = Number(opts['bound-s']) * 1000;
const detectBoundMs = Number(opts['detect-bound-s']) * 1000;
const kindOf = new Map<string, TrafficKind>(SERVICES.map((x) => [x.key, x.kind]));
const stallMs = Number(opts['stall-s']) * 1000;
const concurrency = Number(opts.concurrency);
if (
  ![minutes, seed, boundMs, detectBoundMs, stallMs, concurrency].every((n) => Number.isFinite(n) && n > 0)
) {
  process.stderr.write(
    'error: --minutes, --seed, --bound-s, --detect-bound-s, --stall-s and --concurrency take positive numbers\n',
  );
  process.exit(2);
}
const log = (s: string): void => {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
/** the RSS growth check applies to runs whose traffic lasted at least this long */
const RSS_MIN_TRAFFIC_MS = 8 * 60_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const kinds = opts.faults === undefined ? [...FAULT_KINDS] : opts.faults.split(',');
const unknownKind = kinds.find((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (unknownKind !== undefined) {
  process.stderr.write(`error: unknown fault '${unknownKind}' (known: ${FAULT_KINDS.join(', ')})\n`);
  process.exit(2);
}
const rng = new Rng(seed);
const started = Date.now();
const date = new Date(started).toISOString();
const root = join(testOutputDir('soak'), `run-${seed}-${started}`);
const unregister = registerCleanup({
  sync: () => (opts.keep ? undefined : rmSync(root, { recursive: true, force: true })),
});

const traffic: Record<string, KeyStats & { excused: number }> = {};
const anomalies: Anomaly[] = [];
const failures: Array<{ site: string; key: string; start: number; end: number; code: string }> = [];
const kills: Array<{ site: SiteName; at: number }> = [];
const faults: FaultRecord[] = [];
/** AMQP: ids each sender saw accepted, ids it sent more than once, and every arrival at the receiver */
const amqpSettled = new Set<string>();
const amqpResent = new Set<string>();
const amqpArrivals = new Map<string, number>();
const probes = new Map<number, (e: Extract<AgentEvent, { ev: 'probe' }>) => void>();
const stoppedClients = new Set<string>();
let probeId = 0;

function onEvent(e: AgentEvent): void {
  switch (e.ev) {
    case 'stats':
      for (const [key, s] of Object.entries(e.keys)) {
        const t = (traffic[`${e.site}/${key}`] ??= { ...emptyStats(), excused: 0 });
        for (const f of Object.keys(s) as Array<keyof KeyStats>) t[f] += s[f];
      }
      break;
    case 'anomaly':
      anomalies.push({
        site: e.site,
        side: e.side,
        kind: e.kind,
        key: e.key,
        start: e.start,
        end: e.end,
        detail: e.detail,
      });
      log(`anomaly: ${e.kind} ${e.side} at ${e.site} ${e.key}: ${e.detail}`);
      break;
    case 'fail':
      failures.push({ site: e.site, key: e.key, start: e.start, end: e.end, code: e.code });
      break;
    case 'probe':
      probes.get(e.id)?.(e);
      probes.delete(e.id);
      break;
    case 'stopped':
      stoppedClients.add(e.site);
      break;
    case 'amqp-settled':
      for (const id of e.ids) amqpSettled.add(id);
      for (const id of e.resent) amqpResent.add(id);
      break;
    case 'amqp-got':
      for (const id of e.ids) amqpArrivals.set(id, (amqpArrivals.get(id) ?? 0) + 1);
      break;
    default:
      break;
  }
}

function follow(proc: { child: { stdout: NodeJS.ReadableStream | null } }): void {
  let buf = '';
  proc.child.stdout?.on('data', (d: string | Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      try {
        onEvent(JSON.parse(line) as AgentEvent);
      } catch {
        // not ours
      }
    }
  });
}

function probe(net: SoakNetwork, site: SiteName, key: string): Promise<boolean> {
  const client = net.clients.get(site);
  if (!client?.running || !client.child.stdin) return Promise.resolve(false);
  const id = ++probeId;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      probes.delete(id);
      resolve(false);
    }, 10_000);
    probes.set(id, (e) => {
      clearTimeout(timer);
      resolve(e.ok);
    });
    client.child.stdin?.write(`${JSON.stringify({ cmd: 'probe', id, key, timeoutMs: 5000 })}\n`);
  });
}

/**
 * ms from `since` until a new stream succeeded for every (listener site, key), each pair probed on its own every
 * 250 ms; undefined past the bound. `slowest` names the pair that took longest.
 */
async function reconverge(
  net: SoakNetwork,
  since: number,
): Promise<{ ms?: number; slowest?: string; stuck: string[] }> {
  const pairs = PROBED.flatMap((s) => s.from.map((f) => [f, s.key] as const));
  const times = await Promise.all(
    pairs.map(async ([site, key]) => {
      while (Date.now() - since < boundMs) {
        if (await probe(net, site, key)) return Date.now() - since;
        await sleep(250);
      }
      return undefined;
    }),
  );
  const stuck = pairs.filter((_, i) => times[i] === undefined).map(([s, k]) => `${s}/${k}`);
  if (stuck.length > 0) return { stuck };
  const ms = Math.max(...(times as number[]));
  const [site, key] = pairs[times.indexOf(ms)] as readonly [string, string];
  return { ms, slowest: `${site}/${key}`, stuck };
}

function amqpFigures(): AmqpFigures {
  let duplicates = 0;
  const duplicatesBySite: Record<string, number> = {};
  const unpermitted: string[] = [];
  for (const [id, n] of amqpArrivals) {
    if (n < 2) continue;
    duplicates += n - 1;
    const site = id.slice(0, id.lastIndexOf(':'));
    duplicatesBySite[site] = (duplicatesBySite[site] ?? 0) + n - 1;
    if (!amqpResent.has(id)) unpermitted.push(id);
  }
  const lost = [...amqpSettled].filter((id) => !amqpArrivals.has(id));
  return {
    settled: amqpSettled.size,
    arrived: amqpArrivals.size,
    resent: amqpResent.size,
    duplicates,
    duplicatesBySite,
    lost,
    unpermitted,
  };
}

async function main(): Promise<number> {
  await mkdir(root, { recursive: true });
  log(`seed ${seed}, ${minutes} min; building the network in ${root}`);
  const net = await SoakNetwork.build(root);
  registerCleanup({ async: () => net.destroy(), sync: () => net.lab.destroySync() });
  try {
    // the targets report what they find wrong (and the AMQP receiver what arrived)
    for (const s of net.servers) follow(s.proc);
    net.onServer = follow;
    await net.converged(60_000);
    const links = new LinkWatch(net);
    links.skip();
    const monitor = new RouterMonitor(net);
    await monitor.baseline();
    const baselineFds = new Map<SiteName, number>();
    for (const site of SITES) baselineFds.set(site, (await monitor.now(site))?.fds ?? 0);
    log(`converged; fds before traffic: ${[...baselineFds].map(([s, n]) => `${s}=${n}`).join(' ')}`);
    monitor.start();

    for (const site of SITES) {
      const targets = net.targetsOf(site, concurrency);
      if (targets.length === 0) continue;
      const proc = net.startClient(site, { site, seed: rng.u32(), targets, stallMs, maxBytes: 1024 * 1024 });
      follow(proc);
      await proc.waitForOutput(/"ev":"ready"/, { timeoutMs: 15_000 });
    }
    const trafficStart = Date.now();
    const endAt = started + minutes * 60_000;
    // token redemptions at random times, across whatever fault holds then
    const redeemer = new Redeemer(net, log);
    const redeemRng = new Rng(rng.u32());
    const redeeming = (async () => {
      while (Date.now() < endAt - 30_000) {
        await sleep(redeemRng.range(3000, 15_000));
        if (Date.now() >= endAt - 30_000) break;
        await redeemer.once(redeemRng);
      }
    })();
    // a quiet start: traffic alone, before the first fault
    await sleep(Math.min(20_000, (endAt - trafficStart) / 10));

    // between faults: a few seconds, longer on a long run so faults stay a fraction of the time
    const pause = minutes > 10 ? 5000 : 0;
    while (Date.now() < endAt - 15_000) {
      const kind = rng.pick(kinds as FaultKind[]);
      const at = Date.now();
      let fault: Fault;
      try {
        fault = await inject(net, rng, kind);
      } catch (err) {
        log(`could not inject ${kind}: ${(err as Error).message}`);
        await sleep(1000);
        continue;
      }
      if (fault.killed) {
        kills.push({ site: fault.killed, at });
        monitor.killed(fault.killed);
      }
      log(`fault ${fault.kind} ${fault.target}: ${fault.detail} (hold ${fault.holdMs} ms)`);
      await sleep(fault.holdMs);
      const healAt = Date.now();
      await fault.heal();
      const healedAt = Date.now();
      if (fault.kind === 'restart') await monitor.rebase(fault.target as SiteName);
      // a killed or restarted router has healed once it answers again: reconvergence counts from then
      const r = await reconverge(net, healedAt);
      links.poll();
      const scope = scopeOf(fault.kind, fault.target);
      const seen = scope ? detection(links.events, scope, at - 50, healedAt) : undefined;
      faults.push({
        kind: fault.kind,
        target: fault.target,
        detail: fault.detail,
        at,
        holdMs: fault.holdMs,
        healedAt,
        ...(seen !== undefined
          ? {
              detectedMs: Math.max(0, seen.t - at),
              detectedBy: `${seen.site}: link ${seen.what} (${seen.neighbor ?? '?'})`,
            }
          : {}),
        healMs: healedAt - healAt + (fault.kind === 'kill9' ? healAt - at : 0),
        ...(r.slowest !== undefined ? { slowest: r.slowest } : {}),
        ...(r.ms !== undefined ? { reconvergeMs: r.ms } : { stuck: r.stuck }),
      });
      log(
        r.ms !== undefined
          ? `  reconverged in ${r.ms} ms (last: ${r.slowest ?? '?'})`
          : `  NOT reconverged within ${boundMs} ms: ${r.stuck.join(', ')}`,
      );
      if (r.ms === undefined) await net.converged(60_000).catch(() => undefined);
      await sleep(rng.range(2000, 5000) + pause);
    }

    await redeeming;
    // stop traffic, then every router must give back what it held
    const stopAt = Date.now();
    for (const c of net.clients.values()) c.child.stdin?.write(`${JSON.stringify({ cmd: 'stop' })}\n`);
    await waitFor(() => [...net.clients.keys()].every((s) => stoppedClients.has(s)), {
      what: 'the clients to finish their streams',
      timeoutMs: stallMs + 15_000,
      intervalMs: 200,
    }).catch((e: Error) => log(e.message));
    // every id a sender saw accepted must have reached the receiver (it flushes every 500 ms)
    await waitFor(() => [...amqpSettled].every((id) => amqpArrivals.has(id)), {
      what: 'the AMQP receiver to report every accepted message',
      timeoutMs: 10_000,
      intervalMs: 200,
    }).catch(() => undefined);
    monitor.stop();
    await monitor.tick();
    const quiet = new Map<SiteName, number>();
    await waitFor(
      async () => {
        for (const site of SITES) {
          const s = await monitor.now(site);
          if (s) quiet.set(site, s.fds);
        }
        return SITES.every((s) => (quiet.get(s) ?? Infinity) <= (baselineFds.get(s) ?? 0) + 16);
      },
      { what: 'router fds to return to their level before traffic', timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => undefined);

    // attribute: a clean end with bytes missing is explained only by a kill -9 of the site's own router
    for (const a of anomalies) {
      if (a.kind !== 'truncated') continue;
      const k = kills.find((x) => x.site === a.site && x.at >= a.start - 100 && x.at <= a.end + 1000);
      if (k) {
        a.excusedBy = `kill -9 of ${k.site} at ${new Date(k.at).toISOString()}`;
        if (a.side === 'client') {
          const t = traffic[`${a.site}/${a.key}`];
          if (t) t.excused++;
        }
      }
    }
    const windows = faults.map(
      (f) => [f.at, f.at + f.holdMs + (f.reconvergeMs ?? boundMs) + 30_000] as const,
    );
    // a new connection that the network could have routed around, failing later than the bound after detection
    for (const f of faults) {
      const scope = scopeOf(f.kind, f.target);
      if (!scope || f.detectedMs === undefined) continue;
      const detectedAt = f.at + f.detectedMs;
      let last: number | undefined;
      let pathLeft = 0;
      for (const x of failures) {
        if (x.start < f.at || x.end > f.healedAt) continue;
        if (!CONNECTION_KINDS.includes(kindOf.get(x.key) as TrafficKind)) continue;
        if (!reachable(x.site as SiteName, x.key, scope)) continue;
        pathLeft++;
        last = Math.max(last ?? -Infinity, x.start - detectedAt);
        if (x.start - detectedAt > detectBoundMs)
          f.lateFailures = [
            ...(f.lateFailures ?? []),
            `${x.site}/${x.key} ${x.code} +${x.start - detectedAt} ms`,
          ];
      }
      f.pathLeftFailures = pathLeft;
      if (last !== undefined) f.lastFailureMs = last;
    }
    const codes: Record<string, number> = {};
    for (const f of failures) codes[f.code] = (codes[f.code] ?? 0) + 1;
    const routers: RouterFigures[] = SITES.map((site) => {
      const samples = monitor.samples.get(site) ?? [];
      const lastPid = samples.at(-1)?.pid;
      // warm-up: the first third of the traffic time; its level is the highest RSS the router reached in it
      const warm = maxRss(samples, trafficStart, trafficStart + (stopAt - trafficStart) / 3, lastPid);
      const end = medianRss(samples, stopAt - 20_000, stopAt, lastPid);
      const q = quiet.get(site);
      return {
        site,
        kills: kills.filter((k) => k.site === site).length,
        unexpectedDeaths: monitor.unexpected.filter((d) => d.site === site).length,
        maxRssMb: Math.max(0, ...samples.map((s) => s.rssMb)),
        ...(warm !== undefined ? { warmRssMb: warm } : {}),
        ...(end !== undefined ? { endRssMb: end } : {}),
        maxFds: Math.max(0, ...samples.map((s) => s.fds)),
        baselineFds: baselineFds.get(site) ?? 0,
        ...(q !== undefined ? { quietFds: q } : {}),
      };
    });
    const partial: Omit<SoakResult, 'violations'> = {
      seed,
      date,
      minutes: Math.round((Date.now() - started) / 600) / 100,
      boundMs,
      detectBoundMs,
      rssGrowthMb: Number(opts['rss-growth-mb']),
      // a shorter run cannot tell a heap still growing to its working size from a leak (docs: "Soak")
      rssChecked: stopAt - trafficStart >= RSS_MIN_TRAFFIC_MS,
      faults,
      traffic,
      failures: {
        total: failures.length,
        outsideFaults: failures.filter((f) => !windows.some(([a, b]) => f.end >= a && f.end <= b)).length,
        codes,
      },
      anomalies,
      amqp: amqpFigures(),
      redemptions: redeemer.done,
      kinds: Object.fromEntries(SERVICES.map((x) => [x.key, x.kind])),
      deaths: monitor.unexpected,
      routers,
    };
    const result: SoakResult = { ...partial, violations: violations(partial) };
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatResult(result)}\n`);
    return result.violations.length === 0 ? 0 : 1;
  } finally {
    await net.destroy().catch((e: Error) => log(`cleanup: ${e.message}`));
  }
}

try {
  process.exitCode = await main();
  if (process.exitCode === 0 && !opts.keep) rmSync(root, { recursive: true, force: true });
  else log(`site directories and logs kept in ${root}`);
  unregister();
} catch (err) {
  log(`soak failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 2;
}
