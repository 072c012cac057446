// KubeApi (src/kube) through the real @kubernetes/client-node over real HTTP(S), against the API server stand-in of
// test/support/kube-apiserver.
//
// Why a stand-in: no kube-apiserver binary or container engine can run on the machines these tests run on, and the
// client library ships no test server. The stand-in follows the published API conventions (resourceVersion,
// generation, the status subresource, 409/410/422 Status answers, watch streams, selectors, owner references,
// bearer tokens and namespace RBAC), so these tests prove that our client layer speaks the API correctly and that
// the watch loop survives expiry, server restarts and network errors.
//
// What only a real cluster would still prove: the RBAC escalation rules (a Role may grant only what its creator
// holds) and ClusterRoles; admission (webhooks, pod security, quotas); the real garbage collector
// (blockOwnerDeletion, foreground deletion, timing); Service ClusterIP/NodePort allocation and LoadBalancer status
// from a real cloud controller; EndpointSlices; pod scheduling, readiness and IPs from a kubelet; server-side apply
// and strategic merge patch; CRD validation beyond the subset the stand-in enforces (CEL, formats); real watch
// timeouts and bookmark frequency; and version skew between client and server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isCaravanError, ErrorCodes } from '../../src/errors.js';
import type { KubeObject, ResourceRef, WatchEvent, WatchHandle } from '../../src/kube/api.js';
import { ClientNodeKubeApi, connectKube } from '../../src/kube/client-node.js';
import { KubeApiError } from '../../src/kube/errors.js';
import {
  ADMIN_TOKEN,
  addNamespace,
  addServiceAccount,
  startStandIn,
  widgetCrd,
  type KubeApiServer,
} from '../support/kube-apiserver/index.js';
import { waitFor } from '../support/wait.js';

const CM: ResourceRef = { group: '', version: 'v1', plural: 'configmaps' };
const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods' };
const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets' };
const DEPLOY: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments' };
const CRDS: ResourceRef = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
};
const WIDGETS: ResourceRef = { group: 'example.com', version: 'v1', plural: 'widgets' };

const fast = { backoff: { initialMs: 20, maxMs: 200 }, watchTimeoutSeconds: { min: 300, max: 300 } };

function api(server: KubeApiServer, token = ADMIN_TOKEN): ClientNodeKubeApi {
  return connectKube({ mode: 'explicit', server: server.url, token, caPem: server.caPem! }, fast).api;
}

async function rejects(p: Promise<unknown>, code: string): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isCaravanError(e), `expected a CaravanError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e instanceof KubeApiError);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/**
 * Applies watch events to a map and records impossible sequences (an add of a known key, a change or delete of an
 * unknown one) in `problems` — recorded, not thrown, because the watch loop reports a throwing handler as an error.
 */
class Observed {
  readonly state = new Map<string, KubeObject>();
  readonly problems: string[] = [];
  readonly events: WatchEvent<KubeObject>[] = [];
  readonly errors: string[] = [];
  syncs = 0;
  readonly onEvent = (ev: WatchEvent<KubeObject>): void => {
    this.events.push(ev);
    if (ev.type === 'error') {
      this.errors.push(ev.error.code);
      return;
    }
    if (ev.type === 'synced') {
      this.syncs++;
      return;
    }
    const key = `${ev.object.metadata?.namespace}/${ev.object.metadata?.name}`;
    if (ev.type === 'added' && this.state.has(key)) this.problems.push(`duplicate add of ${key}`);
    if (ev.type !== 'added' && !this.state.has(key)) this.problems.push(`${ev.type} of unknown ${key}`);
    if (
      ev.type === 'modified' &&
      ev.previous.metadata?.resourceVersion === ev.object.metadata?.resourceVersion
    )
      this.problems.push(`repeated modify of ${key}`);
    if (ev.type === 'deleted') this.state.delete(key);
    else this.state.set(key, ev.object);
  };
  names(): string[] {
    return [...this.state.values()].map((o) => o.metadata!.name!).sort();
  }
  rvOf(name: string): string | undefined {
    return [...this.state.values()].find((o) => o.metadata?.name === name)?.metadata?.resourceVersion;
  }
}

function serverNames(server: KubeApiServer, ns: string): string[] {
  return server.store
    .list(server.type('', 'configmaps'), ns)
    .map((o) => String((o['metadata'] as { name: string }).name))
    .sort();
}

describe('KubeApi over client-node against the stand-in', () => {
  let server: KubeApiServer;
  let admin: ClientNodeKubeApi;
  const watches: WatchHandle[] = [];

  before(async () => {
    server = await startStandIn();
    addNamespace(server, 'site-a');
    admin = api(server);
  });
  after(async () => {
    for (const w of watches) w.stop();
    await server.close();
  });

  test('create, get, update, delete with typed errors for 404, 409 AlreadyExists and 409 Conflict', async () => {
    const created = await admin.create(CM, 'site-a', {
      metadata: { name: 'cfg' },
      data: { a: '1' },
    } as KubeObject);
    assert.match(created.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.ok(created.metadata!.creationTimestamp);
    const got = await admin.get<KubeObject & { data: Record<string, string> }>(CM, 'site-a', 'cfg');
    assert.deepEqual(got.data, { a: '1' });
    await rejects(admin.create(CM, 'site-a', { metadata: { name: 'cfg' } }), ErrorCodes.KUBE_ALREADY_EXISTS);
    const updated = await admin.update(CM, 'site-a', { ...got, data: { a: '2' } });
    assert.ok(Number(updated.metadata!.resourceVersion) > Number(got.metadata!.resourceVersion));
    const stale = await rejects(
      admin.update(CM, 'site-a', { ...got, data: { a: '3' } }),
      ErrorCodes.KUBE_CONFLICT,
    );
    assert.equal(stale.httpStatus, 409);
    assert.equal(stale.reason, 'Conflict');
    await admin.delete(CM, 'site-a', 'cfg');
    await rejects(admin.get(CM, 'site-a', 'cfg'), ErrorCodes.KUBE_NOT_FOUND);
    await rejects(admin.delete(CM, 'site-a', 'cfg'), ErrorCodes.KUBE_NOT_FOUND);
  });

  test('generation moves with the spec only; updateStatus writes only the status; main writes keep the status', async () => {
    const d = await admin.create<
      KubeObject & { spec: { replicas: number }; status?: { readyReplicas?: number } }
    >(DEPLOY, 'site-a', {
      metadata: { name: 'router' },
      spec: { replicas: 1 },
      status: { readyReplicas: 9 },
    } as KubeObject & {
      spec: { replicas: number };
    });
    assert.equal(d.metadata!.generation, 1);
    assert.equal(d.status, undefined, 'create ignores status when the kind has the status subresource');
    const labelled = await admin.patch<typeof d>(DEPLOY, 'site-a', 'router', {
      metadata: { labels: { x: 'y' } },
    });
    assert.equal(labelled.metadata!.generation, 1, 'a metadata change keeps the generation');
    const withStatus = await admin.updateStatus(DEPLOY, 'site-a', {
      ...labelled,
      spec: { replicas: 5 },
      status: { readyReplicas: 1 },
    });
    assert.equal(withStatus.metadata!.generation, 1, 'a status write keeps the generation');
    assert.equal(withStatus.spec.replicas, 1, 'a status write ignores the spec');
    assert.equal(withStatus.status?.readyReplicas, 1);
    const scaled = await admin.update(DEPLOY, 'site-a', {
      ...withStatus,
      spec: { replicas: 3 },
      status: { readyReplicas: 0 },
    });
    assert.equal(scaled.metadata!.generation, 2);
    assert.equal(scaled.status?.readyReplicas, 1, 'a main-resource write keeps the stored status');
    const jp = await admin.patch<typeof d>(
      DEPLOY,
      'site-a',
      'router',
      [{ op: 'replace', path: '/spec/replicas', value: 4 }],
      {
        type: 'json',
      },
    );
    assert.equal(jp.spec.replicas, 4);
    assert.equal(jp.metadata!.generation, 3);
    const sp = await admin.patch<typeof d>(
      DEPLOY,
      'site-a',
      'router',
      { status: { readyReplicas: 4 } },
      { status: true },
    );
    assert.equal(sp.status?.readyReplicas, 4);
    assert.equal(sp.metadata!.generation, 3);
  });

  test('list with label and field selectors, items carrying apiVersion and kind', async () => {
    addNamespace(server, 'sel');
    const pod = (name: string, labels: Record<string, string>): KubeObject =>
      ({ metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'x' }] } }) as KubeObject;
    await admin.create(PODS, 'sel', pod('redis-1', { app: 'redis', tier: 'cache' }));
    await admin.create(PODS, 'sel', pod('redis-2', { app: 'redis' }));
    await admin.create(PODS, 'sel', pod('web-1', { app: 'web', tier: 'front' }));
    server.setPodReady('sel', 'redis-1', true, '10.244.0.5');
    const names = async (o: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
      (await admin.list(PODS, 'sel', o)).items.map((p) => p.metadata!.name!).sort();
    assert.deepEqual(await names({ labelSelector: 'app=redis' }), ['redis-1', 'redis-2']);
    assert.deepEqual(await names({ labelSelector: 'app!=redis' }), ['web-1']);
    assert.deepEqual(await names({ labelSelector: 'tier in (cache,front)' }), ['redis-1', 'web-1']);
    assert.deepEqual(await names({ labelSelector: 'tier notin (cache)' }), ['redis-2', 'web-1']);
    assert.deepEqual(await names({ labelSelector: 'tier' }), ['redis-1', 'web-1']);
    assert.deepEqual(await names({ labelSelector: '!tier' }), ['redis-2']);
    assert.deepEqual(await names({ labelSelector: 'app=redis', fieldSelector: 'status.phase=Running' }), [
      'redis-1',
    ]);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name=web-1' }), ['web-1']);
    const list = await admin.list(PODS, 'sel');
    assert.ok(Number(list.resourceVersion) >= Number(list.items[0]!.metadata!.resourceVersion));
    assert.equal(list.items[0]!.kind, 'Pod');
    assert.equal(list.items[0]!.apiVersion, 'v1');
    await rejects(admin.list(PODS, 'sel', { fieldSelector: 'spec.bogus=1' }), ErrorCodes.KUBE_API);
  });

  test('a namespace-scoped service account gets 403 KUBE_FORBIDDEN for what its Role does not allow', async () => {
    addNamespace(server, 'rbac');
    addNamespace(server, 'other');
    addServiceAccount(server, 'rbac', 'caravan', 'sa-token', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['caravan-ca'] },
    ]);
    const sa = api(server, 'sa-token');
    await sa.create(CM, 'rbac', { metadata: { name: 'ok' } });
    assert.equal((await sa.list(CM, 'rbac')).items.length, 1);
    const denied = await rejects(sa.delete(CM, 'rbac', 'ok'), ErrorCodes.KUBE_FORBIDDEN);
    assert.match(denied.message, /cannot delete resource "configmaps"/);
    await rejects(sa.list(CM, 'other'), ErrorCodes.KUBE_FORBIDDEN);
    await rejects(sa.list(SECRETS, 'rbac'), ErrorCodes.KUBE_FORBIDDEN);
    await rejects(sa.get(SECRETS, 'rbac', 'caravan-ca'), ErrorCodes.KUBE_NOT_FOUND); // allowed, just absent
    await rejects(sa.get(SECRETS, 'rbac', 'other-secret'), ErrorCodes.KUBE_FORBIDDEN);
    await rejects(sa.list(CRDS, ''), ErrorCodes.KUBE_FORBIDDEN); // cluster-scoped: no ClusterRole
    await rejects(api(server, 'wrong-token').list(CM, 'rbac'), ErrorCodes.KUBE_UNAUTHORIZED);
    // A forbidden watch does not throw: it reports errors and keeps retrying.
    const seen = new Observed();
    const w = sa.watch(SECRETS, 'rbac', { onEvent: seen.onEvent });
    watches.push(w);
    await waitFor(() => seen.errors.length >= 2, { what: 'two forbidden watch errors' });
    assert.ok(seen.errors.every((c) => c === ErrorCodes.KUBE_FORBIDDEN));
    assert.equal(w.state === 'waiting' || w.state === 'listing', true);
    w.stop();
  });

  test('a CRD registered through the API serves its custom resources with schema validation and /status', async () => {
    await admin.create(CRDS, '', widgetCrd() as KubeObject);
    await waitFor(
      async () =>
        (
          await admin.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
            CRDS,
            '',
            'widgets.example.com',
          )
        ).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
      { what: 'CRD established' },
    );
    type Widget = KubeObject & {
      spec: Record<string, unknown>;
      status?: { ready?: boolean; observedGeneration?: number };
    };
    const w = await admin.create<Widget>(WIDGETS, 'site-a', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'db' },
      spec: { host: 'db.local', port: 5432, unknownField: 1 },
    } as Widget);
    assert.equal(w.metadata!.generation, 1);
    assert.equal(w.spec['mode'], 'tcp', 'defaults are applied');
    assert.equal(w.spec['unknownField'], undefined, 'unknown fields are pruned');
    const bad = await rejects(
      admin.create(WIDGETS, 'site-a', {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'bad' },
        spec: { host: 'UPPER', port: 'x', mode: 'udp' },
      } as Widget),
      ErrorCodes.KUBE_INVALID,
    );
    assert.deepEqual(bad.causes.map((c) => c.field).sort(), ['spec.host', 'spec.mode', 'spec.port']);
    const st = await admin.updateStatus<Widget>(WIDGETS, 'site-a', {
      ...w,
      spec: { host: 'changed', port: 1 },
      status: { ready: true, observedGeneration: 1 },
    });
    assert.equal(st.status?.ready, true);
    assert.equal(st.spec['host'], 'db.local');
    assert.equal(st.metadata!.generation, 1);
    await rejects(
      admin.update<Widget>(WIDGETS, 'site-a', {
        ...st,
        metadata: { ...st.metadata, resourceVersion: undefined },
      }),
      ErrorCodes.KUBE_INVALID,
    );
    const moved = await admin.patch<Widget>(WIDGETS, 'site-a', 'db', { spec: { port: 6000 } });
    assert.equal(moved.metadata!.generation, 2);
    assert.equal(moved.status?.ready, true);
    assert.equal((await admin.list<Widget>(WIDGETS, 'site-a')).items.length, 1);
    await admin.delete(WIDGETS, 'site-a', 'db');
    await rejects(admin.get(WIDGETS, 'site-a', 'db'), ErrorCodes.KUBE_NOT_FOUND);
  });

  test('deleting an owner deletes its dependents (garbage collection)', async () => {
    addNamespace(server, 'gc');
    const owner = await admin.create<KubeObject>(CM, 'gc', { metadata: { name: 'owner' } });
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner',
      uid: owner.metadata!.uid!,
      controller: true,
    };
    await admin.create(SECRETS, 'gc', { metadata: { name: 'child', ownerReferences: [ref] } } as KubeObject);
    await admin.create(SECRETS, 'gc', { metadata: { name: 'unrelated' } } as KubeObject);
    await admin.delete(CM, 'gc', 'owner');
    await waitFor(
      async () => {
        try {
          await admin.get(SECRETS, 'gc', 'child');
          return false;
        } catch (e) {
          return isCaravanError(e, ErrorCodes.KUBE_NOT_FOUND);
        }
      },
      { what: 'the dependent to be collected' },
    );
    assert.ok(await admin.get(SECRETS, 'gc', 'unrelated'));
  });
});

describe('the watch loop against the stand-in', () => {
  let server: KubeApiServer;
  let admin: ClientNodeKubeApi;
  const watches: WatchHandle[] = [];
  let n = 0;

  before(async () => {
    server = await startStandIn();
    admin = api(server);
  });
  after(async () => {
    for (const w of watches) w.stop();
    await server.close();
  });

  async function setup(): Promise<{ ns: string; seen: Observed; w: WatchHandle }> {
    const ns = `w${++n}`;
    addNamespace(server, ns);
    await admin.create(CM, ns, { metadata: { name: 'before' } });
    const seen = new Observed();
    const w = admin.watch(CM, ns, { onEvent: seen.onEvent });
    watches.push(w);
    await waitFor(() => w.state === 'watching' && seen.syncs === 1, { what: 'first sync' });
    return { ns, seen, w };
  }

  test('reports the initial list, then adds, changes and deletes in order', async () => {
    const { ns, seen, w } = await setup();
    await admin.create(CM, ns, { metadata: { name: 'a' } });
    await admin.patch(CM, ns, 'a', { data: { k: 'v' } });
    await admin.delete(CM, ns, 'before');
    await waitFor(
      () =>
        seen.names().join() === 'a' &&
        seen.rvOf('a') === w.objects.get(`${ns}/a`)?.metadata?.resourceVersion &&
        seen.events.some((e) => e.type === 'deleted'),
      { what: 'events' },
    );
    const kinds = seen.events.map((e) => e.type);
    assert.deepEqual(kinds, ['added', 'synced', 'added', 'modified', 'deleted']);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.problems, []);
    w.stop();
  });

  test('a watch that ends resumes from its resourceVersion without repeating events; bookmarks move it', async () => {
    const { ns, seen, w } = await setup();
    await admin.create(CM, ns, { metadata: { name: 'x' } });
    await waitFor(() => seen.names().includes('x'), { what: 'x' });
    const watchesBefore = server.requests.filter(
      (r) => r.path.includes('watch=true') && r.path.includes(`/namespaces/${ns}/`),
    ).length;
    server.endWatches();
    await admin.create(CM, ns, { metadata: { name: 'y' } });
    await waitFor(() => seen.names().includes('y'), { what: 'y after resume' });
    const resumed = server.requests.filter(
      (r) => r.path.includes('watch=true') && r.path.includes(`/namespaces/${ns}/`),
    );
    assert.ok(resumed.length > watchesBefore);
    assert.match(resumed.at(-1)!.path, /resourceVersion=\d+/);
    assert.equal(seen.syncs, 1, 'no relist was needed');
    assert.deepEqual(seen.errors, []);
    // A bookmark moves the resume point past changes in other namespaces.
    addNamespace(server, `${ns}-noise`);
    await admin.create(CM, `${ns}-noise`, { metadata: { name: 'n' } });
    const before = Number(w.resourceVersion);
    server.bookmark();
    await waitFor(() => Number(w.resourceVersion) > before, { what: 'bookmark' });
    assert.deepEqual(seen.problems, []);
    w.stop();
  });

  test('410 Gone → relist: nothing lost, nothing repeated, deletions during the gap reported', async () => {
    const { ns, seen, w } = await setup();
    await admin.create(CM, ns, { metadata: { name: 'keep' } });
    await admin.create(CM, ns, { metadata: { name: 'drop' } });
    await waitFor(() => seen.names().length === 3, { what: 'three objects' });
    // While the watch is cut (and its reconnects fail), changes happen and the history is compacted: the resume
    // answers 410 and the loop relists.
    server.injectFault({
      kind: 'drop',
      match: (m, p) => m === 'GET' && p.includes(`/namespaces/${ns}/configmaps?`) && p.includes('watch=true'),
      count: 1_000,
    });
    server.endWatches();
    await waitFor(() => w.state === 'waiting', { what: 'watch cut' });
    await admin.delete(CM, ns, 'drop');
    await admin.patch(CM, ns, 'keep', { data: { v: '2' } });
    await admin.create(CM, ns, { metadata: { name: 'new' } });
    server.compact();
    server.clearFaults();
    await waitFor(() => seen.syncs === 2 && w.state === 'watching', { what: 'relist after 410' });
    assert.deepEqual(seen.names(), serverNames(server, ns));
    assert.equal(w.stats.lists, 2, 'one relist');
    assert.ok(w.stats.errors >= 1, 'the dropped reconnects were counted');
    const keep = server.object('', 'configmaps', ns, 'keep')!['metadata'] as { resourceVersion: string };
    assert.equal(seen.rvOf('keep'), keep.resourceVersion);
    // After the relist, the watch goes on.
    await admin.create(CM, ns, { metadata: { name: 'after' } });
    await waitFor(() => seen.names().includes('after'), { what: 'event after relist' });
    assert.deepEqual(seen.names(), serverNames(server, ns));
    assert.deepEqual(seen.problems, []);
    w.stop();
  });

  test('an API server restart mid-watch: the loop reconnects (state kept) and relists (state lost)', async () => {
    const { ns, seen, w } = await setup();
    await server.restart({ keepState: true });
    await admin.create(CM, ns, { metadata: { name: 'after-restart' } });
    await waitFor(() => seen.names().includes('after-restart'), { what: 'event after a restart' });
    assert.equal(seen.syncs, 1);
    await server.restart({ keepState: false });
    addNamespace(server, ns);
    await admin.create(CM, ns, { metadata: { name: 'fresh' } });
    await waitFor(() => seen.names().join() === 'fresh', { what: 'relist after state loss' });
    assert.ok(seen.syncs >= 2);
    assert.deepEqual(seen.names(), serverNames(server, ns));
    assert.deepEqual(seen.problems, []);
    w.stop();
  });

  test('500s and dropped connections become error events; the loop backs off and recovers', async () => {
    const { ns, seen, w } = await setup();
    const mine = (m: string, p: string): boolean =>
      m === 'GET' && p.includes(`/namespaces/${ns}/configmaps?`);
    server.injectFault({ kind: 500, match: mine, count: 2 });
    server.injectFault({ kind: 'drop', match: mine, count: 1 });
    server.endWatches();
    await admin.create(CM, ns, { metadata: { name: 'late' } });
    await waitFor(() => seen.names().includes('late') && w.state === 'watching', { what: 'recovery' });
    assert.ok(seen.errors.length >= 3, `errors: ${seen.errors.join()}`);
    assert.ok(seen.errors.every((c) => c === ErrorCodes.KUBE_API));
    const errs = seen.events.filter((e) => e.type === 'error');
    assert.ok(errs.every((e) => e.type === 'error' && e.retryInMs <= 200 && e.retryInMs >= 10));
    assert.deepEqual(seen.problems, []);
    w.stop();
  });

  test('a label-selected watch sees objects enter and leave the selection', async () => {
    const ns = `w${++n}`;
    addNamespace(server, ns);
    const seen = new Observed();
    const w = admin.watch(PODS, ns, { labelSelector: 'app=redis', onEvent: seen.onEvent });
    watches.push(w);
    await waitFor(() => seen.syncs === 1, { what: 'sync' });
    await admin.create(PODS, ns, { metadata: { name: 'p', labels: { app: 'web' } } } as KubeObject);
    await admin.patch(PODS, ns, 'p', { metadata: { labels: { app: 'redis' } } });
    await waitFor(() => seen.names().join() === 'p', { what: 'enters' });
    await admin.patch(PODS, ns, 'p', { metadata: { labels: { app: 'web' } } });
    await waitFor(() => seen.names().length === 0, { what: 'leaves' });
    assert.deepEqual(seen.problems, []);
    w.stop();
  });
});

describe('connections', () => {
  test('explicit HTTPS with a pinned CA; in-cluster files; a kubeconfig file', async () => {
    const server = await startStandIn();
    const ca = { certPem: server.caPem! };
    const dir = mkdtempSync(join(tmpdir(), 'kube-sa-'));
    try {
      addNamespace(server, 'ns1');
      addServiceAccount(server, 'ns1', 'caravan', 'pod-token', [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['*'] },
      ]);
      const explicit = connectKube({
        mode: 'explicit',
        server: server.url,
        token: ADMIN_TOKEN,
        caPem: ca.certPem,
      }).api;
      assert.equal((await explicit.list(CM, 'ns1')).items.length, 0);
      const unpinned = connectKube({ mode: 'explicit', server: server.url, token: ADMIN_TOKEN }).api;
      const tlsFailure = await rejects(unpinned.list(CM, 'ns1'), ErrorCodes.KUBE_API);
      assert.equal(tlsFailure.httpStatus, 0, 'an unknown CA fails the TLS handshake');

      writeFileSync(join(dir, 'token'), 'pod-token\n');
      writeFileSync(join(dir, 'ca.crt'), ca.certPem);
      writeFileSync(join(dir, 'namespace'), 'ns1');
      const inCluster = connectKube({
        mode: 'in-cluster',
        dir,
        host: '127.0.0.1',
        port: String(server.port),
      });
      assert.equal(inCluster.namespace, 'ns1');
      await inCluster.api.create(CM, 'ns1', { metadata: { name: 'from-pod' } });
      await rejects(inCluster.api.list(SECRETS, 'ns1'), ErrorCodes.KUBE_FORBIDDEN);
      assert.throws(
        () => connectKube({ mode: 'in-cluster', dir: join(dir, 'nope'), host: '127.0.0.1' }),
        (e) => isCaravanError(e, ErrorCodes.KUBE_CONFIG),
      );

      const kubeconfig = join(dir, 'config');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: standin`,
          `  cluster: {server: "${server.url}", certificate-authority-data: "${Buffer.from(ca.certPem).toString('base64')}"}`,
          'users:',
          `- name: admin`,
          `  user: {token: "${ADMIN_TOKEN}"}`,
          'contexts:',
          '- name: standin',
          '  context: {cluster: standin, user: admin, namespace: ns1}',
          'current-context: standin',
          '',
        ].join('\n'),
      );
      const fromFile = connectKube({ mode: 'kubeconfig', file: kubeconfig });
      assert.equal(fromFile.namespace, 'ns1');
      assert.deepEqual(
        (await fromFile.api.list(CM, 'ns1')).items.map((o) => o.metadata?.name),
        ['from-pod'],
      );
      assert.throws(
        () => connectKube({ mode: 'kubeconfig', file: kubeconfig, context: 'nope' }),
        (e) => isCaravanError(e, ErrorCodes.KUBE_CONFIG),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });
});
