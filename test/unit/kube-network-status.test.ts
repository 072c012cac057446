// The network summary a Kubernetes-mode router writes into its Site's status.network: bounded in size, written
// through the status subresource only when it changes and at most once per interval, on the manual clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworkSite } from '../../src/admin/network-view.js';
import { ManualClock } from '../../src/clock.js';
import { CaravanError, ErrorCodes } from '../../src/errors.js';
import type { KubeApi, PatchOptions } from '../../src/kube/api.js';
import { boundedNetwork, NetworkStatusWriter } from '../../src/kube/controller/index.js';
import { memoryLogger } from '../../src/observe/log.js';

const site = (name: string, self = false, keys: string[] = []): NetworkSite => ({
  site: name,
  router: `${name}-r`,
  mode: 'interior',
  reachable: true,
  self,
  links: [],
  services: keys.map((key) => ({ key, connectors: 1 })),
});

interface Patch {
  name: string;
  body: { status: { network: { updatedAt: string; sites: NetworkSite[]; omittedSites: number | null } } };
  opts: PatchOptions | undefined;
}

function fakeApi(failures = 0): { api: KubeApi; patches: Patch[] } {
  const patches: Patch[] = [];
  let fail = failures;
  const api = {
    patch: (_ref: unknown, _ns: string, name: string, body: unknown, opts?: PatchOptions) => {
      if (fail-- > 0) return Promise.reject(new CaravanError(ErrorCodes.KUBE_API, 'down'));
      patches.push({ name, body: body as Patch['body'], opts });
      return Promise.resolve({});
    },
  } as unknown as KubeApi;
  return { api, patches };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('written when it changes, at most once per interval, the latest view; a change undone writes nothing', async () => {
  const clock = new ManualClock();
  const { api, patches } = fakeApi();
  let view = [site('east', true, ['db']), site('hub')];
  const w = new NetworkStatusWriter({
    api,
    namespace: 'shop',
    clock,
    logger: memoryLogger(),
    read: () => ({ site: 'east', sites: view }),
    minIntervalMs: 5000,
    pollMs: 1000,
  }).start();
  clock.advance(1000);
  await settle();
  assert.equal(patches.length, 1);
  assert.equal(patches[0]!.name, 'east');
  assert.deepEqual(patches[0]!.opts, { type: 'merge', status: true });
  const first = patches[0]!.body.status.network;
  assert.deepEqual(
    first.sites.map((s) => s.site),
    ['east', 'hub'],
  );
  assert.equal(first.updatedAt, new Date(clock.now()).toISOString());
  assert.equal(first.omittedSites, null);

  // unchanged: nothing more, however long
  clock.advance(20_000);
  await settle();
  assert.equal(patches.length, 1);

  // after a quiet stretch a change is written at once
  view = [site('east', true, ['db']), site('hub'), site('west')];
  clock.advance(1000);
  await settle();
  assert.equal(patches.length, 2);
  // a change within the interval after a write waits for it, and the latest view is written
  view = [site('east', true, ['db', 'web']), site('hub'), site('west')];
  clock.advance(1000);
  await settle();
  assert.equal(w.state, 'pending');
  view = [site('east', true)];
  clock.advance(3000);
  await settle();
  assert.equal(patches.length, 2, 'held back until 5 s after the last write');
  clock.advance(1000);
  await settle();
  assert.equal(patches.length, 3);
  assert.deepEqual(
    patches[2]!.body.status.network.sites.map((s) => s.site),
    ['east'],
  );

  // changed and changed back before the timer: the pending write is dropped
  view = [site('east', true), site('hub')];
  clock.advance(1000);
  assert.equal(w.state, 'pending');
  view = [site('east', true)];
  clock.advance(1000);
  assert.equal(w.state, 'idle');
  clock.advance(10_000);
  await settle();
  assert.equal(patches.length, 3);
  await w.stop();
  assert.equal(clock.pending, 0, 'no timer left');
});

test('a failed write is retried, no sooner than the interval', async () => {
  const clock = new ManualClock();
  const { api, patches } = fakeApi(1);
  const log = memoryLogger();
  const w = new NetworkStatusWriter({
    api,
    namespace: 'shop',
    clock,
    logger: log,
    read: () => ({ site: 'east', sites: [site('east', true)] }),
    minIntervalMs: 5000,
    pollMs: 1000,
  }).start();
  clock.advance(1000);
  await settle();
  assert.equal(patches.length, 0);
  clock.advance(3000);
  await settle();
  assert.equal(patches.length, 0, 'not retried within the interval');
  clock.advance(2000);
  await settle();
  assert.equal(patches.length, 1);
  await w.stop();
});

test('the summary is bounded: this site first, at most N sites, links and services, names cut', () => {
  const limits = { sites: 3, links: 2, services: 2, text: 10 };
  const many = Array.from({ length: 6 }, (_, i) => ({
    ...site(`s${i}`, i === 4, ['a', 'b', 'c']),
    links: Array.from({ length: 5 }, (_, j) => ({ site: `l${j}`, router: `l${j}-r`, cost: j })),
  }));
  many.push({ ...site('x'.repeat(40)), router: 'y'.repeat(300) });
  const b = boundedNetwork(many, limits);
  assert.equal(b.sites.length, 3);
  assert.equal(b.omittedSites, 4);
  assert.equal(b.sites[0]!.site, 's4', 'this site first');
  assert.ok(b.sites.every((s) => s.links.length === 2 && s.services.length === 2));
  const long = boundedNetwork([{ ...site('x'.repeat(40)), router: 'y'.repeat(300) }], limits).sites[0]!;
  assert.equal(long.site.length, 10);
  assert.equal(long.router.length, 10);
  assert.equal(boundedNetwork([site('a')]).omittedSites, undefined);
  // the size of the default bounds stays small
  const big = Array.from({ length: 500 }, (_, i) => site(`site-${i}`, i === 0, ['k'.repeat(300)]));
  assert.ok(JSON.stringify(boundedNetwork(big)).length < 200_000);
});
