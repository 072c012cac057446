/**
 * Typed errors with stable codes. Codes are part of the public contract: logs, metrics, flow records and the
 * admin API report them, and the wire protocol carries the flow-level ones (see docs/design/wire.md).
 */
export const ErrorCodes = {
  // configuration / resources
  INVALID_RESOURCE: 'CARAVAN_INVALID_RESOURCE',
  CONFIG_IO: 'CARAVAN_CONFIG_IO',
  PORT_IN_USE: 'CARAVAN_PORT_IN_USE',
  // wire / links
  PROTOCOL: 'CARAVAN_PROTOCOL_ERROR',
  FLOW_CONTROL: 'CARAVAN_FLOW_CONTROL_ERROR',
  LINK_CLOSED: 'CARAVAN_LINK_CLOSED',
  LINK_TIMEOUT: 'CARAVAN_LINK_TIMEOUT',
  TLS_REFUSED: 'CARAVAN_TLS_REFUSED',
  // flows
  NO_ROUTE: 'CARAVAN_NO_ROUTE',
  NO_CONNECTOR: 'CARAVAN_NO_CONNECTOR',
  TARGET_REFUSED: 'CARAVAN_TARGET_REFUSED',
  TARGET_UNREACHABLE: 'CARAVAN_TARGET_UNREACHABLE',
  FLOW_RESET: 'CARAVAN_FLOW_RESET',
  PATH_LOST: 'CARAVAN_PATH_LOST',
  // certificates
  CERT: 'CARAVAN_CERT_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class CaravanError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaravanError';
    this.code = code;
  }
}

export function isCaravanError(e: unknown, code?: ErrorCode): e is CaravanError {
  return e instanceof CaravanError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
