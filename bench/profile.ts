// `node dist/bench/profile.js --workload iperf|iperf4|ping|get50|conns|churn [--hops 1|2] [--node-args "..."]
// [--early-data] [--no-prof]`:
// runs one workload through a Caravan path whose routers run with --cpu-prof (or other node flags), then prints
// each router's CPU, RSS and (with profiling) where its CPU time went. Used for docs/design/performance.md.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupAll, registerCleanup } from '../test/support/proc.js';
import { makeTempRoot } from '../test/support/sites.js';
import { caravanPath, type CaravanPath } from './caravan-path.js';
import { summariseProfile } from './cpuprofile.js';
import { findTools, type Tools } from './env.js';
import { sleep } from './ports.js';
import { cpuSeconds, rssBytes } from './procfs.js';
import { startServers } from './servers.js';
import { runIperf } from './workloads/iperf.js';
import { runRedis } from './workloads/redis.js';

const MB = 1024 * 1024;

async function workload(name: string, tools: Tools, p: CaravanPath, seconds: number): Promise<string> {
  switch (name) {
    case 'iperf':
    case 'iperf4': {
      const streams = name === 'iperf4' ? 4 : 1;
      const r = await runIperf(tools.iperf3, p.iperfPort, { streams, direction: 'up', seconds });
      return `iperf3 ${streams} stream(s): ${r.mbps.toFixed(0)} MB/s, ${(r.bytes / 1e9).toFixed(2)} GB`;
    }
    case 'ping':
    case 'get50': {
      const spec =
        name === 'ping'
          ? ({ test: 'PING_INLINE', clients: 1, requests: 20_000 } as const)
          : ({ test: 'GET', clients: 50, requests: 200_000 } as const);
      const r = await runRedis(tools.redisBenchmark, p.redisPort, spec);
      return `redis ${spec.test} -c ${spec.clients}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms} ms`;
    }
    case 'conns':
    case 'churn': {
      const rounds = name === 'churn' ? 3 : 1;
      const out: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const r = await runRedis(tools.redisBenchmark, p.redisPort, {
          test: 'PING_INLINE',
          clients: name === 'churn' ? 16 : 8,
          requests: 10_000,
          keepalive: false,
        });
        await sleep(2000);
        const rss = p.procs.map((x) => `${x.role} ${(rssBytes(x.pid) / MB).toFixed(1)} MB`).join(', ');
        out.push(`round ${i + 1}: ${r.rps.toFixed(0)} conn/s; RSS ${rss}`);
      }
      return out.join('\n');
    }
    default:
      throw new Error(`unknown workload ${name}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'iperf' },
      hops: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '5' },
      'node-args': { type: 'string', default: '' },
      'no-prof': { type: 'boolean' },
      'early-data': { type: 'boolean' },
    },
  });
  const tools = findTools();
  const root = await makeTempRoot('prof');
  registerCleanup({ sync: () => rmSync(root.dir, { recursive: true, force: true }) });
  const profDir = join(root.dir, 'prof');
  const nodeArgs = (values['node-args'] ?? '').split(' ').filter(Boolean);
  if (!values['no-prof']) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  try {
    const servers = await startServers(tools, join(root.dir, 'logs'));
    const p = await caravanPath(root.dir, servers, values.hops === '2' ? 2 : 1, {
      nodeArgs,
      earlyData: values['early-data'] === true,
    });
    await sleep(1000);
    const idle = p.procs.map((x) => `${x.role} ${(rssBytes(x.pid) / MB).toFixed(1)} MB`).join(', ');
    const cpu0 = p.procs.map((x) => cpuSeconds(x.pid));
    console.log(`node args: ${nodeArgs.join(' ') || '(none)'}\nidle RSS: ${idle}`);
    console.log(await workload(values.workload ?? 'iperf', tools, p, Number(values.seconds)));
    p.procs.forEach((x, i) =>
      console.log(`${x.role} CPU: ${(cpuSeconds(x.pid) - (cpu0[i] ?? 0)).toFixed(2)} s`),
    );
    await p.stop();
    if (!values['no-prof']) {
      for (const f of readdirSync(profDir).sort()) {
        const s = summariseProfile(join(profDir, f));
        // CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile
        const pid = Number(f.split('.')[3]);
        const role = p.procs.find((x) => x.pid === pid)?.role ?? 'router';
        console.log(`\n${role} (${f}): ${(s.totalMs / 1000).toFixed(1)} s profiled`);
        const busy = s.totalMs - (s.categories.idle ?? 0);
        for (const [c, ms] of Object.entries(s.categories).sort((a, b) => b[1] - a[1])) {
          console.log(
            `  ${c.padEnd(40)} ${(ms / 1000).toFixed(2)} s  ${c === 'idle' ? '' : `${((ms / busy) * 100).toFixed(1)}% of busy`}`,
          );
        }
        for (const t of s.top) console.log(`    ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`);
      }
    }
  } finally {
    await cleanupAll().catch(() => undefined);
    await root.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
