import { ErrorCodes, type ErrorCode } from '../errors.js';

/**
 * The u32 codes of RESET frames, as the router reads and writes them (docs/design/wire.md §9, ADR 0006).
 *
 * Two ranges share the field. Codes 0–5 belong to the mux (NO_ERROR, PROTOCOL, FLOW_CONTROL, REFUSED, CANCEL,
 * INTERNAL): the session itself sends them, and the router sends PROTOCOL, FLOW_CONTROL and REFUSED with the same
 * meaning. Codes from 0x100 are the router's own flow errors. 0xFFFF0001 (LINK_CLOSED) is never on the wire: the
 * session reports it locally when the link died under a stream. The numbering is part of the wire contract;
 * never renumber.
 */
/**
 * The mux's own codes (src/links/mux/frame.ts, MuxErrorCodes; the router does not import the link layer, a unit
 * test keeps the two equal).
 */
export const MuxResetCodes = {
  NO_ERROR: 0,
  PROTOCOL: 1,
  FLOW_CONTROL: 2,
  REFUSED: 3,
  CANCEL: 4,
  INTERNAL: 5,
  LINK_CLOSED: 0xffff_0001,
} as const;

export const FlowResetCodes = {
  FLOW_RESET: 0x100,
  NO_ROUTE: 0x101,
  NO_CONNECTOR: 0x102,
  TARGET_REFUSED: 0x103,
  TARGET_UNREACHABLE: 0x104,
  PATH_LOST: 0x105,
} as const;

/** Flow error codes with a number of their own: encoding and decoding are inverse for these. */
const WIRE_CODES: ReadonlyArray<readonly [number, ErrorCode]> = [
  [MuxResetCodes.PROTOCOL, ErrorCodes.PROTOCOL],
  [MuxResetCodes.FLOW_CONTROL, ErrorCodes.FLOW_CONTROL],
  [MuxResetCodes.REFUSED, ErrorCodes.STREAM_REFUSED],
  [FlowResetCodes.FLOW_RESET, ErrorCodes.FLOW_RESET],
  [FlowResetCodes.NO_ROUTE, ErrorCodes.NO_ROUTE],
  [FlowResetCodes.NO_CONNECTOR, ErrorCodes.NO_CONNECTOR],
  [FlowResetCodes.TARGET_REFUSED, ErrorCodes.TARGET_REFUSED],
  [FlowResetCodes.TARGET_UNREACHABLE, ErrorCodes.TARGET_UNREACHABLE],
  [FlowResetCodes.PATH_LOST, ErrorCodes.PATH_LOST],
  [MuxResetCodes.LINK_CLOSED, ErrorCodes.LINK_CLOSED],
];

const byNumber = new Map<number, ErrorCode>(WIRE_CODES.map(([n, c]) => [n, c]));
const byCode = new Map<ErrorCode, number>(WIRE_CODES.map(([n, c]) => [c, n]));

/** The RESET code for a flow error; an error code with no number of its own is sent as the generic FLOW_RESET. */
export function wireCode(code: ErrorCode): number {
  return byCode.get(code) ?? FlowResetCodes.FLOW_RESET;
}

/**
 * The flow error a received RESET code stands for. NO_ERROR, CANCEL, INTERNAL and every code this router does not
 * know (a newer peer's, or an older peer's from before ADR 0006) read as the generic FLOW_RESET, which is never
 * retried: an unknown failure ends the flow instead of replaying it elsewhere.
 */
export function errorCodeOf(wire: number): ErrorCode {
  return byNumber.get(wire) ?? ErrorCodes.FLOW_RESET;
}

/** Failures before a flow is established after which the ingress router tries another destination. */
export function isRetryable(code: ErrorCode): boolean {
  return (
    code === ErrorCodes.NO_ROUTE ||
    code === ErrorCodes.NO_CONNECTOR ||
    code === ErrorCodes.TARGET_REFUSED ||
    code === ErrorCodes.TARGET_UNREACHABLE ||
    code === ErrorCodes.PATH_LOST ||
    code === ErrorCodes.STREAM_REFUSED ||
    code === ErrorCodes.LINK_CLOSED
  );
}

/** Failures that say something about the destination router itself (not the path to it). */
export function isTargetFailure(code: ErrorCode): boolean {
  return (
    code === ErrorCodes.TARGET_REFUSED ||
    code === ErrorCodes.TARGET_UNREACHABLE ||
    code === ErrorCodes.NO_CONNECTOR
  );
}

/** Failures where the far side processed nothing of the flow, so early data may be replayed elsewhere. */
export function isUnprocessed(code: ErrorCode): boolean {
  return isTargetFailure(code) || code === ErrorCodes.NO_ROUTE || code === ErrorCodes.STREAM_REFUSED;
}
