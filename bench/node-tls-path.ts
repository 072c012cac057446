// The node-tls reference path: client -> node tunnel client => node tunnel server -> server, mutual TLS, one TLS
// connection per client connection (see node-tunnel.ts). Both processes run with the router's V8 flags, so the
// comparison with caravan-1hop is runtime against runtime.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ROUTER_NODE_FLAGS } from '../src/site/node-flags.js';
import { spawnManaged, type ManagedProcess } from '../test/support/proc.js';
import type { BenchPath } from './paths.js';
import { freePort, waitForListening } from './ports.js';
import type { Servers } from './servers.js';
import { writeTunnelCerts } from './tunnel-certs.js';

const PROGRAM = fileURLToPath(new URL('./node-tunnel.js', import.meta.url));

export async function nodeTlsPath(
  root: string,
  servers: Servers,
  nodeArgs: string[] = [],
): Promise<BenchPath> {
  const dir = join(root, 'node-tls');
  await writeTunnelCerts(dir, 'node-tls');
  const tunnel = { redis: await freePort(), iperf: await freePort() };
  const front = { redis: await freePort(), iperf: await freePort() };
  const logDir = join(root, 'logs');
  const start = (role: 'client' | 'server', maps: Array<[number, number]>): ManagedProcess =>
    spawnManaged(
      process.execPath,
      [
        ...ROUTER_NODE_FLAGS,
        ...nodeArgs,
        PROGRAM,
        '--role',
        role,
        '--dir',
        dir,
        ...maps.flatMap(([l, t]) => ['--map', `${l}:${t}`]),
      ],
      { label: `node-tls-${role}`, logDir },
    );
  const procs = [
    start('client', [
      [front.redis, tunnel.redis],
      [front.iperf, tunnel.iperf],
    ]),
    start('server', [
      [tunnel.redis, servers.redisPort],
      [tunnel.iperf, servers.iperfPort],
    ]),
  ];
  for (const port of [...Object.values(tunnel), ...Object.values(front)]) await waitForListening(port);
  return {
    name: 'node-tls',
    redisPort: front.redis,
    iperfPort: front.iperf,
    procs: procs.map((p, i) => {
      if (p.pid === undefined) throw new Error(`${p.label} did not start`);
      return { role: i === 0 ? 'client' : 'server', pid: p.pid };
    }),
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop(5000)));
    },
  };
}
