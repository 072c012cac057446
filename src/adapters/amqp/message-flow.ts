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
  const o = (v as { o?: unknown } | null)?.o;
  if (o === 'accepted' || o === 'released' || o === 'rejected' || o === 'modified') return v as Outcome;
  throw new CaravanError(ErrorCodes.PROTOCOL, `unknown AMQP outcome ${JSON.stringify(o)}`);
}
