/**
 * What AMQP message flows carry between routers (src/adapters/amqp/message-flow.ts): the message envelope one way,
 * the JSON outcome the other; and the settlement outcome read off a client's disposition (addresses.ts outcomeOf).
 */
import type { Delivery } from 'rhea';
import { outcomeOf } from '../../../src/adapters/amqp/addresses.js';
import {
  decodeMessageFlow,
  decodeOutcome,
  encodeMessageFlow,
  encodeOutcome,
} from '../../../src/adapters/amqp/message-flow.js';
import { CaravanError } from '../../../src/errors.js';
import { expectTyped, invariant } from '../harness.js';

export function fuzz(data: Buffer): void {
  const mode = (data[0] ?? 0) % 3;
  const body = data.subarray(1);
  expectTyped([CaravanError], () => {
    if (mode === 0) {
      const f = decodeMessageFlow(body);
      invariant(f.message.length === body.length - 2, 'message flow lost bytes');
      return;
    }
    if (mode === 1) {
      decodeOutcome(body);
      return;
    }
    // A disposition as rhea hands it over: a described state whose constructor names the outcome.
    let state: unknown;
    try {
      state = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (typeof state === 'object' && state !== null) {
      const kind = (state as { kind?: unknown }).kind;
      Object.defineProperty(state, 'constructor', { value: { composite_type: kind }, enumerable: false });
    }
    const o = outcomeOf({ remote_state: state } as unknown as Delivery);
    if (o !== undefined) decodeOutcome(encodeOutcome(o));
  });
}

export function seeds(): Buffer[] {
  const withMode = (m: number, b: Buffer): Buffer => Buffer.concat([Buffer.from([m]), b]);
  return [
    withMode(0, encodeMessageFlow(3, Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x02, 0x68, 0x69]))),
    withMode(1, encodeOutcome({ o: 'rejected', c: 'amqp:not-found', d: 'no such queue' })),
    withMode(1, encodeOutcome({ o: 'modified', f: true, u: false })),
    withMode(2, Buffer.from('{"kind":"rejected","error":{"condition":"amqp:internal-error"}}')),
    withMode(2, Buffer.from('{"kind":"modified","delivery_failed":true}')),
  ];
}
