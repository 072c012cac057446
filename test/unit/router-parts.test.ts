/**
 * The router's parts without a router: flow error codes and their classes, the choice of a destination, the
 * in-process stream pair, and the codecs of flow headers and control messages. The router itself, built and
 * linked, is tested in router-limits, affinity-targets and the integration tests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../src/errors.js';
import { Backoff } from '../../src/backoff.js';
import { errorCodeOf, isRetryable, isTargetFailure, wireCode } from '../../src/router/codes.js';
import { chooseDestination } from '../../src/router/distribution.js';
import { createLocalPair } from '../../src/router/local-pair.js';
import {
  decodeControl,
  decodeFlowHeader,
  encodeControl,
  encodeFlowHeader,
} from '../../src/router/messages.js';
import type { FlowHeader } from '../../src/router/contract.js';

test('closest picks the lowest cost whatever the load', () => {
  const c = [
    { router: 'far', cost: 5, inFlight: 0 },
    { router: 'near', cost: 1, inFlight: 100 },
  ];
  assert.equal(chooseDestination(c, 'closest')?.router, 'near');
});

test('closest breaks cost ties by load, then by router id', () => {
  assert.equal(
    chooseDestination(
      [
        { router: 'b', cost: 2, inFlight: 3 },
        { router: 'a', cost: 2, inFlight: 4 },
      ],
      'closest',
    )?.router,
    'b',
  );
  assert.equal(
    chooseDestination(
      [
        { router: 'b', cost: 2, inFlight: 0 },
        { router: 'a', cost: 2, inFlight: 0 },
      ],
      'closest',
    )?.router,
    'a',
  );
});

test('balanced sends idle traffic to the nearest and overflow to farther destinations', () => {
  const near = { router: 'near', cost: 1, inFlight: 0 };
  const far = { router: 'far', cost: 3, inFlight: 0 };
  const picks: string[] = [];
  for (let i = 0; i < 10; i++) {
    const p = chooseDestination([near, far], 'balanced')!;
    p.inFlight++;
    picks.push(p.router);
  }
  assert.equal(picks[0], 'near');
  assert.equal(picks[1], 'near');
  assert.ok(picks.includes('far'), `far gets overflow: ${picks.join(',')}`);
  // score = cost + in-flight: after 10 flows near has 6 and far 4 (7 == 7)
  assert.equal(near.inFlight + far.inFlight, 10);
  assert.ok(Math.abs(near.inFlight + near.cost - (far.inFlight + far.cost)) <= 1);
});

test('no candidates gives no destination', () => {
  assert.equal(chooseDestination([], 'balanced'), undefined);
});

test('wire reset codes round-trip and classify retries', () => {
  for (const code of Object.values(ErrorCodes)) {
    const n = wireCode(code);
    assert.ok(Number.isInteger(n) && n > 0);
  }
  assert.equal(errorCodeOf(wireCode(ErrorCodes.TARGET_REFUSED)), ErrorCodes.TARGET_REFUSED);
  assert.equal(errorCodeOf(0xffff_0001), ErrorCodes.LINK_CLOSED);
  assert.equal(errorCodeOf(424242), ErrorCodes.FLOW_RESET, 'unknown codes map to a generic reset');
  assert.ok(isRetryable(ErrorCodes.PATH_LOST) && isRetryable(ErrorCodes.LINK_CLOSED));
  assert.ok(!isRetryable(ErrorCodes.PROTOCOL));
  assert.ok(isTargetFailure(ErrorCodes.TARGET_REFUSED) && !isTargetFailure(ErrorCodes.LINK_CLOSED));
});

test('flow headers and control messages round-trip; malformed ones are refused with typed errors', () => {
  const h: FlowHeader = {
    v: 1,
    fid: 'a/1',
    key: 'db.orders',
    dst: 'b',
    src: 'a',
    lis: 'db',
    client: '10.0.0.1:5555',
    proto: 'tcp',
    hops: 0,
  };
  assert.deepEqual(decodeFlowHeader(encodeFlowHeader(h)), h);
  const hi = { k: 'hi', id: 'a', mode: 'interior', site: 'a', cost: 3 } as const;
  assert.deepEqual(decodeControl(encodeControl(hi)), hi);
  const timed = { ...hi, hello: 1000, dead: 3000 };
  assert.deepEqual(decodeControl(encodeControl(timed)), timed, 'HELLO timers travel in hi');
  assert.throws(() => decodeControl(Buffer.from(JSON.stringify({ ...hi, hello: 0 }))), {
    code: ErrorCodes.PROTOCOL,
  });
  assert.deepEqual(
    decodeControl(encodeControl({ k: 'cost', cost: 7 })),
    { k: 'cost', cost: 7 },
    'a live cost change',
  );
  for (const bad of ['', 'null', '{"v":2}', '{"v":1,"fid":1}', '{'])
    assert.throws(() => decodeFlowHeader(Buffer.from(bad)), { code: ErrorCodes.PROTOCOL });
  for (const bad of [
    '[]',
    '{"k":"hi","id":"","mode":"interior","site":"x","cost":1}',
    '{"k":"zz"}',
    '{"k":"hi","id":"a","mode":"x","site":"a","cost":1}',
    '{"k":"cost"}',
    '{"k":"cost","cost":0}',
    '{"k":"cost","cost":2.5}',
    '{"k":"cost","cost":2147483648}',
  ])
    assert.throws(() => decodeControl(Buffer.from(bad)), { code: ErrorCodes.PROTOCOL });
});

test('local pair carries data, accept, half-close and flow control like a link stream', async () => {
  const [a, b] = createLocalPair();
  const got: Buffer[] = [];
  const accepted = new Promise<Buffer>((r) => a.once('accept', r));
  b.accept(Buffer.from('ok'));
  assert.equal((await accepted).toString(), 'ok');
  b.on('data', (d) => got.push(d));
  const big = Buffer.alloc(300 * 1024, 7);
  const more = a.write(big);
  assert.equal(more, false, 'writer is told to wait once a window is outstanding');
  const drained = new Promise<void>((r) => a.on('drain', r));
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(got).length, big.length);
  b.consumed(big.length);
  await drained;
  const closed = Promise.all([
    new Promise<void>((r) => a.once('close', () => r())),
    new Promise<void>((r) => b.once('close', () => r())),
  ]);
  const ended = new Promise<void>((r) => b.on('end', () => r()));
  a.end();
  await ended;
  b.end();
  await closed;
});

test('local pair reset reaches the other end', async () => {
  const [a, b] = createLocalPair();
  const reset = new Promise<[number, string]>((r) => b.on('reset', (c, why) => r([c, why])));
  a.reset(4, 'target refused');
  assert.deepEqual(await reset, [4, 'target refused']);
});

test('backoff grows exponentially with jitter, is capped, and resets', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  assert.deepEqual(
    [b.next(), b.next(), b.next(), b.next(), b.next(), b.next()],
    [100, 200, 400, 800, 1000, 1000],
  );
  b.reset();
  assert.equal(b.next(), 100);
  const j = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.equal(j.next(), 50, 'jitter can halve the delay');
});

test('a flow header whose affinity key is not a string is refused as malformed', () => {
  // Found while fuzzing: {"toString": 1} passed decodeFlowHeader, and the router's `${key}\0${aff}` threw a
  // TypeError out of the link's data handler.
  const base = {
    v: 1,
    fid: 'a/1',
    key: 'db',
    dst: 'b',
    src: 'a',
    lis: 'db',
    client: 'c:1',
    proto: 'tcp',
    hops: 0,
  };
  for (const aff of [{ toString: 1 }, null, 5, ['x'], true]) {
    assert.throws(() => decodeFlowHeader(Buffer.from(JSON.stringify({ ...base, aff }))), {
      code: ErrorCodes.PROTOCOL,
      message: 'flow header: aff must be a string',
    });
  }
  assert.equal(decodeFlowHeader(Buffer.from(JSON.stringify({ ...base, aff: '10.0.0.1' }))).aff, '10.0.0.1');
});
