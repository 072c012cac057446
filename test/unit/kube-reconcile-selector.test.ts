import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SelectorError,
  formatSelector,
  matches,
  parseSelector,
  parseSelectorString,
} from '../../src/kube/reconcile/index.js';

test('string selectors: equality, inequality, set-based, existence', () => {
  const redis = { app: 'redis', tier: 'cache', env: 'prod' };
  const cases: [string, boolean][] = [
    ['app=redis', true],
    ['app==redis', true],
    ['app=web', false],
    ['app!=web', true],
    ['app!=redis', false],
    ['env in (prod, stage)', true],
    ['env in (dev)', false],
    ['env notin (dev,test)', true],
    ['env notin (prod)', false],
    ['tier', true],
    ['canary', false],
    ['!canary', true],
    ['!tier', false],
    ['app=redis,tier=cache', true],
    ['app=redis,tier=web', false],
    ['app=redis, env in (prod,stage), !canary', true],
  ];
  for (const [sel, want] of cases) assert.equal(matches(parseSelectorString(sel), redis), want, sel);
  // a label that is absent satisfies != and notin, as in Kubernetes
  assert.equal(matches(parseSelectorString('color!=red'), redis), true);
  assert.equal(matches(parseSelectorString('color notin (red)'), redis), true);
  assert.equal(matches(parseSelectorString('app=redis'), undefined), false);
});

test('object selectors: matchLabels and matchExpressions are ANDed', () => {
  const reqs = parseSelector({
    matchLabels: { app: 'redis' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'stage'] },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(matches(reqs, { app: 'redis', env: 'stage' }), true);
  assert.equal(matches(reqs, { app: 'redis', env: 'dev' }), false);
  assert.equal(matches(reqs, { app: 'redis', env: 'prod', canary: 'yes' }), false);
  assert.equal(matches(reqs, { env: 'prod' }), false);
  assert.equal(formatSelector(reqs), 'app=redis,env in (prod,stage),!canary');
  assert.equal(formatSelector(parseSelector('app=redis')), 'app=redis');
});

test('bad selectors are refused with the field that is wrong', () => {
  const bad: [unknown, string][] = [
    [{ matchExpressions: [{ key: 'env', operator: 'Near', values: ['x'] }] }, 'matchExpressions[0].operator'],
    [{ matchExpressions: [{ key: 'env', operator: 'In' }] }, 'matchExpressions[0].values'],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] }, 'matchExpressions[0].values'],
    [{ matchLabels: { app: 'has space' } }, 'matchLabels.app'],
    [{ matchLabel: { app: 'redis' } }, 'matchLabel'],
    [{}, ''],
    ['', ''],
    ['app=redis,,tier=x', ''],
    ['app in prod', ''],
    [42, ''],
  ];
  for (const [sel, path] of bad) {
    assert.throws(
      () => parseSelector(sel),
      (e: unknown) => e instanceof SelectorError && e.path === path && e.code === 'CARAVAN_INVALID_RESOURCE',
      JSON.stringify(sel),
    );
  }
});
