import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeMessageFlow,
  decodeOutcome,
  encodeMessageFlow,
  encodeOutcome,
  FLAG_MULTICAST,
  FLAG_PRESETTLED,
  type Outcome,
} from '../../src/adapters/amqp/message-flow.js';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';

test('amqp message flow: flags and message bytes round-trip', () => {
  const msg = Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x02, 0x68, 0x69]);
  for (const flags of [0, FLAG_MULTICAST, FLAG_PRESETTLED, FLAG_MULTICAST | FLAG_PRESETTLED]) {
    const d = decodeMessageFlow(encodeMessageFlow(flags, msg));
    assert.equal(d.flags, flags);
    assert.deepEqual(d.message, msg);
  }
});

test('amqp message flow: a wrong version or a short payload is a PROTOCOL error', () => {
  for (const bad of [Buffer.alloc(0), Buffer.from([1, 0]), Buffer.from([2, 0, 0x53])]) {
    assert.throws(
      () => decodeMessageFlow(bad),
      (e: unknown) => isCaravanError(e, ErrorCodes.PROTOCOL),
    );
  }
});

test('amqp outcomes round-trip; anything else is a PROTOCOL error, never a crash', () => {
  const outcomes: Outcome[] = [
    { o: 'accepted' },
    { o: 'released' },
    { o: 'rejected', c: 'amqp:not-found', d: 'no such thing' },
    { o: 'modified', f: true, u: false },
  ];
  for (const o of outcomes) assert.deepEqual(decodeOutcome(encodeOutcome(o)), o);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        const o = decodeOutcome(Buffer.from(bytes));
        return ['accepted', 'released', 'rejected', 'modified'].includes(o.o);
      } catch (e) {
        return isCaravanError(e, ErrorCodes.PROTOCOL);
      }
    }),
  );
  for (const bad of ['{"o":"lost"}', 'null', '[]', '"accepted"'])
    assert.throws(
      () => decodeOutcome(Buffer.from(bad)),
      (e: unknown) => isCaravanError(e, ErrorCodes.PROTOCOL),
    );
});

test('an outcome with a wrong-typed field is malformed, not handed to the AMQP encoder', () => {
  // Found by fuzzing: {"o":"rejected","c":2} was accepted, and settling the client's delivery with it threw a
  // TypeError from rhea's encoder in a promise callback of the listener (an unhandled rejection ends the router).
  for (const bad of [
    '{"o":"rejected","c":2}',
    '{"o":"rejected","c":"amqp:x","d":{}}',
    '{"o":"rejected","c":["a"]}',
    '{"o":"modified","f":"yes"}',
    '{"o":"modified","u":1}',
  ]) {
    assert.throws(
      () => decodeOutcome(Buffer.from(bad)),
      (e: unknown) => isCaravanError(e, ErrorCodes.PROTOCOL) && /must be a (string|boolean)/.test(e.message),
      bad,
    );
  }
  // Fields the outcome does not have are dropped.
  assert.deepEqual(decodeOutcome(Buffer.from('{"o":"accepted","c":5,"x":{}}')), { o: 'accepted' });
  assert.deepEqual(decodeOutcome(Buffer.from('{"o":"rejected","c":"amqp:x"}')), {
    o: 'rejected',
    c: 'amqp:x',
  });
});
