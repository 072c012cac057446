// The pure parts of `caravan --kube`: the API's failures as the messages and codes a user sees, the options
// `withKube` adds (and refuses without --kube), and the CRD fields only Kubernetes mode reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkResource } from '../../src/api/index.js';
import { crdOf } from '../../src/api/schema/crd.js';
import { KUBE_ONLY_FIELDS } from '../../src/api/schema/kube-only.js';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { errorFromResponse, networkError } from '../../src/kube/errors.js';
import { LINK_ACCESS_TYPES } from '../../src/kube/reconcile/index.js';
import { checkKubeDocument } from '../../src/kube/reconcile/spec.js';
import type { KubeTarget } from '../../src/cli/kube/connect.js';
import { explain } from '../../src/cli/kube/crs.js';
import { cli } from '../support/cli.js';

const t = { namespace: 'shop', file: '/k/config', server: 'https://10.0.0.1:6443' } as KubeTarget;
const status = (code: number, reason: string, message: string): string =>
  JSON.stringify({ kind: 'Status', status: 'Failure', code, reason, message });

function codeOf(e: unknown): string {
  assert.ok(isCaravanError(e), String(e));
  return e.code;
}

test('API failures become messages with stable codes', () => {
  const noType = errorFromResponse(
    404,
    status(404, 'NotFound', 'the server could not find the requested resource'),
    'list listeners',
  );
  const e1 = explain(noType, t, 'list', 'Listener');
  assert.equal(codeOf(e1), ErrorCodes.KUBE_NO_CRDS);
  assert.match((e1 as Error).message, /CRDs are not installed .*caravan kube manifests --crds-only/);
  // a real API server answers a group it does not know with plain text
  assert.equal(
    codeOf(explain(errorFromResponse(404, '404 page not found', 'x'), t, 'create', 'Site', 'w')),
    ErrorCodes.KUBE_NO_CRDS,
  );

  const noObj = errorFromResponse(
    404,
    status(404, 'NotFound', 'listeners.caravan.dev "db" not found'),
    'get',
  );
  const e2 = explain(noObj, t, 'get', 'Listener', 'db');
  assert.equal(codeOf(e2), ErrorCodes.KUBE_NOT_FOUND);
  assert.equal((e2 as Error).message, "no listener named 'db' in namespace shop");

  const noNs = errorFromResponse(404, status(404, 'NotFound', 'namespaces "shop" not found'), 'create');
  assert.match(
    (explain(noNs, t, 'create', 'Listener', 'db') as Error).message,
    /namespace shop does not exist/,
  );

  const forbidden = errorFromResponse(
    403,
    status(403, 'Forbidden', 'listeners.caravan.dev is forbidden: User "u"'),
    'create',
  );
  const e3 = explain(forbidden, t, 'create', 'Listener', 'db');
  assert.equal(codeOf(e3), ErrorCodes.KUBE_FORBIDDEN);
  assert.match((e3 as Error).message, /kubectl auth can-i create listeners\.caravan\.dev -n shop/);

  const taken = errorFromResponse(
    409,
    status(409, 'AlreadyExists', 'listeners.caravan.dev "db" already exists'),
    'create',
  );
  assert.equal(codeOf(explain(taken, t, 'create', 'Listener', 'db')), ErrorCodes.KUBE_ALREADY_EXISTS);
  assert.equal(
    codeOf(explain(errorFromResponse(401, '', 'x'), t, 'list', 'Link')),
    ErrorCodes.KUBE_UNAUTHORIZED,
  );
  const down = explain(networkError('list links', new Error('connect ECONNREFUSED')), t, 'list', 'Link');
  assert.match(
    (down as Error).message,
    /cannot reach the Kubernetes API at https:\/\/10\.0\.0\.1:6443 .*ECONNREFUSED/,
  );
  const other = new Error('not an API error');
  assert.equal(explain(other, t, 'list', 'Link'), other);
});

test('the Kubernetes options need --kube; --help names them', async () => {
  const r = await cli(['listener', 'list', '--namespace', 'shop']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--namespace needs --kube/);
  const sel = await cli(['connector', 'create', 'z', '80', '--selector', 'app=z']);
  assert.equal(sel.code, 2);
  assert.match(sel.stderr, /--selector needs --kube/);
  const h = await cli(['connector', 'create', '--help']);
  assert.equal(h.code, 0);
  for (const o of ['--kube', '--kubeconfig FILE', '--context NAME', '--namespace NS', '--selector SELECTOR'])
    assert.ok(h.stdout.includes(o), o);
  assert.match(
    h.stdout,
    /With --kube \(or CARAVAN_PLATFORM=kubernetes\), acts on the Caravan Custom Resources/,
  );
  const none = await cli(['status', '--kube'], { env: { HOME: '/nonexistent-home', KUBECONFIG: '' } });
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no kubeconfig/);
});

test('create -o yaml --kube prints the Custom Resource without a cluster, checked as the router checks it', async () => {
  const r = await cli([
    'connector',
    'create',
    'redis',
    '6379',
    '--kube',
    '--namespace',
    'shop',
    '--selector',
    'app=redis',
    '-o',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const obj = JSON.parse(r.stdout) as { kind: string; metadata: { namespace: string }; spec: unknown };
  assert.equal(obj.kind, 'Connector');
  assert.equal(obj.metadata.namespace, 'shop');
  assert.deepEqual(obj.spec, { port: 6379, selector: 'app=redis' });
  const bad = await cli(['listener', 'create', '9lives', '80', '--kube', '-o', 'yaml']);
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /metadata\.name: names the listener's Service/);
});

test('the CRDs declare the fields only Kubernetes mode reads', () => {
  type Props = Record<string, { type?: string; enum?: string[]; properties?: Props }>;
  const specOf = (kind: 'Connector' | 'Site'): Props =>
    (
      crdOf(kind) as {
        spec: {
          versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Props } } } } }[];
        };
      }
    ).spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties;
  assert.equal(specOf('Connector')['selector']?.type, 'string');
  assert.deepEqual(specOf('Site')['linkAccess']?.properties?.['type']?.enum, [...LINK_ACCESS_TYPES]);
});

test('the Kubernetes-only fields: refused on a host site naming --kube, accepted by the Kubernetes check', () => {
  const doc = (kind: string, spec: Record<string, unknown>) => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind,
    metadata: { name: 'x' },
    spec,
  });
  const hostSel = checkResource(doc('Connector', { port: 80, selector: 'app=x' }));
  assert.equal(hostSel.resource, undefined);
  assert.equal(hostSel.issues[0]?.path, 'spec.selector');
  assert.match(hostSel.issues[0]?.message ?? '', /only a Kubernetes site reads this field .* with --kube/);
  const hostType = checkResource(doc('Site', { linkAccess: { type: 'NodePort' } }));
  assert.equal(hostType.issues[0]?.path, 'spec.linkAccess.type');
  assert.match(hostType.issues[0]?.message ?? '', /--kube/);
  // other unknown fields keep the usual message
  assert.match(
    checkResource(doc('Connector', { port: 80, selectr: 'a' })).issues[0]?.message ?? '',
    /unknown field/,
  );

  assert.ok(checkKubeDocument(doc('Connector', { port: 80, selector: 'app=x' })).resource);
  assert.ok(checkKubeDocument(doc('Site', { linkAccess: { type: 'NodePort' } })).resource);
  const both = checkKubeDocument(doc('Connector', { port: 80, selector: 'app=x', host: 'h' }));
  assert.equal(both.resource, undefined);
  assert.equal(both.label, 'Connector "x"');
  assert.match(both.issues[0]?.message ?? '', /either selector or host/);
  const badType = checkKubeDocument(doc('Site', { linkAccess: { type: 'Ingress' } }));
  assert.equal(badType.issues[0]?.path, 'spec.linkAccess.type');

  // every such field is declared by the CRD (or the API server would prune it)
  for (const [kind, fields] of Object.entries(KUBE_ONLY_FIELDS)) {
    for (const path of Object.keys(fields)) {
      let node = (
        crdOf(kind as 'Site') as { spec: { versions: Array<{ schema: { openAPIV3Schema: unknown } }> } }
      ).spec.versions[0]!.schema.openAPIV3Schema as { properties?: Record<string, unknown> } | undefined;
      for (const part of path.split('.'))
        node = node?.properties?.[part] as { properties?: Record<string, unknown> } | undefined;
      assert.ok(node, `${kind} ${path} in the CRD`);
    }
  }
});
