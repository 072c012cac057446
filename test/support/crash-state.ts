/**
 * What the crash-safety test's writer (crash-writer.ts) writes, generation by generation, so that the test can
 * tell a file that is exactly one generation (old or new) from a partial one. See test/integration/crash-safe.test.ts.
 */
import { join } from 'node:path';
import {
  API_VERSION,
  defaultLinkTls,
  toYaml,
  validateResource,
  type LinkResource,
  type ListenerResource,
} from '../../src/api/index.js';
import { issueToken, writeTokenFile } from '../../src/site/grants/issue.js';
import { revokeLink } from '../../src/site/grants/revoke.js';
import { installLinkFiles } from '../../src/site/grants/link-files.js';
import {
  readRevocations,
  sitePaths,
  writeJson,
  type IssuedCert,
  type LinkGrantInfo,
} from '../../src/site/grants/state.js';
import { writeResource } from '../../src/site/site-dir.js';

/** Two complete link certificate sets (real ones: the router loads them); generation g writes set g % 2. */
export interface CertSets {
  sets: Array<{ ca: string; cert: string; key: string }>;
}

export const LISTENER = 'bulk';
export const LINK = 'peer';
export const ISSUED_COUNT = 500;

/**
 * A Listener with ~14 KB of labels, all naming generation `g` (label `crash-gen`; metadata.generation is the
 * writer's own count of spec changes, so it cannot say which write a file is).
 */
export function listenerAt(g: number, port: number): ListenerResource {
  const labels: Record<string, string> = {};
  labels['crash-gen'] = String(g);
  for (let i = 0; i < 200; i++) labels[`k${i}`] = `gen-${g}-${'x'.repeat(40)}`;
  return validateResource(
    {
      apiVersion: API_VERSION,
      kind: 'Listener',
      metadata: { name: LISTENER, generation: g, labels },
      spec: { type: 'tcp', host: '127.0.0.1', port, routingKey: `bulk-${g}` },
    },
    'crash-state',
  ) as ListenerResource;
}

export function linkAt(g: number, port: number): LinkResource {
  return validateResource(
    {
      apiVersion: API_VERSION,
      kind: 'Link',
      metadata: { name: LINK, generation: g, labels: { 'crash-gen': String(g) } },
      spec: { endpoints: [{ host: '127.0.0.1', port }], cost: 1 + (g % 50), tls: defaultLinkTls(LINK) },
    },
    'crash-state',
  ) as LinkResource;
}

export const listenerYaml = (g: number, port: number): string => toYaml(listenerAt(g, port));
export const linkYaml = (g: number, port: number): string => toYaml(linkAt(g, port));

export function tokenPath(root: string): string {
  return join(root, 'token.yaml');
}

/** The issued-certificate list of generation `g` (every record names it in lifetimeMs). */
export function issuedAt(g: number): IssuedCert[] {
  const out: IssuedCert[] = [];
  for (let i = 0; i < ISSUED_COUNT; i++) {
    out.push({
      serial: (0x1000_0000 + i).toString(16).toUpperCase(),
      id: `id-${i}`,
      site: `p${i}`,
      link: `link-${i}`,
      grant: 'seed',
      issuedAt: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      lifetimeMs: g,
    });
  }
  return out;
}

/** One round of writes, each through the code the CLI or the router uses for it. */
export async function writeGeneration(
  dir: string,
  root: string,
  g: number,
  ports: { listener: number; link: number },
  certs: CertSets,
): Promise<void> {
  const paths = sitePaths(dir);
  await writeResource(dir, listenerAt(g, ports.listener));
  const set = certs.sets[g % 2]!;
  await installLinkFiles(
    dir,
    LINK,
    [
      { name: 'ca.crt', data: set.ca },
      { name: 'client.crt', data: set.cert },
      { name: 'client.key', data: set.key, mode: 0o600 },
      { name: 'grant.json', data: JSON.stringify(linkGrantAt(g), null, 2) + '\n', mode: 0o600 },
    ],
    () => writeResource(dir, linkAt(g, ports.link)).then(() => undefined),
  );
  const { token } = await issueToken(dir, { name: `g${g % 3}`, hosts: ['127.0.0.1'] });
  await writeTokenFile(tokenPath(root), token);
  const done = (await readRevocations(dir)).length;
  await revokeLink(dir, `p${done % ISSUED_COUNT}`);
  await writeJson(paths.redemption(`g${g % 3}`), {
    codeHash: 'x',
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    redeemed: g,
  });
  await writeJson(paths.issued, { certs: issuedAt(g) });
}

export function linkGrantAt(g: number): LinkGrantInfo {
  return {
    grantUrl: 'https://127.0.0.1:1/',
    renewUrl: 'https://127.0.0.1:1/renew',
    commonName: 'hub',
    lifetimeMs: g,
  };
}
