/**
 * What AMQP message flows carry between routers (src/adapters/amqp/message-flow.ts): the message envelope one way,
 * the JSON outcome the other; and the settlement outcome read off a client's disposition (addresses.ts outcomeOf).
 */
import rhea, { type Delivery } from 'rhea';
import { outcomeOf } from '../../../src/adapters/amqp/addresses.js';
import { settleDelivery } from '../../../src/adapters/amqp/forward.js';
import {
  type Outcome,
  decodeMessageFlow,
  decodeOutcome,
  encodeMessageFlow,
  encodeOutcome,
} from '../../../src/adapters/amqp/message-flow.js';
import { CaravanError } from '../../../src/errors.js';
import { expectTyped, invariant, retyped } from '../harness.js';

/**
 * A client's delivery that is settled with an outcome from the network: encodes the disposition the way rhea
 * does when it sends it, so an outcome rhea cannot encode throws here as it would in the listener.
 */
type State = { described(): unknown };
/** The parts of rhea's encoder that its type declarations leave out. */
const amqp = rhea as unknown as {
  types: { Writer: new () => { write(v: unknown): void } };
  message: Record<'accepted' | 'released' | 'rejected' | 'modified', (info?: unknown) => State>;
};

function settleFake(o: Outcome): void {
  const encode = (state: State): void => new amqp.types.Writer().write(state.described());
  const d = {
    accept: () => encode(amqp.message.accepted()),
    release: () => encode(amqp.message.released()),
    reject: (error: unknown) => encode(amqp.message.rejected({ error })),
    modified: (info: unknown) => encode(amqp.message.modified(info)),
  };
  settleDelivery(d as unknown as Delivery, o);
}

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
      // The ingress listener settles the client's delivery with what the egress router answered.
      settleFake(decodeOutcome(retyped(body)));
      return;
    }
    // A disposition as rhea hands it over: a described state whose constructor names the outcome.
    let state: unknown;
    try {
      state = JSON.parse(retyped(body).toString('utf8'));
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
    withMode(
      1,
      Buffer.concat([Buffer.from([0]), encodeOutcome({ o: 'rejected', c: 'amqp:not-found', d: 'gone' })]),
    ),
    withMode(1, Buffer.concat([Buffer.from([0]), encodeOutcome({ o: 'modified', f: true, u: false })])),
    withMode(2, Buffer.from('\x00{"kind":"rejected","error":{"condition":"amqp:internal-error"}}')),
    withMode(2, Buffer.from('\x00{"kind":"modified","delivery_failed":true}')),
  ];
}
