// The real servers behind every path: one redis-server and one iperf3 server on free loopback ports.
import { spawnManaged, type ManagedProcess } from '../test/support/proc.js';
import type { Tools } from './env.js';
import { freePort, HOST, waitForPort } from './ports.js';

export interface Servers {
  redisPort: number;
  iperfPort: number;
  procs: ManagedProcess[];
}

export async function startServers(tools: Tools, logDir: string): Promise<Servers> {
  const redisPort = await freePort();
  const redis = spawnManaged(
    tools.redisServer,
    [
      '--port',
      String(redisPort),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--maxclients',
      '20000',
      '--dir',
      logDir,
    ],
    { label: 'redis-server', logDir },
  );
  const iperfPort = await freePort();
  const iperf = spawnManaged(tools.iperf3, ['-s', '-B', HOST, '-p', String(iperfPort), '--forceflush'], {
    label: 'iperf3-server',
    logDir,
  });
  await waitForPort(redisPort);
  // never probe iperf3 with a bare connection: it would count as a (failed) test
  await iperf.waitForOutput(/Server listening/, { timeoutMs: 10_000 });
  return { redisPort, iperfPort, procs: [redis, iperf] };
}
