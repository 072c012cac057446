import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONFIGURED,
  MATCHED,
  READY,
  deriveReady,
  oneLine,
  sameConditions,
  setCondition,
} from '../../src/api/conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');

test('setCondition keeps lastTransitionTime while the status stays, moves it when the status changes', () => {
  let c = setCondition(
    undefined,
    { type: CONFIGURED, status: 'True', reason: 'Valid', observedGeneration: 1 },
    t0,
  );
  assert.equal(c[0]?.lastTransitionTime, t0.toISOString());
  c = setCondition(c, { type: CONFIGURED, status: 'True', reason: 'Valid', observedGeneration: 2 }, t1);
  assert.equal(c.length, 1);
  assert.equal(c[0]?.lastTransitionTime, t0.toISOString());
  assert.equal(c[0]?.observedGeneration, 2);
  c = setCondition(
    c,
    { type: CONFIGURED, status: 'False', reason: 'Invalid', message: 'spec.port: bad' },
    t1,
  );
  assert.equal(c[0]?.lastTransitionTime, t1.toISOString());
  assert.equal(c[0]?.message, 'spec.port: bad');
});

test('condition messages are one bounded line', () => {
  assert.equal(oneLine('a\nb\u001b[31m c '), 'a b [31m c');
  assert.equal(oneLine('x'.repeat(5000)).length, 1024);
});

test('Ready is False with the failing condition, Unknown while one is missing, True when all hold', () => {
  let c = setCondition(undefined, { type: CONFIGURED, status: 'True', reason: 'Valid' }, t0);
  assert.equal(deriveReady('Listener', c).status, 'Unknown');
  assert.equal(deriveReady('Site', c, 3).status, 'True');
  assert.equal(deriveReady('Site', c, 3).observedGeneration, 3);
  c = setCondition(
    c,
    { type: MATCHED, status: 'False', reason: 'NoConnector', message: 'no connector for db' },
    t0,
  );
  const r = deriveReady('Listener', c);
  assert.deepEqual(
    [r.type, r.status, r.reason, r.message],
    [READY, 'False', 'NoConnector', 'no connector for db'],
  );
  c = setCondition(c, { type: MATCHED, status: 'True', reason: 'Matched' }, t1);
  assert.equal(deriveReady('Listener', c).status, 'True');
});

test('sameConditions ignores order and sees any field change', () => {
  const a = setCondition(
    setCondition(undefined, { type: CONFIGURED, status: 'True', reason: 'Valid' }, t0),
    { type: READY, status: 'True', reason: 'Ready' },
    t0,
  );
  assert.ok(sameConditions(a, [...a].reverse()));
  assert.ok(!sameConditions(a, setCondition(a, { type: READY, status: 'True', reason: 'Other' }, t0)));
  assert.ok(!sameConditions(a, a.slice(1)));
});
