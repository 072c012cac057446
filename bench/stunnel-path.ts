// The stunnel path: a Debian stunnel4 client/server pair with mutual TLS (ECDSA P-256 certificates from the same
// CA code Caravan uses, chain verified on both sides), one service per server. TCP_NODELAY on every socket, as
// Caravan does, so latency compares like with like. Logging at errors only.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnManaged } from '../test/support/proc.js';
import type { Tools } from './env.js';
import type { BenchPath } from './paths.js';
import { HOST } from './ports.js';
import type { Servers } from './servers.js';
import { tunnelPath, tunnelPorts, writeTunnelCerts } from './tunnels.js';

interface Service {
  name: string;
  accept: number;
  connect: number;
}

function config(dir: string, role: 'client' | 'server', services: Service[]): string {
  const lines = [
    'foreground = yes',
    'pid =',
    'syslog = no',
    'debug = 3',
    'socket = l:TCP_NODELAY=1',
    'socket = r:TCP_NODELAY=1',
    `cert = ${join(dir, `${role}.crt`)}`,
    `key = ${join(dir, `${role}.key`)}`,
    `CAfile = ${join(dir, 'ca.crt')}`,
    'verifyChain = yes',
  ];
  if (role === 'server') lines.push('requireCert = yes');
  else lines.push('client = yes');
  for (const s of services) {
    lines.push('', `[${s.name}]`, `accept = ${HOST}:${s.accept}`, `connect = ${HOST}:${s.connect}`);
  }
  return lines.join('\n') + '\n';
}

export async function stunnelPath(root: string, servers: Servers, tools: Tools): Promise<BenchPath> {
  const dir = join(root, 'stunnel');
  await writeTunnelCerts(dir, 'stunnel');
  const ports = await tunnelPorts();
  const { tunnel, front } = ports;
  const serverServices = [
    { name: 'redis', accept: tunnel.redis, connect: servers.redisPort },
    { name: 'iperf', accept: tunnel.iperf, connect: servers.iperfPort },
  ];
  const clientServices = [
    { name: 'redis', accept: front.redis, connect: tunnel.redis },
    { name: 'iperf', accept: front.iperf, connect: tunnel.iperf },
  ];
  await writeFile(join(dir, 'server.conf'), config(dir, 'server', serverServices));
  await writeFile(join(dir, 'client.conf'), config(dir, 'client', clientServices));
  const logDir = join(root, 'logs');
  return tunnelPath('stunnel', ports, [
    spawnManaged(tools.stunnel, [join(dir, 'client.conf')], { label: 'stunnel-client', logDir }),
    spawnManaged(tools.stunnel, [join(dir, 'server.conf')], { label: 'stunnel-server', logDir }),
  ]);
}
