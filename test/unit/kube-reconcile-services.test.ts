import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCondition } from '../../src/api/conditions.js';
import {
  LINK_ACCESS_SERVICE,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  reconcile,
  type ObservedState,
  type ServiceObject,
} from '../../src/kube/reconcile/index.js';
import {
  NS,
  ROUTER_LABELS,
  applyActions,
  cr,
  foreignService,
  observed,
  ofKind,
} from '../support/kube-objects.js';

const site = (spec: unknown = {}) => cr('Site', 'east', spec);
const statusOf = (r: ReturnType<typeof reconcile>, kind: string, name: string) =>
  r.statuses.find((s) => s.kind === kind && s.name === name)?.status;

/** Reconciles and applies until no action is left (at most a few rounds); returns the final state. */
function converge(state: ObservedState): ObservedState {
  for (let i = 0; i < 5; i++) {
    const r = reconcile(state);
    if (r.actions.length === 0) return state;
    state = applyActions(state, r.actions);
  }
  throw new Error('did not converge');
}

test('a Listener gets a ClusterIP Service named after spec.host (or itself) selecting the router pods', () => {
  const db = cr('Listener', 'orders-db', { routingKey: 'db', host: 'db', port: 5432 });
  const api = cr('Listener', 'api', { port: 8080, type: 'http1' });
  const dns = cr('Listener', 'dns', { port: 53, type: 'udp' });
  const r = reconcile(observed([site(), db, api, dns]));
  const creates = ofKind(r.actions, 'create').filter((a) => a.kind === 'Service');
  assert.deepEqual(creates.map((a) => a.object.metadata.name).sort(), ['api', 'db', 'dns']);
  const svc = r.services.find((s) => s.metadata.name === 'db') as ServiceObject;
  assert.equal(svc.metadata.namespace, NS);
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.deepEqual(svc.spec.selector, ROUTER_LABELS);
  assert.deepEqual(svc.spec.ports, [{ name: 'tcp', protocol: 'TCP', port: 5432, targetPort: 5432 }]);
  assert.equal(svc.metadata.labels?.[MANAGED_BY_LABEL], MANAGED_BY);
  assert.deepEqual(svc.metadata.ownerReferences, [
    {
      apiVersion: 'caravan.dev/v1alpha1',
      kind: 'Listener',
      name: 'orders-db',
      uid: db.metadata.uid,
      controller: true,
      blockOwnerDeletion: false,
    },
  ]);
  assert.equal(r.services.find((s) => s.metadata.name === 'dns')?.spec.ports?.[0]?.protocol, 'UDP');
  // the runtime configuration waits for the Site's Secrets (router id), then has the listener binding every
  // address in the pod: the name lives on as the Service
  assert.equal(r.config, undefined);
  const config = reconcile(converge(observed([site(), db, api, dns]))).config;
  assert.equal(config?.listeners.find((l) => l.metadata.name === 'orders-db')?.spec.host, '0.0.0.0');
});

test('a Service of that name that Caravan does not own is reported, never overwritten or deleted', () => {
  const theirs = foreignService('db', 5432);
  const db = cr('Listener', 'db', { port: 5432 });
  const other = cr('Listener', 'cache', { port: 6379 });
  const state = observed([site(), db, other], { services: [theirs] });
  const r = reconcile(state);
  for (const a of r.actions)
    if (a.kind === 'Service') assert.notEqual(a.op === 'delete' ? a.name : a.object.metadata.name, 'db');
  const st = statusOf(r, 'Listener', 'db');
  for (const type of ['Configured', 'Ready']) {
    const c = findCondition(st?.conditions, type);
    assert.equal(c?.status, 'False', type);
    assert.equal(c?.reason, 'ServiceConflict');
    assert.match(c?.message ?? '', /Service db exists and is not Caravan's/);
  }
  // the other listener is not affected
  assert.equal(findCondition(statusOf(r, 'Listener', 'cache')?.conditions, 'Configured')?.status, 'True');
  const final = converge(state);
  assert.deepEqual(
    reconcile(final).config?.listeners.map((l) => l.metadata.name),
    ['cache'],
  );
  assert.deepEqual(
    final.services.find((s) => s.metadata.name === 'db'),
    theirs,
    'the foreign Service is untouched',
  );
});

test('two Listeners wanting one Service name: the one holding it keeps it, the other is told', () => {
  const a = cr('Listener', 'a', { host: 'db', port: 5432 }, { createdAt: '2026-03-01T09:00:00Z' });
  const b = cr('Listener', 'b', { host: 'db', port: 5433 }, { createdAt: '2026-03-01T08:00:00Z' });
  let state = converge(observed([site(), a]));
  state = { ...state, resources: [...state.resources, b] };
  const r = reconcile(state);
  const msg = findCondition(statusOf(r, 'Listener', 'b')?.conditions, 'Configured');
  assert.equal(msg?.reason, 'ServiceConflict');
  assert.match(msg?.message ?? '', /already made for Listener a/);
  assert.equal(r.services.find((s) => s.metadata.name === 'db')?.spec.ports?.[0]?.port, 5432);
});

test('deleting a Listener deletes its Service, and only Services Caravan owns', () => {
  const db = cr('Listener', 'db', { port: 5432 });
  let state = converge(observed([site(), db], { services: [foreignService('web')] }));
  assert.ok(state.services.some((s) => s.metadata.name === 'db'));
  state = { ...state, resources: state.resources.filter((r) => r.kind !== 'Listener') };
  const r = reconcile(state);
  const deletes = ofKind(r.actions, 'delete');
  assert.deepEqual(
    deletes.map((d) => d.name),
    ['db'],
  );
  assert.equal(deletes[0]?.uid, state.services.find((s) => s.metadata.name === 'db')?.metadata.uid);
  // a Service labelled as Caravan's but without a caravan.dev owner reference is not ours either
  const lookalike = foreignService('lookalike');
  lookalike.metadata.labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
  const r2 = reconcile({ ...state, services: [...state.services, lookalike] });
  assert.equal(
    ofKind(r2.actions, 'delete').some((d) => d.name === 'lookalike'),
    false,
  );
});

test('a Listener whose spec becomes invalid keeps its Service; a changed port updates it in place', () => {
  const db = cr('Listener', 'db', { port: 5432 });
  let state = converge(observed([site(), db]));
  const before = state.services.find((s) => s.metadata.name === 'db') as ServiceObject;
  const edit = (spec: unknown, generation: number) => ({
    ...state,
    resources: state.resources.map((r) =>
      r.kind === 'Listener' ? { ...r, spec, metadata: { ...r.metadata, generation } } : r,
    ),
  });
  const broken = reconcile(edit({ port: 'x' }, 2));
  assert.equal(broken.actions.filter((a) => a.kind === 'Service').length, 0);
  state = edit({ port: 5433 }, 3);
  const r = reconcile(state);
  const upd = ofKind(r.actions, 'update');
  assert.equal(upd.length, 1);
  assert.equal(upd[0]?.object.spec.clusterIP, before.spec.clusterIP, 'the API-assigned clusterIP stays');
  assert.equal(upd[0]?.object.metadata.resourceVersion, before.metadata.resourceVersion);
  assert.equal(upd[0]?.object.spec.ports?.[0]?.port, 5433);
  const after = converge(state);
  assert.equal(reconcile(after).actions.length, 0);
});

test('link access: a Service of the spec type with the link and grant ports, owned by the Site', () => {
  for (const type of ['LoadBalancer', 'NodePort', 'ClusterIP'] as const) {
    const s = site({ linkAccess: { type, port: 55671, grantPort: 55672 } });
    const r = reconcile(observed([s]));
    const svc = r.services.find((x) => x.metadata.name === LINK_ACCESS_SERVICE);
    assert.equal(svc?.spec.type, type);
    assert.deepEqual(
      svc?.spec.ports?.map((p) => [p.name, p.port, p.targetPort]),
      [
        ['link', 55671, 55671],
        ['grants', 55672, 55672],
      ],
    );
    assert.equal(svc?.metadata.ownerReferences?.[0]?.kind, 'Site');
    assert.deepEqual(svc?.spec.selector, ROUTER_LABELS);
  }
  // LoadBalancer is the default
  const r = reconcile(observed([site({ linkAccess: {} })]));
  assert.equal(r.linkAccessType, 'LoadBalancer');
  // no link access: no Service
  assert.equal(reconcile(observed([site()])).services.length, 0);
  // a bad type names the field
  const bad = reconcile(observed([site({ linkAccess: { type: 'Ingress' } })]));
  const c = findCondition(statusOf(bad, 'Site', 'east')?.conditions, 'Configured');
  assert.equal(c?.status, 'False');
  assert.match(c?.message ?? '', /^spec\.linkAccess\.type: must be one of LoadBalancer, NodePort, ClusterIP/);
});

test('the link address comes from the LoadBalancer ingress, a NodePort with a user host, or the spec', () => {
  const withLb = (spec: unknown, patch: (s: ServiceObject) => void) => {
    const state = converge(observed([site(spec)]));
    const svc = state.services.find((x) => x.metadata.name === LINK_ACCESS_SERVICE) as ServiceObject;
    patch(svc);
    return reconcile(state);
  };
  // LoadBalancer, no address yet: the Site says what it waits for
  let r = withLb({ linkAccess: {} }, () => undefined);
  let st = statusOf(r, 'Site', 'east');
  let ready = findCondition(st?.conditions, 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'AddressPending');
  assert.equal(r.linkAddress, undefined);
  // the cloud assigns an address
  r = withLb({ linkAccess: {} }, (s) => {
    s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.net' }] } };
  });
  assert.deepEqual(r.linkAddress, {
    source: 'LoadBalancer',
    hosts: ['203.0.113.7', 'lb.example.net'],
    port: 55671,
    grantPort: 55672,
  });
  st = statusOf(r, 'Site', 'east');
  assert.deepEqual((st?.['linkAccess'] as { source: string }).source, 'LoadBalancer');
  assert.deepEqual(r.config?.site.spec.linkAccess?.hosts, ['203.0.113.7', 'lb.example.net']);
  // NodePort: needs a node address from the user, and uses the node ports
  r = withLb({ linkAccess: { type: 'NodePort' } }, () => undefined);
  ready = findCondition(statusOf(r, 'Site', 'east')?.conditions, 'Ready');
  assert.equal(ready?.reason, 'AddressPending');
  assert.match(ready?.message ?? '', /set spec\.linkAccess\.hosts/);
  r = withLb({ linkAccess: { type: 'NodePort', hosts: ['node1.example.net'] } }, (s) => {
    s.spec.ports = s.spec.ports?.map((p) => ({ ...p, nodePort: p.name === 'link' ? 31001 : 31002 }));
  });
  assert.deepEqual(r.linkAddress, {
    source: 'NodePort',
    hosts: ['node1.example.net'],
    port: 31001,
    grantPort: 31002,
  });
  // a user-set host wins over a LoadBalancer address
  r = withLb({ linkAccess: { hosts: ['van.example.net'] } }, (s) => {
    s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };
  });
  assert.equal(r.linkAddress?.source, 'spec');
  assert.deepEqual(r.linkAddress?.hosts, ['van.example.net']);
  // ClusterIP without hosts: the cluster DNS name (for an Ingress or Route in front)
  r = withLb({ linkAccess: { type: 'ClusterIP' } }, () => undefined);
  assert.deepEqual(r.linkAddress?.hosts, [`${LINK_ACCESS_SERVICE}.${NS}.svc`]);
});

test('node ports the API server assigned survive a reconcile; a type change replaces them', () => {
  let state = converge(observed([site({ linkAccess: { type: 'NodePort', hosts: ['n1'] } })]));
  state = {
    ...state,
    services: state.services.map((s) => ({
      ...s,
      spec: { ...s.spec, ports: s.spec.ports?.map((p, i) => ({ ...p, nodePort: 30000 + i })) },
    })),
  };
  assert.equal(reconcile(state).actions.filter((a) => a.kind === 'Service').length, 0);
  state = {
    ...state,
    resources: state.resources.map((r) => ({ ...r, spec: { linkAccess: { type: 'ClusterIP' } } })),
  };
  const upd = ofKind(reconcile(state).actions, 'update');
  assert.equal(upd[0]?.object.spec.type, 'ClusterIP');
  assert.equal(
    upd[0]?.object.spec.ports?.some((p) => p.nodePort !== undefined),
    false,
  );
});

test('a Listener on the link-access port, or on another listener port, is a port conflict', () => {
  const s = site({ linkAccess: { type: 'ClusterIP' } });
  const old = cr('Listener', 'zeta', { port: 7000 }, { createdAt: '2026-03-01T08:00:00Z' });
  const young = cr('Listener', 'alpha', { port: 7000 }, { createdAt: '2026-03-01T09:30:00Z' });
  const onLink = cr('Listener', 'links', { port: 55671 });
  const udp = cr('Listener', 'udp7000', { port: 7000, type: 'udp' });
  const r = reconcile(observed([s, old, young, onLink, udp]));
  const reason = (n: string) => findCondition(statusOf(r, 'Listener', n)?.conditions, 'Configured');
  assert.equal(reason('zeta')?.status, 'True', 'the older listener keeps its port');
  assert.equal(reason('alpha')?.reason, 'PortConflict');
  assert.match(reason('alpha')?.message ?? '', /^spec\.port: port 7000 is already used by Listener zeta/);
  assert.equal(reason('links')?.reason, 'PortConflict');
  assert.equal(reason('udp7000')?.status, 'True', 'udp and tcp ports do not clash');
});

test('revision labels of the router pods never go into a Service selector', () => {
  const r = reconcile(
    observed([site(), cr('Listener', 'db', { port: 5432 })], {
      routerPodLabels: { ...ROUTER_LABELS, 'pod-template-hash': '5d8f7c9b4' },
    }),
  );
  assert.deepEqual(r.services[0]?.spec.selector, ROUTER_LABELS);
});

test('a Listener recreated under the same name takes its Service back; a held one is not taken', () => {
  const first = cr('Listener', 'db', { port: 5432 });
  let state = converge(observed([site(), first]));
  const second = cr('Listener', 'db', { port: 5432 });
  state = { ...state, resources: [...state.resources.filter((r) => r.kind !== 'Listener'), second] };
  const r = reconcile(state);
  const upd = ofKind(r.actions, 'update');
  assert.equal(upd.length, 1);
  assert.equal(upd[0]?.object.metadata.ownerReferences?.[0]?.uid, second.metadata.uid);
  state = converge(state);
  // the Service's owner now has a bad spec: another Listener asking for the name does not get it
  state = {
    ...state,
    resources: [
      ...state.resources.map((x) => (x.kind === 'Listener' ? { ...x, spec: { port: 'x' } } : x)),
      cr('Listener', 'thief', { host: 'db', port: 6000 }),
    ],
  };
  const r2 = reconcile(state);
  assert.equal(
    r2.actions.filter((a) => a.kind === 'Service').length,
    0,
    'the held Service is neither taken nor deleted',
  );
  assert.equal(
    r2.services.some((s) => s.metadata.name === 'db'),
    false,
  );
  const c = findCondition(r2.statuses.find((s) => s.name === 'thief')?.status.conditions, 'Configured');
  assert.equal(c?.reason, 'ServiceConflict');
  assert.match(c?.message ?? '', /Service db is held by Listener db/);
});

test('a foreign Service named like the link-access Service is left alone and gives no address', () => {
  const theirs = foreignService(LINK_ACCESS_SERVICE, 443);
  theirs.status = { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } };
  const start = observed([site({ linkAccess: {} })], { services: [theirs] });
  assert.equal(reconcile(start).actions.filter((a) => a.kind === 'Service').length, 0);
  const final = converge(start);
  assert.deepEqual(final.services, [theirs]);
  const r = reconcile(final);
  assert.equal(r.linkAddress, undefined);
  const ready = findCondition(statusOf(r, 'Site', 'east')?.conditions, 'Ready');
  assert.equal(ready?.reason, 'ServiceConflict');
  assert.match(
    ready?.message ?? '',
    new RegExp(`Service ${LINK_ACCESS_SERVICE} exists and is not Caravan's`),
  );
});
