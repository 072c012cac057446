/**
 * What an AMQP message flow carries (docs/design/adapters.md, "amqp"). One message is one flow:
 * - ingress -> egress: `[version 1][flags][AMQP-encoded message]`, sent as early data behind OPEN, then FIN;
 * - egress -> ingress: one JSON outcome (`{"o":"accepted"}`, `{"o":"rejected","c":…,"d":…}`, `{"o":"released"}`,
 *   `{"o":"modified","f":…,"u":…}`), then FIN.
 */
import { CaravanError, ErrorCodes } from '../../errors.js';

export const MESSAGE_FLOW_VERSION = 1;
export const FLAG_MULTICAST = 1;
export const FLAG_PRESETTLED = 2;
/** a message (encoded) larger than this is refused */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type Outcome =
  | { o: 'accepted' }
  | { o: 'rejected'; c?: string; d?: string }
  | { o: 'released' }
  | { o: 'modified'; f?: boolean; u?: boolean };

export function encodeMessageFlow(flags: number, message: Buffer): Buffer {
  const head = Buffer.from([MESSAGE_FLOW_VERSION, flags]);
  return Buffer.concat([head, message]);
}

export function decodeMessageFlow(buf: Buffer): { flags: number; message: Buffer } {
  if (buf.length < 3 || buf[0] !== MESSAGE_FLOW_VERSION)
    throw new CaravanError(
      ErrorCodes.PROTOCOL,
      `not an AMQP message flow (version ${buf[0] ?? 'missing'}, ${buf.length} bytes)`,
    );
  return { flags: buf[1] ?? 0, message: buf.subarray(2) };
}

export function encodeOutcome(o: Outcome): Buffer {
  return Buffer.from(JSON.stringify(o));
}

export function decodeOutcome(buf: Buffer): Outcome {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new CaravanError(ErrorCodes.PROTOCOL, 'malformed AMQP outcome');
  }
  const r = v as { o?: unknown; c?: unknown; d?: unknown; f?: unknown; u?: unknown } | null;
  const o = r?.o;
  // The fields are checked and copied: the listener hands them to the AMQP encoder when it settles the client's
  // delivery, and a number where a string belongs throws there.
  const typed = (field: 'c' | 'd' | 'f' | 'u', type: 'string' | 'boolean'): void => {
    const x = r?.[field];
    if (x !== undefined && typeof x !== type)
      throw new CaravanError(ErrorCodes.PROTOCOL, `malformed AMQP outcome: ${field} must be a ${type}`);
  };
  if (o === 'accepted' || o === 'released') return { o };
  if (o === 'rejected') {
    typed('c', 'string');
    typed('d', 'string');
    const out: Outcome = { o };
    if (typeof r?.c === 'string') out.c = r.c;
    if (typeof r?.d === 'string') out.d = r.d;
    return out;
  }
  if (o === 'modified') {
    typed('f', 'boolean');
    typed('u', 'boolean');
    const out: Outcome = { o };
    if (typeof r?.f === 'boolean') out.f = r.f;
    if (typeof r?.u === 'boolean') out.u = r.u;
    return out;
  }
  throw new CaravanError(ErrorCodes.PROTOCOL, `unknown AMQP outcome ${JSON.stringify(o)}`);
}
