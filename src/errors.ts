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
  /** a peer's router id, site name or key does not match its certificate, or a proof of its key failed */
  PEER_IDENTITY: 'CARAVAN_PEER_IDENTITY',
  /** the HTTP proxy a link goes through refused or failed the CONNECT tunnel */
  LINK_PROXY: 'CARAVAN_LINK_PROXY',
  // flows
  NO_ROUTE: 'CARAVAN_NO_ROUTE',
  NO_CONNECTOR: 'CARAVAN_NO_CONNECTOR',
  TARGET_REFUSED: 'CARAVAN_TARGET_REFUSED',
  TARGET_UNREACHABLE: 'CARAVAN_TARGET_UNREACHABLE',
  FLOW_RESET: 'CARAVAN_FLOW_RESET',
  PATH_LOST: 'CARAVAN_PATH_LOST',
  /** a router refused to open the stream (a limit, or it is going away); nothing was processed */
  STREAM_REFUSED: 'CARAVAN_STREAM_REFUSED',
  // internal
  /** a state machine was asked for a move its table does not allow (a bug in the code driving it) */
  ILLEGAL_TRANSITION: 'CARAVAN_ILLEGAL_TRANSITION',
  // certificates, grants and tokens
  CERT: 'CARAVAN_CERT_ERROR',
  NO_LINK_ACCESS: 'CARAVAN_NO_LINK_ACCESS',
  TOKEN_INVALID: 'CARAVAN_TOKEN_INVALID',
  GRANT_UNKNOWN: 'CARAVAN_GRANT_UNKNOWN',
  GRANT_EXPIRED: 'CARAVAN_GRANT_EXPIRED',
  GRANT_USED_UP: 'CARAVAN_GRANT_USED_UP',
  GRANT_BAD_CODE: 'CARAVAN_GRANT_BAD_CODE',
  GRANT_UNREACHABLE: 'CARAVAN_GRANT_UNREACHABLE',
  LINK_REVOKED: 'CARAVAN_LINK_REVOKED',
  /** `caravan link revoke` named no link this site issued */
  LINK_NOT_FOUND: 'CARAVAN_LINK_NOT_FOUND',
  // sites and the CLI
  SITE_NOT_FOUND: 'CARAVAN_SITE_NOT_FOUND',
  SITE_EXISTS: 'CARAVAN_SITE_EXISTS',
  SITE_AMBIGUOUS: 'CARAVAN_SITE_AMBIGUOUS',
  SITE_RUNNING: 'CARAVAN_SITE_RUNNING',
  SITE_NOT_RUNNING: 'CARAVAN_SITE_NOT_RUNNING',
  USAGE: 'CARAVAN_USAGE',
  // answers of the local and remote HTTP APIs (admin API, console, grant server)
  /** the request is malformed (not JSON, missing fields, too large, wrong method) */
  BAD_REQUEST: 'CARAVAN_BAD_REQUEST',
  /** no such route or object */
  NOT_FOUND: 'CARAVAN_NOT_FOUND',
  /** an unexpected failure; its details stay in the log of the answering router, under the log id given */
  INTERNAL: 'CARAVAN_INTERNAL',
  // the Kubernetes API (src/kube)
  /** kubeconfig, in-cluster files or explicit settings missing or unusable */
  KUBE_CONFIG: 'CARAVAN_KUBE_CONFIG',
  /** the API server failed, could not be reached, or answered something unexpected */
  KUBE_API: 'CARAVAN_KUBE_API',
  KUBE_NOT_FOUND: 'CARAVAN_KUBE_NOT_FOUND',
  KUBE_ALREADY_EXISTS: 'CARAVAN_KUBE_ALREADY_EXISTS',
  /** an update carried a stale resourceVersion (409 Conflict) */
  KUBE_CONFLICT: 'CARAVAN_KUBE_CONFLICT',
  /** 422 Invalid: the object breaks the schema or a server rule */
  KUBE_INVALID: 'CARAVAN_KUBE_INVALID',
  KUBE_UNAUTHORIZED: 'CARAVAN_KUBE_UNAUTHORIZED',
  /** 403: the service account's Role does not allow the request */
  KUBE_FORBIDDEN: 'CARAVAN_KUBE_FORBIDDEN',
  /** 410: the resourceVersion is older than the server keeps (a watch relists) */
  KUBE_GONE: 'CARAVAN_KUBE_GONE',
  /** the caravan.dev CRDs are not installed in the cluster (404 on the group) */
  KUBE_NO_CRDS: 'CARAVAN_KUBE_NO_CRDS',
  /** the router did not write what a CLI verb waits for (a grant's URL, a redeemed token's Link) in time */
  KUBE_TIMEOUT: 'CARAVAN_KUBE_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * An error meant for users: its message says what happened in their terms and may be shown to whoever caused it
 * (the CLI prints it, the admin API, console and grant server answer it). Any other Error is internal: its text
 * stays in the log (see `publicError` in observe/public-error.ts).
 */
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
