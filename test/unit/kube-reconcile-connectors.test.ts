import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCondition } from '../../src/api/conditions.js';
import { reconcile, type ObservedState, type PodObject } from '../../src/kube/reconcile/index.js';
import { applyActions, cr, observed, pod } from '../support/kube-objects.js';

function converge(state: ObservedState): ObservedState {
  for (let i = 0; i < 5; i++) {
    const r = reconcile(state);
    if (r.actions.length === 0) return state;
    state = applyActions(state, r.actions);
  }
  throw new Error('did not converge');
}

const redis = cr('Connector', 'redis', { selector: 'app=redis', port: 6379 });
const base = (pods: PodObject[]) => converge(observed([cr('Site', 'east', {}), redis], { pods }));
const targetsOf = (state: ObservedState) =>
  reconcile(state).config?.connectors.find((c) => c.metadata.name === 'redis')?.spec.targets;
const matched = (state: ObservedState) =>
  findCondition(reconcile(state).statuses.find((s) => s.name === 'redis')?.status.conditions, 'Matched');

test('a selector Connector targets the ready, running, not-deleting pods that match', () => {
  const pods = [
    pod('redis-1', { app: 'redis' }, '10.244.0.12'),
    pod('redis-0', { app: 'redis' }, '10.244.0.9'),
    pod('redis-2', { app: 'redis' }, '10.244.0.13', { ready: false }),
    pod('redis-3', { app: 'redis' }, '10.244.0.14', { phase: 'Pending' }),
    pod('redis-4', { app: 'redis' }, '10.244.0.15', { deleting: true }),
    pod('web-0', { app: 'web' }, '10.244.0.20'),
    { ...pod('redis-5', { app: 'redis' }, ''), status: { phase: 'Running' as const } },
  ];
  const other = pod('redis-x', { app: 'redis' }, '10.244.9.9');
  other.metadata.namespace = 'elsewhere';
  const state = base([...pods, other]);
  assert.deepEqual(targetsOf(state), [
    { host: '10.244.0.9', port: 6379 },
    { host: '10.244.0.12', port: 6379 },
  ]);
  const spec = reconcile(state).config?.connectors[0]?.spec;
  assert.equal(spec?.host, '10.244.0.9', 'host/port mirror the first target');
  const m = matched(state);
  assert.equal(m?.status, 'True');
  assert.equal(m?.message, '2 ready pods match selector app=redis');
});

test('targets follow pods becoming ready, not ready and going away', () => {
  let state = base([pod('redis-0', { app: 'redis' }, '10.244.0.9', { ready: false })]);
  assert.equal(targetsOf(state), undefined, 'no ready pod: the connector is not in the configuration');
  let m = matched(state);
  assert.equal(m?.status, 'False');
  assert.equal(m?.reason, 'NoReadyPods');
  assert.equal(m?.message, 'no ready pods match selector app=redis (1 matches but is not ready)');
  assert.equal(
    findCondition(reconcile(state).statuses.find((s) => s.name === 'redis')?.status.conditions, 'Ready')
      ?.status,
    'False',
  );

  const setPods = (pods: PodObject[]) => {
    state = converge({ ...state, pods });
  };
  setPods([pod('redis-0', { app: 'redis' }, '10.244.0.9'), pod('redis-1', { app: 'redis' }, '10.244.0.12')]);
  assert.deepEqual(
    targetsOf(state)?.map((t) => t.host),
    ['10.244.0.9', '10.244.0.12'],
  );
  const readySince = findCondition(
    state.resources.find((r) => r.metadata.name === 'redis')?.status?.conditions,
    'Matched',
  )?.lastTransitionTime;

  // one turns NotReady, then the other is being deleted
  setPods([
    pod('redis-0', { app: 'redis' }, '10.244.0.9', { ready: false }),
    pod('redis-1', { app: 'redis' }, '10.244.0.12'),
  ]);
  assert.deepEqual(
    targetsOf(state)?.map((t) => t.host),
    ['10.244.0.12'],
  );
  m = findCondition(state.resources.find((r) => r.metadata.name === 'redis')?.status?.conditions, 'Matched');
  assert.equal(m?.message, '1 ready pod matches selector app=redis');
  assert.equal(m?.lastTransitionTime, readySince, 'still True: the transition time stays');

  setPods([
    pod('redis-0', { app: 'redis' }, '10.244.0.9', { ready: false }),
    pod('redis-1', { app: 'redis' }, '10.244.0.12', { deleting: true }),
  ]);
  assert.equal(targetsOf(state), undefined);
  assert.equal(matched(state)?.status, 'False');
  // gone entirely
  setPods([]);
  assert.equal(matched(state)?.message, 'no ready pods match selector app=redis');
});

test('set-based object selectors work, and host keeps working', () => {
  const sel = cr('Connector', 'cache', {
    selector: {
      matchLabels: { app: 'redis' },
      matchExpressions: [{ key: 'role', operator: 'In', values: ['replica'] }],
    },
    port: 6379,
  });
  const byHost = cr('Connector', 'pg', { host: 'postgres', port: 5432 });
  const state = converge(
    observed([cr('Site', 'east', {}), sel, byHost], {
      pods: [
        pod('a', { app: 'redis', role: 'primary' }, '10.244.0.2'),
        pod('b', { app: 'redis', role: 'replica' }, '10.244.0.3'),
      ],
    }),
  );
  const r = reconcile(state);
  assert.deepEqual(r.config?.connectors.find((c) => c.metadata.name === 'cache')?.spec.targets, [
    { host: '10.244.0.3', port: 6379 },
  ]);
  const pg = r.config?.connectors.find((c) => c.metadata.name === 'pg');
  assert.equal(pg?.spec.host, 'postgres');
  assert.equal(pg?.spec.targets, undefined);
  const m = findCondition(r.statuses.find((s) => s.name === 'pg')?.status.conditions, 'Matched');
  assert.equal(m?.status, 'True');
  assert.equal(m?.reason, 'Host');
});

test('a selector with host, or a bad selector, is a Configured=False naming spec.selector', () => {
  const both = cr('Connector', 'both', { selector: 'app=redis', host: 'redis', port: 6379 });
  const badSel = cr('Connector', 'bad', {
    selector: { matchExpressions: [{ key: 'app', operator: 'Near', values: ['x'] }] },
    port: 6379,
  });
  const r = reconcile(observed([cr('Site', 'east', {}), both, badSel]));
  const conf = (n: string) =>
    findCondition(r.statuses.find((s) => s.name === n)?.status.conditions, 'Configured');
  assert.equal(conf('both')?.status, 'False');
  assert.equal(conf('both')?.message, 'spec.selector: give either selector or host/targets, not both');
  assert.match(
    conf('bad')?.message ?? '',
    /^spec\.selector\.matchExpressions\[0\]\.operator: must be one of/,
  );
});
