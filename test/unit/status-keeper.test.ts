import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { StatusKeeper, type Observation } from '../../src/daemon/status-keeper.js';

const listening = { status: 'True', reason: 'Listening', message: 'bound 0.0.0.0:5432' } as const;
const matched = { status: 'True', reason: 'ConnectorFound', message: 'connectors at west' } as const;
const unmatched = { status: 'False', reason: 'NoConnector', message: 'no connector for db' } as const;

function listener(extra: Partial<Observation> = {}): Observation {
  return { kind: 'Listener', name: 'db', generation: 1, matched, running: listening, ...extra };
}

const get = (k: StatusKeeper, type: string, kind: 'Listener' | 'Connector' | 'Link' = 'Listener') =>
  k.conditions(kind, kind === 'Listener' ? 'db' : 'x')?.find((c) => c.type === type);

describe('StatusKeeper', () => {
  test('a valid, matched, bound listener is Configured, Matched and Ready, stamped by the clock', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const k = new StatusKeeper(clock);
    k.observe([listener()]);
    const conds = k.conditions('Listener', 'db') ?? [];
    assert.deepEqual(
      conds.map((c) => [c.type, c.status, c.reason, c.observedGeneration, c.lastTransitionTime]),
      [
        ['Configured', 'True', 'Valid', 1, '2026-01-01T00:00:00.000Z'],
        ['Matched', 'True', 'ConnectorFound', 1, '2026-01-01T00:00:00.000Z'],
        ['Ready', 'True', 'Ready', 1, '2026-01-01T00:00:00.000Z'],
      ],
    );
  });

  test('lastTransitionTime moves only when a status changes; observedGeneration follows the spec', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const k = new StatusKeeper(clock);
    k.observe([listener()]);
    clock.advance(60_000);
    const changed = k.observe([listener({ generation: 2 })]);
    assert.equal(changed.length, 1, 'a new generation is a change');
    assert.equal(get(k, 'Configured')?.observedGeneration, 2);
    assert.equal(get(k, 'Configured')?.lastTransitionTime, '2026-01-01T00:00:00.000Z');
    assert.equal(get(k, 'Ready')?.observedGeneration, 2);

    clock.advance(60_000);
    k.observe([listener({ generation: 2, matched: unmatched })]);
    assert.equal(get(k, 'Matched')?.status, 'False');
    assert.equal(get(k, 'Matched')?.lastTransitionTime, '2026-01-01T00:02:00.000Z');
    const ready = get(k, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'NoConnector');
    assert.equal(ready?.lastTransitionTime, '2026-01-01T00:02:00.000Z');
    assert.equal(get(k, 'Configured')?.lastTransitionTime, '2026-01-01T00:00:00.000Z');

    clock.advance(1000);
    assert.deepEqual(k.observe([listener({ generation: 2, matched: unmatched })]), [], 'nothing changed');
  });

  test('an invalid spec: Configured False naming the field, Ready False InvalidSpec, Matched Unknown', () => {
    const k = new StatusKeeper(new ManualClock());
    k.observe([listener({ generation: 3, invalid: 'spec.port: must be at most 65535 (got 70000)' })]);
    assert.equal(get(k, 'Configured')?.status, 'False');
    assert.equal(get(k, 'Configured')?.reason, 'InvalidSpec');
    assert.match(get(k, 'Configured')?.message ?? '', /spec\.port/);
    assert.equal(get(k, 'Matched')?.status, 'Unknown');
    assert.equal(get(k, 'Ready')?.status, 'False');
    assert.equal(get(k, 'Ready')?.reason, 'InvalidSpec');
    assert.equal(get(k, 'Ready')?.observedGeneration, 3);
  });

  test('the running state holds Ready back before Matched does: a taken port reads PortInUse', () => {
    const k = new StatusKeeper(new ManualClock());
    k.observe([
      listener({
        matched: unmatched,
        running: { status: 'False', reason: 'PortInUse', message: '0.0.0.0:5432 is already in use' },
      }),
    ]);
    assert.equal(get(k, 'Ready')?.status, 'False');
    assert.equal(get(k, 'Ready')?.reason, 'PortInUse');
    assert.equal(get(k, 'Configured')?.status, 'True');
  });

  test('a link carries Configured and Ready only; a resource no longer observed is forgotten', () => {
    const k = new StatusKeeper(new ManualClock());
    k.observe([
      { kind: 'Link', name: 'x', running: { status: 'Unknown', reason: 'Connecting', message: 'dialing' } },
      listener(),
    ]);
    assert.deepEqual(
      k.conditions('Link', 'x')?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Configured', 'True', 'Valid'],
        ['Ready', 'Unknown', 'Connecting'],
      ],
    );
    k.observe([listener()]);
    assert.equal(k.conditions('Link', 'x'), undefined);
    assert.equal(k.list().length, 1);
  });
});
