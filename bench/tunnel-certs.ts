// Certificates for the reference tunnels (stunnel and node-tls): ECDSA P-256 from the same CA code Caravan uses, a
// server and a client certificate so both ends verify each other (mutual TLS, as on a Caravan link).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, issueCertificate } from '../src/site/certs/index.js';

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
