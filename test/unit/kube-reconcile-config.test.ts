/**
 * One reconcile core, two sources: the same resources as a site directory (loadSiteDir) and as Custom
 * Resources in a namespace (reconcile) give the same runtime configuration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourcesToYaml, type Resource } from '../../src/api/index.js';
import { linkSecretName, reconcile, type ObservedState } from '../../src/kube/reconcile/index.js';
import { loadSiteDir } from '../../src/site/site-dir.js';
import { loadIdentity } from '../../src/identity.js';
import { IDENTITY_PEM, NS, applyActions, cr, observed } from '../support/kube-objects.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const specs: [Resource['kind'], string, unknown][] = [
  ['Site', 'east', { linkAccess: { hosts: ['van.example.net'] }, routing: { helloIntervalMs: 500 } }],
  ['Listener', 'db', { port: 5432 }],
  [
    'Listener',
    'web',
    { port: 8080, type: 'http1', forwardedFor: true, weighted: { 'web-a': 3, 'web-b': 1 } },
  ],
  ['Connector', 'pg', { host: 'postgres', port: 5432 }],
  [
    'Connector',
    'pool',
    {
      targets: [
        { host: '10.0.0.1', port: 80 },
        { host: '10.0.0.2', port: 80 },
      ],
    },
  ],
  ['Link', 'to-west', { endpoints: [{ host: 'west.example.net', port: 55671 }], cost: 3 }],
  ['AccessGrant', 'g', { redemptions: 2, expiry: '1h' }],
  ['AccessToken', 't', { url: 'https://west.example.net:55672/g', code: 'c0de', ca: PEM }],
];

test('a namespace and a site directory holding the same resources give the same runtime configuration', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-kube-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // the site directory: YAML plus the runtime files loadSiteDir requires
  const docs = specs.map(([kind, name, spec]) => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind,
    metadata: { name, generation: 1 },
    spec,
  }));
  await mkdir(join(dir, 'resources'), { recursive: true });
  await writeFile(join(dir, 'resources', 'all.yaml'), resourcesToYaml(docs as Resource[]));
  for (const f of [
    'ca.crt',
    'server.crt',
    'server.key',
    'links/to-west/ca.crt',
    'links/to-west/client.crt',
    'links/to-west/client.key',
  ]) {
    await mkdir(join(dir, 'runtime', f, '..'), { recursive: true });
    await writeFile(join(dir, 'runtime', f), 'x');
  }
  const fromDir = await loadSiteDir(dir);

  // the namespace, with its state folder at the same place
  let state: ObservedState = observed(
    specs.map(([kind, name, spec]) => cr(kind, name, spec)),
    {
      stateDir: dir,
      secrets: [
        {
          metadata: { name: linkSecretName('to-west'), namespace: NS },
          data: { 'ca.crt': b64('x'), 'tls.crt': b64('x'), 'tls.key': b64('x') },
        },
      ],
    },
  );
  for (let i = 0; i < 3; i++) state = applyActions(state, reconcile(state).actions);
  const fromKube = reconcile(state).config;
  assert.ok(fromKube);

  const { sources: _a, ...dirConfig } = fromDir;
  const { sources: _b, ...kubeConfig } = fromKube;
  assert.deepEqual(
    [
      kubeConfig.listeners.length,
      kubeConfig.connectors.length,
      kubeConfig.links.length,
      kubeConfig.grants.length,
    ],
    [2, 2, 1, 1],
  );
  assert.equal(kubeConfig.site.spec.tls?.key, join(dir, 'runtime', 'server.key'));
  // the one difference: the router id, which a host site derives from runtime/identity.key when its router
  // starts, is filled in from the identity key's Secret
  assert.equal(kubeConfig.site.spec.routerId, loadIdentity('east', IDENTITY_PEM).routerId);
  delete kubeConfig.site.spec.routerId;
  // and a grant's expiry: a host site's grant server counts it from the grant file's time, a namespace's from
  // the Custom Resource's creation, written into the grant's status
  const g = kubeConfig.grants[0];
  assert.equal(g?.status?.expiresAt, new Date(Date.parse('2026-03-01T09:00:00Z') + 3600_000).toISOString());
  if (g) delete g.status;
  assert.deepEqual(kubeConfig, dirConfig);
  assert.equal(fromKube.sources.get('Listener/db'), `kubernetes:${NS}/Listener/db`);
});
