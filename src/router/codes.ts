import { ErrorCodes, type ErrorCode } from '../errors.js';

/**
 * Flow reset codes carried in RESET frames (u32). The numbering is part of the wire contract
 * (docs/design/wire.md, "Flow reset codes"); never renumber.
 */
const WIRE_CODES: ReadonlyArray<readonly [number, ErrorCode]> = [
  [1, ErrorCodes.FLOW_RESET],
  [2, ErrorCodes.NO_ROUTE],
  [3, ErrorCodes.NO_CONNECTOR],
  [4, ErrorCodes.TARGET_REFUSED],
  [5, ErrorCodes.TARGET_UNREACHABLE],
  [6, ErrorCodes.PATH_LOST],
  [7, ErrorCodes.PROTOCOL],
  [8, ErrorCodes.FLOW_CONTROL],
  [0xffff_0001, ErrorCodes.LINK_CLOSED],
];

const byNumber = new Map<number, ErrorCode>(WIRE_CODES.map(([n, c]) => [n, c]));
const byCode = new Map<ErrorCode, number>(WIRE_CODES.map(([n, c]) => [c, n]));

export function wireCode(code: ErrorCode): number {
  return byCode.get(code) ?? 1;
}

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
