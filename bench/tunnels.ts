// What the reference tunnels (stunnel and node-tls) share: certificates (ECDSA P-256 from the same CA code Caravan
// uses, a server and a client certificate so both ends verify each other, mutual TLS as on a Caravan link), their
// ports, and the BenchPath of a client/server pair.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, issueCertificate } from '../src/site/certs/index.js';
import type { ManagedProcess } from '../test/support/proc.js';
import type { BenchPath, PathName } from './paths.js';
import { freePort, waitForListening } from './ports.js';

/** Per service: where clients connect (front) and where the tunnel's server end listens (tunnel). */
export interface TunnelPorts {
  front: { redis: number; iperf: number };
  tunnel: { redis: number; iperf: number };
}

export async function tunnelPorts(): Promise<TunnelPorts> {
  return {
    tunnel: { redis: await freePort(), iperf: await freePort() },
    front: { redis: await freePort(), iperf: await freePort() },
  };
}

/** Waits until both ends listen; `procs` are the client end, then the server end. */
export async function tunnelPath(
  name: PathName,
  ports: TunnelPorts,
  procs: [ManagedProcess, ManagedProcess],
): Promise<BenchPath> {
  for (const port of [...Object.values(ports.tunnel), ...Object.values(ports.front)])
    await waitForListening(port);
  return {
    name,
    redisPort: ports.front.redis,
    iperfPort: ports.front.iperf,
    procs: procs.map((p, i) => {
      if (p.pid === undefined) throw new Error(`${p.label} did not start`);
      return { role: i === 0 ? 'client' : 'server', pid: p.pid };
    }),
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop(5000)));
    },
  };
}

/** Writes ca.crt, server.crt/.key and client.crt/.key into dir. The server certificate's name is SERVER_NAME. */
export async function writeTunnelCerts(dir: string, label: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ca = await createCa({ commonName: `bench ${label} CA` });
  const server = await issueCertificate(ca, { commonName: `${label}-server`, usage: 'server' });
  const client = await issueCertificate(ca, { commonName: `${label}-client`, usage: 'client' });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  for (const [role, c] of [
    ['server', server],
    ['client', client],
  ] as const) {
    await writeFile(join(dir, `${role}.crt`), c.certPem);
    await writeFile(join(dir, `${role}.key`), c.keyPem, { mode: 0o600 });
  }
}
