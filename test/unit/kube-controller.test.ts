// The controller of Kubernetes mode (src/kube/controller) on a ManualClock over an in-memory KubeApi: nothing is
// reconciled before every watch listed, events are coalesced into one reconcile at a time (re-run when events came
// meanwhile), the router's facts schedule reconciles, failures are counted and retried with backoff and never
// escape, 409s are handled, and stop() is final. The same controller against the API stand-in over real HTTP, with
// a real router process, is tested in test/integration/kube-site.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ErrorCodes } from '../../src/errors.js';
import { generateIdentity } from '../../src/identity.js';
import {
  objectKey,
  type KubeApi,
  type KubeObject,
  type ObjectList,
  type ResourceRef,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
} from '../../src/kube/api.js';
import {
  ActionApplier,
  KubeController,
  kindRef,
  SECRETS,
  SERVICES,
  type ControllerSink,
} from '../../src/kube/controller/index.js';
import { KubeApiError } from '../../src/kube/errors.js';
import {
  ROUTER_IDENTITY_SECRET,
  SECRET_KEYS,
  type ReconcileResult,
  type RouterFacts,
  type ServiceObject,
} from '../../src/kube/reconcile/index.js';
import { memoryLogger } from '../../src/observe/log.js';

const NS = 'shop';
const refKey = (r: ResourceRef): string => `${r.group}/${r.plural}`;

/** Objects by collection, with watches that see every write; `fail` makes the next matching call throw. */
class FakeApi implements KubeApi {
  readonly store = new Map<string, Map<string, KubeObject>>();
  private readonly watchers = new Map<string, Set<(ev: WatchEvent<KubeObject>) => void>>();
  private rv = 1;
  private uid = 1;
  readonly calls: string[] = [];
  readonly faults: Array<{ verb: string; plural: string; code: string; status: number }> = [];
  /** watches wait for this before they list (so a test can hold them back) */
  listGate: Promise<void> = Promise.resolve();

  private coll(ref: ResourceRef): Map<string, KubeObject> {
    let m = this.store.get(refKey(ref));
    if (!m) this.store.set(refKey(ref), (m = new Map()));
    return m;
  }
  private fault(verb: string, ref: ResourceRef): void {
    const i = this.faults.findIndex((f) => f.verb === verb && f.plural === ref.plural);
    if (i < 0) return;
    const [f] = this.faults.splice(i, 1);
    throw new KubeApiError(f!.code as never, `${verb} ${ref.plural}: injected`, f!.status, '');
  }
  private emit(ref: ResourceRef, ev: WatchEvent<KubeObject>): void {
    for (const w of this.watchers.get(refKey(ref)) ?? []) w(ev);
  }
  private write(ref: ResourceRef, obj: KubeObject, prev?: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.metadata = { ...o.metadata, namespace: NS, resourceVersion: String(++this.rv) };
    o.metadata.uid ??= `uid-${this.uid++}`;
    o.metadata.creationTimestamp ??= '2026-01-01T00:00:00Z';
    this.coll(ref).set(o.metadata.name!, o);
    this.emit(ref, prev ? { type: 'modified', object: o, previous: prev } : { type: 'added', object: o });
    return o;
  }
  /** A write by someone else (a user, another controller). */
  put(ref: ResourceRef, obj: KubeObject): KubeObject {
    return this.write(ref, obj, this.coll(ref).get(obj.metadata!.name!));
  }
  remove(ref: ResourceRef, name: string): void {
    const o = this.coll(ref).get(name);
    if (!o) return;
    this.coll(ref).delete(name);
    this.emit(ref, { type: 'deleted', object: o });
  }

  get<T extends KubeObject>(ref: ResourceRef, _ns: string, name: string): Promise<T> {
    this.calls.push(`get ${ref.plural}/${name}`);
    const o = this.coll(ref).get(name);
    if (!o) return Promise.reject(new KubeApiError(ErrorCodes.KUBE_NOT_FOUND, 'not found', 404, 'NotFound'));
    return Promise.resolve(structuredClone(o) as T);
  }
  list<T extends KubeObject>(ref: ResourceRef): Promise<ObjectList<T>> {
    return Promise.resolve({ resourceVersion: String(this.rv), items: [...this.coll(ref).values()] as T[] });
  }
  async create<T extends KubeObject>(ref: ResourceRef, _ns: string, obj: T): Promise<T> {
    this.calls.push(`create ${ref.plural}/${obj.metadata?.name}`);
    this.fault('create', ref);
    if (this.coll(ref).has(obj.metadata!.name!))
      throw new KubeApiError(ErrorCodes.KUBE_ALREADY_EXISTS, 'exists', 409, 'AlreadyExists');
    return this.write(ref, obj) as T;
  }
  async update<T extends KubeObject>(ref: ResourceRef, _ns: string, obj: T): Promise<T> {
    this.calls.push(`update ${ref.plural}/${obj.metadata?.name}`);
    this.fault('update', ref);
    const prev = this.coll(ref).get(obj.metadata!.name!);
    if (!prev) throw new KubeApiError(ErrorCodes.KUBE_NOT_FOUND, 'not found', 404, 'NotFound');
    if (obj.metadata?.resourceVersion !== prev.metadata?.resourceVersion)
      throw new KubeApiError(ErrorCodes.KUBE_CONFLICT, 'modified', 409, 'Conflict');
    return this.write(ref, obj, prev) as T;
  }
  async updateStatus<T extends KubeObject>(ref: ResourceRef, _ns: string, obj: T): Promise<T> {
    this.calls.push(`status ${ref.plural}/${obj.metadata?.name}`);
    this.fault('status', ref);
    const prev = this.coll(ref).get(obj.metadata!.name!);
    if (!prev) throw new KubeApiError(ErrorCodes.KUBE_NOT_FOUND, 'not found', 404, 'NotFound');
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== prev.metadata?.resourceVersion)
      throw new KubeApiError(ErrorCodes.KUBE_CONFLICT, 'modified', 409, 'Conflict');
    return this.write(
      ref,
      { ...prev, status: (obj as { status?: unknown }).status } as KubeObject,
      prev,
    ) as T;
  }
  patch<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('not used'));
  }
  async delete(ref: ResourceRef, _ns: string, name: string): Promise<void> {
    this.calls.push(`delete ${ref.plural}/${name}`);
    this.fault('delete', ref);
    if (!this.coll(ref).has(name))
      throw new KubeApiError(ErrorCodes.KUBE_NOT_FOUND, 'not found', 404, 'NotFound');
    this.remove(ref, name);
  }
  watch(ref: ResourceRef, _ns: string, opts: WatchOptions): WatchHandle {
    const objects = new Map<string, KubeObject>();
    let stopped = false;
    const set = this.watchers.get(refKey(ref)) ?? new Set();
    this.watchers.set(refKey(ref), set);
    const deliver = (ev: WatchEvent<KubeObject>): void => {
      if (stopped) return;
      if (ev.type === 'added' || ev.type === 'modified') objects.set(objectKey(ev.object), ev.object);
      if (ev.type === 'deleted') objects.delete(objectKey(ev.object));
      opts.onEvent(ev);
    };
    void this.listGate.then(() => {
      if (stopped) return;
      for (const o of this.coll(ref).values()) deliver({ type: 'added', object: o });
      deliver({ type: 'synced', resourceVersion: String(this.rv) });
      set.add(deliver);
    });
    return {
      objects,
      resourceVersion: '',
      state: 'watching',
      stats: { lists: 1, watches: 1, errors: 0 },
      stop: () => {
        stopped = true;
        set.delete(deliver);
      },
    };
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

class Sink implements ControllerSink {
  results: ReconcileResult[] = [];
  current: RouterFacts | undefined;
  gate: Promise<void> | undefined;
  failNext = 0;
  async apply(r: ReconcileResult): Promise<void> {
    this.results.push(r);
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('the router did not start');
    }
  }
  facts(): RouterFacts | undefined {
    return this.current;
  }
}

function setup(opts: { gateLists?: boolean } = {}) {
  const api = new FakeApi();
  const clock = new ManualClock();
  const sink = new Sink();
  const log = memoryLogger();
  let open: () => void = () => undefined;
  if (opts.gateLists) api.listGate = new Promise<void>((r) => (open = r));
  const c = new KubeController({
    api,
    namespace: NS,
    stateDir: '/nonexistent/state',
    routerPodLabels: { 'app.kubernetes.io/name': 'caravan-router' },
    clock,
    logger: log,
    sink,
    writeFiles: () => Promise.resolve([]),
    debounceMs: 50,
    factsPollMs: 1000,
    backoff: { initialMs: 400, maxMs: 3200 },
  });
  return { api, clock, sink, log, c, open: () => open() };
}

function cr(kind: 'Site' | 'Listener' | 'Connector', name: string, spec: unknown): KubeObject {
  return {
    apiVersion: 'caravan.dev/v1alpha1',
    kind,
    metadata: { name, namespace: NS, generation: 1 },
    spec,
  } as KubeObject;
}

function identitySecret(): KubeObject {
  const { pem } = generateIdentity('east');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ROUTER_IDENTITY_SECRET, namespace: NS },
    data: { [SECRET_KEYS.identity]: Buffer.from(pem).toString('base64') },
  } as KubeObject;
}

const conditions = (o: KubeObject | undefined): Record<string, string> =>
  Object.fromEntries(
    (
      (o as { status?: { conditions?: Array<{ type: string; status: string }> } })?.status?.conditions ?? []
    ).map((c) => [c.type, c.status]),
  );

test('nothing is reconciled before every watch listed; then the namespace converges and rests', async () => {
  const { api, clock, sink, c, open } = setup({ gateLists: true });
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  api.put(SECRETS, identitySecret());
  api.put(kindRef('Listener'), cr('Listener', 'web', { port: 8080, routingKey: 'web' }));
  c.start();
  clock.advance(100);
  await flush();
  assert.equal(c.stats.reconciles, 0, 'no reconcile on a half-read namespace');
  open();
  await flush();
  clock.advance(50);
  await flush();
  assert.equal(c.stats.reconciles, 1, 'one reconcile for the whole initial list');
  assert.ok(sink.results[0]?.config, 'the core gives a configuration');
  assert.ok(api.store.get('/services')?.has('web'), 'the Listener got its Service');
  assert.equal(conditions(api.store.get('caravan.dev/listeners')?.get('web')).Ready, 'Unknown');
  // the writes come back as events: one more reconcile, which finds nothing to do
  clock.advance(50);
  await flush();
  const n = c.stats.reconciles;
  const writes = api.calls.length;
  clock.advance(5000);
  await flush();
  assert.equal(api.calls.length, writes, 'a resting namespace gives no writes');
  assert.equal(c.stats.actionsFailed, 0);
  assert.ok(c.stats.reconciles >= n);
  await c.stop();
});

test('events during a reconcile give exactly one more reconcile after it', async () => {
  const { api, clock, sink, c } = setup();
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  api.put(SECRETS, identitySecret());
  c.start();
  await flush();
  let release: () => void = () => undefined;
  sink.gate = new Promise<void>((r) => (release = r));
  clock.advance(50);
  await flush();
  assert.equal(c.state, 'running');
  const before = c.stats.reconciles;
  for (let i = 0; i < 10; i++)
    api.put(kindRef('Listener'), cr('Listener', `l${i}`, { port: 9000 + i, routingKey: `k${i}` }));
  clock.advance(500);
  await flush();
  assert.equal(c.stats.reconciles, before, 'one reconcile at a time');
  sink.gate = undefined;
  release();
  await flush();
  clock.advance(50);
  await flush();
  assert.equal(c.stats.reconciles, before + 1, 'the ten events gave one reconcile');
  assert.equal(sink.results.at(-1)?.config?.listeners.length, 10);
  await c.stop();
});

test('a change of the router facts schedules a reconcile that writes Ready', async () => {
  const { api, clock, sink, c } = setup();
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  api.put(SECRETS, identitySecret());
  api.put(kindRef('Listener'), cr('Listener', 'web', { port: 8080, routingKey: 'web' }));
  c.start();
  await flush();
  for (let i = 0; i < 4; i++) {
    clock.advance(50);
    await flush();
  }
  const n = c.stats.reconciles;
  sink.current = { listeners: { web: { bound: true } }, connectorKeys: ['web'], links: {} };
  clock.advance(1000);
  await flush();
  clock.advance(50);
  await flush();
  assert.ok(c.stats.reconciles > n, 'the facts poll found a change');
  const l = api.store.get('caravan.dev/listeners')?.get('web');
  assert.deepEqual(
    { ready: conditions(l).Ready, matched: conditions(l).Matched },
    { ready: 'True', matched: 'True' },
  );
  await c.stop();
});

test('failed writes and a failing router start are counted and retried with backoff, never thrown', async () => {
  const { api, clock, sink, c, log } = setup();
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  api.put(SECRETS, identitySecret());
  api.put(kindRef('Listener'), cr('Listener', 'web', { port: 8080, routingKey: 'web' }));
  for (let i = 0; i < 3; i++)
    api.faults.push({ verb: 'create', plural: 'services', code: ErrorCodes.KUBE_API, status: 500 });
  sink.failNext = 1;
  const attempts = (): number => api.calls.filter((x) => x === 'create services/web').length;
  c.start();
  await flush();
  clock.advance(50);
  await flush();
  assert.equal(attempts(), 1);
  assert.equal(c.stats.reconcileErrors, 1, 'the sink failure fails the reconcile');
  assert.ok(log.lines.some((l) => /action failed/.test(l)));
  // its own status writes came back as events: one re-run at once
  clock.advance(50);
  await flush();
  assert.equal(attempts(), 2);
  // then the retries wait for the backoff (400–800 ms, then 800–1600 ms), not the debounce
  clock.advance(350);
  await flush();
  assert.equal(attempts(), 2);
  clock.advance(450);
  await flush();
  assert.equal(attempts(), 3);
  clock.advance(750);
  await flush();
  assert.equal(attempts(), 3);
  clock.advance(850);
  await flush();
  assert.equal(attempts(), 4);
  assert.ok(api.store.get('/services')?.has('web'), 'the retry made the Service');
  assert.equal(c.stats.actionsFailed, 3);
  await c.stop();
});

test('stop() stops the watches and the timers: no reconcile after it', async () => {
  const { api, clock, c } = setup();
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  c.start();
  await flush();
  await c.stop();
  const n = c.stats.reconciles;
  api.put(kindRef('Listener'), cr('Listener', 'web', { port: 8080, routingKey: 'web' }));
  clock.advance(10_000);
  await flush();
  assert.equal(c.stats.reconciles, n);
  assert.equal(c.state, 'stopped');
});

test('applier: a Service update that conflicts is merged onto the fresh Service; status conflicts are stale', async () => {
  const api = new FakeApi();
  const applier = new ActionApplier(api, NS, memoryLogger());
  const observed = api.put(SERVICES, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { clusterIP: '10.96.0.9', ports: [{ port: 80 }] },
  } as KubeObject) as ServiceObject & KubeObject;
  // someone else writes it after the watch saw it
  api.put(SERVICES, { ...observed, metadata: { ...observed.metadata, labels: { team: 'a' } } } as KubeObject);
  const desired = {
    ...observed,
    metadata: { ...observed.metadata, labels: { 'app.kubernetes.io/managed-by': 'caravan-router' } },
    spec: { ...observed.spec, ports: [{ port: 8080 }], selector: { app: 'router' } },
  } as ServiceObject;
  const r = await applier.applyAll([{ op: 'update', kind: 'Service', object: desired }], []);
  assert.deepEqual(r, { applied: 1, failed: 0, stale: false });
  const now = api.store.get('/services')?.get('web') as ServiceObject & KubeObject;
  assert.equal(now.spec.ports?.[0]?.port, 8080);
  assert.equal(now.spec.clusterIP, '10.96.0.9');
  assert.deepEqual(Object.keys(now.metadata.labels ?? {}).sort(), ['app.kubernetes.io/managed-by', 'team']);

  api.put(kindRef('Listener'), cr('Listener', 'web', { port: 8080 }));
  const s = await applier.applyAll(
    [
      { op: 'status', kind: 'Listener', name: 'web', resourceVersion: '1', status: { conditions: [] } },
      { op: 'delete', kind: 'Service', name: 'gone' },
      {
        op: 'create',
        kind: 'Secret',
        object: { metadata: { name: 'x' } },
        generate: { kind: 'site-ca', commonName: 'x' },
      },
    ],
    [],
  );
  assert.deepEqual(
    s,
    { applied: 1, failed: 1, stale: true },
    'stale status; gone is done; no generator fails',
  );
});

test('AccessTokens: a redemption makes the Secret then the Link; a failure is reported once per token version', async () => {
  const api = new FakeApi();
  const clock = new ManualClock();
  const sink = new Sink();
  const tries: string[] = [];
  let refuse = true;
  const c = new KubeController({
    api,
    namespace: NS,
    stateDir: '/nonexistent/state',
    routerPodLabels: {},
    clock,
    logger: memoryLogger(),
    sink,
    writeFiles: () => Promise.resolve([]),
    redeem: ({ token, site, identityKey }) => {
      tries.push(token.metadata.name);
      assert.match(identityKey, /PRIVATE KEY/);
      if (refuse) return Promise.reject(new Error('grant used up'));
      return Promise.resolve({
        secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'caravan-link-t1', namespace: NS } },
        link: {
          apiVersion: 'caravan.dev/v1alpha1',
          kind: 'Link',
          metadata: {
            name: 't1',
            namespace: NS,
            ownerReferences: [
              {
                apiVersion: 'caravan.dev/v1alpha1',
                kind: 'Site',
                name: site.metadata.name,
                uid: site.metadata.uid ?? '',
              },
            ],
          },
          spec: { endpoints: [{ host: '127.0.0.1', port: 1 }] },
        },
      });
    },
  });
  api.put(kindRef('Site'), cr('Site', 'east', {}));
  api.put(SECRETS, identitySecret());
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const spec = { url: 'https://127.0.0.1:1/v1/grants/g', code: 'c', ca };
  api.put(kindRef('AccessToken'), { ...cr('Site', 't1', spec), kind: 'AccessToken' } as KubeObject);
  c.start();
  for (let i = 0; i < 6; i++) {
    await flush();
    clock.advance(60);
  }
  await flush();
  assert.deepEqual(tries, ['t1'], 'a refused token is not tried again while it is unchanged');
  const t = api.store.get('caravan.dev/accesstokens')?.get('t1');
  const ready = (
    t as { status?: { conditions?: Array<{ type: string; reason: string; message?: string }> } }
  ).status?.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready?.reason, 'RedeemFailed');
  assert.equal(ready?.message, 'grant used up');
  // the token is replaced (a new code): tried again, and this time redeemed
  refuse = false;
  api.put(kindRef('AccessToken'), { ...t!, spec: { ...spec, code: 'd' } } as KubeObject);
  for (let i = 0; i < 6; i++) {
    await flush();
    clock.advance(60);
  }
  await flush();
  assert.deepEqual(tries, ['t1', 't1']);
  const order = api.calls.filter((x) => /create (secrets\/caravan-link-t1|links\/t1)/.test(x));
  assert.deepEqual(order, ['create secrets/caravan-link-t1', 'create links/t1'], 'the Secret first');
  await c.stop();
});
