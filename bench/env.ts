// Where things are and what machine we run on: the router entry point next to this compiled file, the Debian
// tools the benchmark drives, and machine facts recorded in the JSON results.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** dist/bench/run.js -> dist/src/daemon/main.js (also works from any other outDir, e.g. dist-bench/). */
export const routerMain = fileURLToPath(new URL('../src/daemon/main.js', import.meta.url));

export interface Tools {
  iperf3: string;
  redisServer: string;
  redisBenchmark: string;
  stunnel: string;
}

function which(names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/bin', '/usr/sbin'])) {
      const p = `${dir}/${name}`;
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** The Debian peers, or an error that says how to install the missing ones. */
export function findTools(): Tools {
  const found = {
    iperf3: which(['iperf3']),
    redisServer: which(['redis-server']),
    redisBenchmark: which(['redis-benchmark']),
    stunnel: which(['stunnel4', 'stunnel']),
  };
  const missing = Object.entries(found)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) {
    throw new Error(
      `missing tools: ${missing.join(', ')}; install them with ` +
        '`apt-get install -y stunnel4 iperf3 redis-server redis-tools`',
    );
  }
  if (!existsSync(routerMain))
    throw new Error(`router entry point not built: ${routerMain} (run npm run build)`);
  return found as Tools;
}

/** The first output line (stdout or stderr: stunnel prints its version on stderr) that holds a version. */
function versionLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return (
    text
      .split('\n')
      .find((l) => /\d+\.\d+/.test(l) && !/^Initializing/.test(l))
      ?.trim() ?? ''
  );
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  kernel: string;
  cpuModel: string;
  cores: number;
  memoryGb: number;
  loadAverage: number[];
  node: string;
  openssl: string;
  tools: Record<string, string>;
}

export function machineInfo(tools: Tools): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    tools: {
      iperf3: versionLine(tools.iperf3, ['--version']),
      redis: versionLine(tools.redisServer, ['--version']),
      stunnel: versionLine(tools.stunnel, ['-version']),
    },
  };
}
