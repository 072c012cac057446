// The API server stand-in (test/support/kube-apiserver) against the API conventions it claims to follow, over raw
// HTTPS (no client library), so that the tests of src/kube prove something about a real API server's behaviour.
// A stand-in, because no kube-apiserver can run here; what only a real cluster proves is listed in
// kube-api.test.ts.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import {
  ADMIN_TOKEN,
  addNamespace,
  addServiceAccount,
  startStandIn,
  widgetCrd,
  type JsonObject,
  type KubeApiServer,
} from '../support/kube-apiserver/index.js';
import { waitFor } from '../support/wait.js';

interface Answer {
  code: number;
  body: JsonObject;
}

let server: KubeApiServer;

function raw(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; contentType?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      `${server.url}${path}`,
      {
        method,
        ca: server.caPem!,
        agent: false, // a fresh connection each time: restarts and dropped connections must not hit a pooled socket
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text) as JsonObject }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A watch request: collects events until closed or ended by the server. */
function watch(path: string): { events: JsonObject[]; ended: Promise<void>; close(): void } {
  const events: JsonObject[] = [];
  let close = (): void => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { ca: server.caPem!, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      (res) => {
        assert.equal(res.statusCode, 200);
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)) as JsonObject);
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
      },
    );
    req.on('error', (e) => (e.message === 'socket hang up' ? resolve() : reject(e)));
    close = () => req.destroy();
    req.end();
  });
  return { events, ended, close };
}

const md = (o: JsonObject): JsonObject => o['metadata'] as JsonObject;
const cm = (ns: string): string => `/api/v1/namespaces/${ns}/configmaps`;

function assertStatus(a: Answer, code: number, reason: string): void {
  assert.equal(a.code, code, JSON.stringify(a.body));
  assert.equal(a.body['kind'], 'Status');
  assert.equal(a.body['status'], 'Failure');
  assert.equal(a.body['reason'], reason);
  assert.equal(a.body['code'], code);
  assert.equal(typeof a.body['message'], 'string');
}

describe('Kubernetes API stand-in conventions', () => {
  before(async () => {
    server = await startStandIn();
    addNamespace(server, 'ns');
  });
  after(() => server.close());

  test('discovery: /api, /api/v1, /apis, /apis/<group>/<version>, /version', async () => {
    assert.deepEqual((await raw('GET', '/api')).body['versions'], ['v1']);
    const core = await raw('GET', '/api/v1');
    const names = (core.body['resources'] as JsonObject[]).map((r) => r['name']);
    for (const n of [
      'configmaps',
      'secrets',
      'services',
      'services/status',
      'pods',
      'pods/status',
      'namespaces',
    ])
      assert.ok(names.includes(n), n);
    const groups = ((await raw('GET', '/apis')).body['groups'] as JsonObject[]).map((g) => g['name']);
    assert.deepEqual(groups.sort(), ['apiextensions.k8s.io', 'apps', 'rbac.authorization.k8s.io']);
    const apps = await raw('GET', '/apis/apps/v1');
    assert.equal(apps.body['groupVersion'], 'apps/v1');
    assert.equal((await raw('GET', '/version', { token: null })).code, 200);
    assert.equal((await raw('GET', '/apis/nope.example.com/v1')).code, 404);
  });

  test('401 without a known token, with a Status body', async () => {
    assertStatus(await raw('GET', cm('ns'), { token: null }), 401, 'Unauthorized');
    assertStatus(await raw('GET', cm('ns'), { token: 'wrong' }), 401, 'Unauthorized');
  });

  test('create sets uid, creationTimestamp, a globally increasing resourceVersion; 409 AlreadyExists; 404; 422', async () => {
    const a = await raw('POST', cm('ns'), { body: { metadata: { name: 'a' } } });
    assert.equal(a.code, 201);
    assert.match(String(md(a.body)['uid']), /^[0-9a-f-]{36}$/);
    assert.match(String(md(a.body)['creationTimestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const s = await raw('POST', '/api/v1/namespaces/ns/secrets', { body: { metadata: { name: 's' } } });
    assert.ok(
      Number(md(s.body)['resourceVersion']) > Number(md(a.body)['resourceVersion']),
      'one counter for all kinds',
    );
    const dup = await raw('POST', cm('ns'), { body: { metadata: { name: 'a' } } });
    assertStatus(dup, 409, 'AlreadyExists');
    assert.deepEqual(dup.body['details'], { name: 'a', group: '', kind: 'configmaps' });
    assertStatus(await raw('GET', `${cm('ns')}/missing`), 404, 'NotFound');
    assertStatus(await raw('POST', cm('no-such-ns'), { body: { metadata: { name: 'x' } } }), 404, 'NotFound');
    const bad = await raw('POST', cm('ns'), { body: { metadata: { name: 'Not_A_Name' } } });
    assertStatus(bad, 422, 'Invalid');
    assert.equal(
      ((bad.body['details'] as JsonObject)['causes'] as JsonObject[])[0]!['field'],
      'metadata.name',
    );
    assertStatus(await raw('POST', cm('ns'), { body: '{' }), 400, 'BadRequest');
  });

  test('update: stale resourceVersion → 409 Conflict; a no-op update keeps the resourceVersion', async () => {
    const x = (await raw('POST', cm('ns'), { body: { metadata: { name: 'u' }, data: { a: '1' } } })).body;
    const same = await raw('PUT', `${cm('ns')}/u`, { body: x });
    assert.equal(md(same.body)['resourceVersion'], md(x)['resourceVersion']);
    const next = await raw('PUT', `${cm('ns')}/u`, { body: { ...x, data: { a: '2' } } });
    assert.equal(next.code, 200);
    assertStatus(await raw('PUT', `${cm('ns')}/u`, { body: { ...x, data: { a: '3' } } }), 409, 'Conflict');
    // built-in kinds allow an unconditional update (no resourceVersion)
    const { resourceVersion: _rv, ...noRv } = md(next.body);
    assert.equal(
      (await raw('PUT', `${cm('ns')}/u`, { body: { ...next.body, metadata: noRv, data: { a: '4' } } })).code,
      200,
    );
  });

  test('patches: merge, JSON (with test), strategic as merge for built-ins, 415 for SSA', async () => {
    await raw('POST', cm('ns'), { body: { metadata: { name: 'p' }, data: { a: '1', b: '2' } } });
    const m = await raw('PATCH', `${cm('ns')}/p`, {
      body: { data: { a: null, c: '3' } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual(m.body['data'], { b: '2', c: '3' });
    const j = await raw('PATCH', `${cm('ns')}/p`, {
      body: [
        { op: 'test', path: '/data/b', value: '2' },
        { op: 'add', path: '/data/d', value: '4' },
        { op: 'remove', path: '/data/c' },
      ],
      contentType: 'application/json-patch+json',
    });
    assert.deepEqual(j.body['data'], { b: '2', d: '4' });
    const failed = await raw('PATCH', `${cm('ns')}/p`, {
      body: [{ op: 'test', path: '/data/b', value: 'x' }],
      contentType: 'application/json-patch+json',
    });
    assertStatus(failed, 422, 'Invalid');
    const sm = await raw('PATCH', `${cm('ns')}/p`, {
      body: { data: { e: '5' } },
      contentType: 'application/strategic-merge-patch+json',
    });
    assert.equal((sm.body['data'] as JsonObject)['e'], '5');
    assertStatus(
      await raw('PATCH', `${cm('ns')}/p`, { body: {}, contentType: 'application/apply-patch+yaml' }),
      415,
      'UnsupportedMediaType',
    );
    const stale = await raw('PATCH', `${cm('ns')}/p`, {
      body: { metadata: { resourceVersion: '1' }, data: { f: '1' } },
      contentType: 'application/merge-patch+json',
    });
    assertStatus(stale, 409, 'Conflict');
  });

  test('Services get a ClusterIP from the range (immutable), node ports, and a LoadBalancer status set by the test', async () => {
    const svc = (name: string, spec: JsonObject): Promise<Answer> =>
      raw('POST', '/api/v1/namespaces/ns/services', { body: { metadata: { name }, spec } });
    const a = (await svc('db', { ports: [{ port: 5432 }], selector: { app: 'db' } })).body;
    const spec = a['spec'] as JsonObject;
    assert.match(String(spec['clusterIP']), /^10\.96\.\d+\.\d+$/);
    assert.equal((spec['ports'] as JsonObject[])[0]!['targetPort'], 5432);
    const lb = (await svc('link', { type: 'LoadBalancer', ports: [{ port: 443 }] })).body;
    assert.notEqual((lb['spec'] as JsonObject)['clusterIP'], spec['clusterIP']);
    assert.ok(Number(((lb['spec'] as JsonObject)['ports'] as JsonObject[])[0]!['nodePort']) >= 30000);
    assert.deepEqual(lb['status'], { loadBalancer: {} });
    server.setLoadBalancerIngress('ns', 'link', [{ ip: '203.0.113.7' }]);
    const got = await raw('GET', '/api/v1/namespaces/ns/services/link');
    assert.deepEqual((got.body['status'] as JsonObject)['loadBalancer'], {
      ingress: [{ ip: '203.0.113.7' }],
    });
    assertStatus(
      await raw('PUT', '/api/v1/namespaces/ns/services/db', {
        body: { ...a, spec: { ...spec, clusterIP: '10.96.9.9' } },
      }),
      422,
      'Invalid',
    );
    assertStatus(await svc('taken', { clusterIP: spec['clusterIP']!, ports: [{ port: 1 }] }), 422, 'Invalid');
    assertStatus(await svc('outside', { clusterIP: '192.168.0.1', ports: [{ port: 1 }] }), 422, 'Invalid');
  });

  test('CRD schema: type, required, enum, pattern, maxLength, minimum/maximum enforced; status only through /status', async () => {
    const crd = await raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      body: widgetCrd(),
    });
    assert.equal(crd.code, 201);
    const base = '/apis/example.com/v1/namespaces/ns/widgets';
    const w = (name: string, spec: JsonObject, extra: JsonObject = {}): Promise<Answer> =>
      raw('POST', base, {
        body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name }, spec, ...extra },
      });
    const causes = async (spec: JsonObject): Promise<string[]> => {
      const a = await w('bad', spec);
      assertStatus(a, 422, 'Invalid');
      return ((a.body['details'] as JsonObject)['causes'] as JsonObject[]).map(
        (c) => `${String(c['field'])}:${String(c['reason'])}`,
      );
    };
    assert.deepEqual(await causes({ port: 1 }), ['spec.host:FieldValueRequired']);
    assert.deepEqual(await causes({ host: 'h', port: '1' }), ['spec.port:FieldValueTypeInvalid']);
    assert.deepEqual(await causes({ host: 'h', port: 0 }), ['spec.port:FieldValueInvalid']);
    assert.deepEqual(await causes({ host: 'h', port: 1, mode: 'udp' }), ['spec.mode:FieldValueNotSupported']);
    assert.deepEqual(await causes({ host: 'H!', port: 1 }), ['spec.host:FieldValueInvalid']);
    assert.deepEqual(await causes({ host: 'a'.repeat(64), port: 1 }), ['spec.host:FieldValueTooLong']);
    assert.deepEqual(await causes({ host: 'h', port: 1, labels: { a: 1 } }), [
      'spec.labels.a:FieldValueTypeInvalid',
    ]);
    const ok = await w('ok', { host: 'h', port: 1 }, { status: { ready: true } });
    assert.equal(ok.code, 201);
    assert.equal(ok.body['status'], undefined, 'create drops status with the subresource');
    assert.equal(md(ok.body)['generation'], 1);
    const st = await raw('PUT', `${base}/ok/status`, {
      body: { ...ok.body, spec: { host: 'x', port: 2 }, status: { ready: true } },
    });
    assert.deepEqual(st.body['status'], { ready: true });
    assert.equal((st.body['spec'] as JsonObject)['host'], 'h');
    assert.equal(md(st.body)['generation'], 1);
    assertStatus(
      await raw('PATCH', `${base}/ok/status`, {
        body: { status: { ready: 'yes' } },
        contentType: 'application/merge-patch+json',
      }),
      422,
      'Invalid',
    );
    assertStatus(
      await raw('PATCH', `${base}/ok`, {
        body: { spec: { port: 3 } },
        contentType: 'application/strategic-merge-patch+json',
      }),
      415,
      'UnsupportedMediaType',
    );
    const { resourceVersion: _rv, ...noRv } = md(st.body);
    assertStatus(await raw('PUT', `${base}/ok`, { body: { ...st.body, metadata: noRv } }), 422, 'Invalid');
    const items = (await raw('GET', base)).body['items'] as JsonObject[];
    assert.equal(items[0]!['kind'], 'Widget', 'custom resource list items carry their kind');
    // Deleting the CRD stops serving the kind.
    assert.equal(
      (await raw('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com'))
        .code,
      200,
    );
    assert.equal((await raw('GET', base)).code, 404);
  });

  test('selectors: label operators, field selectors, 400 for an unsupported field', async () => {
    addNamespace(server, 'sel');
    for (const [name, labels] of [
      ['a', { app: 'x', env: 'prod' }],
      ['b', { app: 'y' }],
      ['c', { env: 'dev' }],
    ] as const)
      await raw('POST', cm('sel'), { body: { metadata: { name, labels } } });
    const names = async (q: string): Promise<string> =>
      ((await raw('GET', `${cm('sel')}?${q}`)).body['items'] as JsonObject[])
        .map((o) => md(o)['name'])
        .join(',');
    assert.equal(await names('labelSelector=' + encodeURIComponent('app=x')), 'a');
    assert.equal(await names('labelSelector=' + encodeURIComponent('app==x')), 'a');
    assert.equal(await names('labelSelector=' + encodeURIComponent('app!=x')), 'b,c');
    assert.equal(await names('labelSelector=' + encodeURIComponent('env in (prod,dev),app')), 'a');
    assert.equal(await names('labelSelector=' + encodeURIComponent('env notin (prod)')), 'b,c');
    assert.equal(await names('labelSelector=' + encodeURIComponent('!app')), 'c');
    assert.equal(await names('fieldSelector=' + encodeURIComponent('metadata.name!=a')), 'b,c');
    assertStatus(await raw('GET', `${cm('sel')}?fieldSelector=data.x%3D1`), 400, 'BadRequest');
    assertStatus(
      await raw('GET', `${cm('sel')}?labelSelector=${encodeURIComponent('a b c')}`),
      400,
      'BadRequest',
    );
  });

  test('watch: synthetic ADDED, live events, resume from a resourceVersion, BOOKMARK, 410 after compaction, timeoutSeconds', async () => {
    addNamespace(server, 'watch');
    const first = (await raw('POST', cm('watch'), { body: { metadata: { name: 'one' } } })).body;
    const w = watch(`${cm('watch')}?watch=true&allowWatchBookmarks=true`);
    await waitFor(() => w.events.length === 1, { what: 'synthetic ADDED' });
    await raw('PATCH', `${cm('watch')}/one`, {
      body: { data: { k: 'v' } },
      contentType: 'application/merge-patch+json',
    });
    await raw('DELETE', `${cm('watch')}/one`);
    server.bookmark();
    await waitFor(() => w.events.length === 4, { what: 'events' });
    assert.deepEqual(
      w.events.map((e) => e['type']),
      ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'],
    );
    assert.equal((w.events[1]!['object'] as JsonObject)['kind'], 'ConfigMap');
    const rvs = w.events.map((e) => Number(md(e['object'] as JsonObject)['resourceVersion']));
    assert.ok(rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]! && rvs[2]! <= rvs[3]!);
    w.close();
    await w.ended;
    // Resume from the first object's resourceVersion: exactly the later events.
    const r = watch(
      `${cm('watch')}?watch=1&resourceVersion=${String(md(first)['resourceVersion'])}&timeoutSeconds=1`,
    );
    await r.ended;
    assert.deepEqual(
      r.events.map((e) => e['type']),
      ['MODIFIED', 'DELETED'],
      'timeoutSeconds ends the stream',
    );
    // After compaction, the same resume answers an ERROR event with a 410 Expired Status.
    server.compact();
    const gone = watch(`${cm('watch')}?watch=1&resourceVersion=${String(md(first)['resourceVersion'])}`);
    await gone.ended;
    assert.equal(gone.events.length, 1);
    assert.equal(gone.events[0]!['type'], 'ERROR');
    const st = gone.events[0]!['object'] as JsonObject;
    assert.equal(st['code'], 410);
    assert.equal(st['reason'], 'Expired');
    // A short history: resuming from before the kept window is 410 too.
    server.setHistoryLimit(2);
    const base = (await raw('POST', cm('watch'), { body: { metadata: { name: 'h0' } } })).body;
    for (const n of ['h1', 'h2', 'h3']) await raw('POST', cm('watch'), { body: { metadata: { name: n } } });
    const old = watch(`${cm('watch')}?watch=1&resourceVersion=${String(md(base)['resourceVersion'])}`);
    await old.ended;
    assert.equal((old.events[0]!['object'] as JsonObject)['code'], 410);
    server.setHistoryLimit(1000);
  });

  test('watch with a label selector: changes into and out of the selection are ADDED and DELETED', async () => {
    addNamespace(server, 'wsel');
    await raw('POST', cm('wsel'), { body: { metadata: { name: 'o', labels: { app: 'a' } } } });
    const w = watch(`${cm('wsel')}?watch=1&labelSelector=app%3Db`);
    await raw('PATCH', `${cm('wsel')}/o`, {
      body: { metadata: { labels: { app: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    await raw('PATCH', `${cm('wsel')}/o`, {
      body: { data: { x: '1' } },
      contentType: 'application/merge-patch+json',
    });
    await raw('PATCH', `${cm('wsel')}/o`, {
      body: { metadata: { labels: { app: 'c' } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor(() => w.events.length === 3, { what: 'events' });
    assert.deepEqual(
      w.events.map((e) => e['type']),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    w.close();
    await w.ended;
  });

  test('owner references: background deletion, several owners, Orphan; finalizers hold a delete', async () => {
    addNamespace(server, 'gc');
    const owner = (await raw('POST', cm('gc'), { body: { metadata: { name: 'owner' } } })).body;
    const other = (await raw('POST', cm('gc'), { body: { metadata: { name: 'other' } } })).body;
    const ref = (o: JsonObject): JsonObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: String(md(o)['name']),
      uid: String(md(o)['uid']),
    });
    await raw('POST', cm('gc'), { body: { metadata: { name: 'child', ownerReferences: [ref(owner)] } } });
    await raw('POST', cm('gc'), {
      body: {
        metadata: {
          name: 'grandchild',
          ownerReferences: [ref((await raw('GET', `${cm('gc')}/child`)).body)],
        },
      },
    });
    await raw('POST', cm('gc'), {
      body: { metadata: { name: 'shared', ownerReferences: [ref(owner), ref(other)] } },
    });
    await raw('DELETE', `${cm('gc')}/owner`);
    await waitFor(async () => (await raw('GET', `${cm('gc')}/grandchild`)).code === 404, { what: 'cascade' });
    await server.settled();
    assert.equal((await raw('GET', `${cm('gc')}/child`)).code, 404);
    const shared = await raw('GET', `${cm('gc')}/shared`);
    assert.deepEqual(
      (md(shared.body)['ownerReferences'] as JsonObject[]).map((r) => r['name']),
      ['other'],
    );
    await raw('POST', cm('gc'), { body: { metadata: { name: 'orphan', ownerReferences: [ref(other)] } } });
    await raw('DELETE', `${cm('gc')}/other?propagationPolicy=Orphan`);
    await server.settled();
    const orphan = await raw('GET', `${cm('gc')}/orphan`);
    assert.equal(orphan.code, 200);
    assert.equal(md(orphan.body)['ownerReferences'], undefined);
    // finalizers
    const f = (
      await raw('POST', cm('gc'), { body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } } })
    ).body;
    const del = await raw('DELETE', `${cm('gc')}/fin`);
    assert.equal(del.code, 200);
    assert.ok(md(del.body)['deletionTimestamp']);
    assert.equal((await raw('GET', `${cm('gc')}/fin`)).code, 200);
    const fw = watch(
      `${cm('gc')}?watch=1&fieldSelector=metadata.name%3Dfin&resourceVersion=${String(md(del.body)['resourceVersion'])}`,
    );
    await raw('PATCH', `${cm('gc')}/fin`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal((await raw('GET', `${cm('gc')}/fin`)).code, 404);
    await waitFor(() => fw.events.length === 1, { what: 'DELETED of the finalized object' });
    assert.equal(
      fw.events[0]!['type'],
      'DELETED',
      'removing the last finalizer deletes, with no MODIFIED first',
    );
    fw.close();
    await fw.ended;
    assert.ok(md(f)['uid']);
  });

  test('RBAC: Role rules by group, resource, subresource, verb and resourceNames; 403 Status otherwise', async () => {
    addNamespace(server, 'team');
    addServiceAccount(server, 'team', 'site', 'site-token', [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] },
    ]);
    server.put('', 'pods', { metadata: { name: 'p', namespace: 'team' }, spec: { containers: [] } });
    const as = (method: string, path: string, body?: unknown, contentType?: string): Promise<Answer> =>
      raw(method, path, { token: 'site-token', body, ...(contentType ? { contentType } : {}) });
    assert.equal((await as('GET', '/api/v1/namespaces/team/pods')).code, 200);
    assert.equal(
      (
        await as(
          'PATCH',
          '/api/v1/namespaces/team/pods/p/status',
          { status: { phase: 'Running' } },
          'application/merge-patch+json',
        )
      ).code,
      200,
    );
    const denied = await as(
      'PATCH',
      '/api/v1/namespaces/team/pods/p',
      { metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    );
    assertStatus(denied, 403, 'Forbidden');
    assert.match(String(denied.body['message']), /system:serviceaccount:team:site/);
    assert.equal(
      (await as('POST', '/apis/apps/v1/namespaces/team/deployments', { metadata: { name: 'd' }, spec: {} }))
        .code,
      201,
    );
    assertStatus(await as('GET', '/api/v1/namespaces/ns/pods'), 403, 'Forbidden');
    assertStatus(await as('GET', '/api/v1/pods'), 403, 'Forbidden');
    assertStatus(
      await as('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', {
        metadata: { name: 'r' },
        rules: [],
      }),
      403,
      'Forbidden',
    );
    assert.equal((await as('GET', '/apis')).code, 200, 'discovery is open to authenticated users');
  });

  test('RBAC escalation: a Role or RoleBinding may grant only what the requester holds, unless escalate/bind', async () => {
    addNamespace(server, 'esc');
    addServiceAccount(server, 'esc', 'ctl', 'ctl-token', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['roles', 'rolebindings'],
        verbs: ['create', 'update', 'patch', 'get'],
      },
    ]);
    const roles = '/apis/rbac.authorization.k8s.io/v1/namespaces/esc/roles';
    const bindings = '/apis/rbac.authorization.k8s.io/v1/namespaces/esc/rolebindings';
    const as = (method: string, path: string, body: unknown): Promise<Answer> =>
      raw(method, path, { token: 'ctl-token', body });
    const role = (name: string, rules: JsonObject[]): JsonObject => ({ metadata: { name }, rules });
    assert.equal(
      (
        await as(
          'POST',
          roles,
          role('reader', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]),
        )
      ).code,
      201,
    );
    const more = await as(
      'POST',
      roles,
      role('writer', [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'delete'] }]),
    );
    assertStatus(more, 403, 'Forbidden');
    assert.match(String(more.body['message']), /not currently held[\s\S]*Resources:\["secrets"\]/);
    assertStatus(
      await as('POST', roles, role('star', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }])),
      403,
      'Forbidden',
    );
    const bind = (name: string, roleName: string): JsonObject => ({
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: 'router', namespace: 'esc' }],
    });
    assert.equal((await as('POST', bindings, bind('router-reader', 'reader'))).code, 201);
    server.put('rbac.authorization.k8s.io', 'roles', {
      metadata: { name: 'admin', namespace: 'esc' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    });
    assertStatus(await as('POST', bindings, bind('router-admin', 'admin')), 403, 'Forbidden');
    // The bind verb on that Role lifts the check, as on a real cluster.
    server.put('rbac.authorization.k8s.io', 'roles', {
      metadata: { name: 'ctl', namespace: 'esc' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['roles', 'rolebindings'],
          verbs: ['create', 'update', 'patch', 'get'],
        },
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['roles'],
          verbs: ['bind'],
          resourceNames: ['admin'],
        },
      ],
    });
    assert.equal((await as('POST', bindings, bind('router-admin', 'admin'))).code, 201);
  });

  test('test hooks: pod readiness, injected 500s and dropped connections, restart keeping or losing state', async () => {
    addNamespace(server, 'hooks');
    server.put('', 'pods', {
      metadata: { name: 'r', namespace: 'hooks', labels: { app: 'redis' } },
      spec: { containers: [] },
    });
    assert.equal(
      ((await raw('GET', '/api/v1/namespaces/hooks/pods/r')).body['status'] as JsonObject)['phase'],
      'Pending',
    );
    server.setPodReady('hooks', 'r', true, '10.244.1.9');
    const pod = (await raw('GET', '/api/v1/namespaces/hooks/pods/r')).body;
    const status = pod['status'] as JsonObject;
    assert.equal(status['podIP'], '10.244.1.9');
    assert.ok(
      (status['conditions'] as JsonObject[]).some((c) => c['type'] === 'Ready' && c['status'] === 'True'),
    );
    assert.equal(md(pod)['generation'], 1, 'status changes keep the generation');
    const running = await raw(
      'GET',
      `/api/v1/namespaces/hooks/pods?fieldSelector=${encodeURIComponent('status.phase=Running')}`,
    );
    assert.equal((running.body['items'] as JsonObject[]).length, 1);
    server.injectFault({ kind: 500 });
    assertStatus(await raw('GET', cm('hooks')), 500, 'InternalError');
    server.injectFault({ kind: 'drop' });
    await assert.rejects(raw('GET', cm('hooks')));
    assert.equal((await raw('GET', cm('hooks'))).code, 200);
    const w = watch(`${cm('hooks')}?watch=1`);
    await waitFor(() => server.watchCount > 0, { what: 'watch open' });
    await server.restart({ keepState: true });
    await w.ended;
    assert.equal((await raw('GET', '/api/v1/namespaces/hooks/pods/r')).code, 200);
    await server.restart({ keepState: false });
    assert.equal((await raw('GET', '/api/v1/namespaces/hooks')).code, 404);
  });
});
