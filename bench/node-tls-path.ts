// The node-tls reference path: client -> node tunnel client => node tunnel server -> server, mutual TLS, one TLS
// connection per client connection (see node-tunnel.ts). Both processes run with the router's V8 flags, so the
// comparison with caravan-1hop is runtime against runtime.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ROUTER_NODE_FLAGS } from '../src/site/node-flags.js';
import { spawnManaged, type ManagedProcess } from '../test/support/proc.js';
import type { BenchPath } from './paths.js';
import type { Servers } from './servers.js';
import { tunnelPath, tunnelPorts, writeTunnelCerts } from './tunnels.js';

const PROGRAMS = {
  'node-tls': fileURLToPath(new URL('./node-tunnel.js', import.meta.url)),
  'node-tls-worker': fileURLToPath(new URL('./node-tunnel-worker.js', import.meta.url)),
} as const;

export async function nodeTlsPath(
  root: string,
  servers: Servers,
  nodeArgs: string[] = [],
  name: keyof typeof PROGRAMS = 'node-tls',
): Promise<BenchPath> {
  const dir = join(root, name);
  await writeTunnelCerts(dir, 'node-tls');
  const ports = await tunnelPorts();
  const { tunnel, front } = ports;
  const logDir = join(root, 'logs');
  const start = (role: 'client' | 'server', maps: Array<[number, number]>): ManagedProcess =>
    spawnManaged(
      process.execPath,
      [
        ...ROUTER_NODE_FLAGS,
        ...nodeArgs,
        PROGRAMS[name],
        '--role',
        role,
        '--dir',
        dir,
        ...maps.flatMap(([l, t]) => ['--map', `${l}:${t}`]),
      ],
      { label: `${name}-${role}`, logDir },
    );
  return tunnelPath(name, ports, [
    start('client', [
      [front.redis, tunnel.redis],
      [front.iperf, tunnel.iperf],
    ]),
    start('server', [
      [tunnel.redis, servers.redisPort],
      [tunnel.iperf, servers.iperfPort],
    ]),
  ]);
}
