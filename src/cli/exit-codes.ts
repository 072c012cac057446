/**
 * Stable exit codes of the `caravan` CLI (documented in docs/cli.md). Scripts may rely on them.
 */
import { ErrorCodes, type ErrorCode } from '../errors.js';

export const ExitCodes = {
  OK: 0,
  /** anything else (I/O, internal) */
  ERROR: 1,
  /** bad command line */
  USAGE: 2,
  /** no such site, several sites and none chosen, or the site already exists */
  SITE: 3,
  /** a resource (file or command-line values) is invalid, or names something that does not exist; nothing was written */
  INVALID: 4,
  /** the site's router is not running (or is running when it must not be) */
  STATE: 5,
  /** access grants, tokens, certificates and link access */
  ACCESS: 6,
  /** the router did not answer as expected (admin API) */
  ROUTER: 7,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.USAGE]: ExitCodes.USAGE,
  [ErrorCodes.SITE_NOT_FOUND]: ExitCodes.SITE,
  [ErrorCodes.SITE_AMBIGUOUS]: ExitCodes.SITE,
  [ErrorCodes.SITE_EXISTS]: ExitCodes.SITE,
  [ErrorCodes.INVALID_RESOURCE]: ExitCodes.INVALID,
  [ErrorCodes.PORT_IN_USE]: ExitCodes.INVALID,
  [ErrorCodes.LINK_NOT_FOUND]: ExitCodes.INVALID,
  [ErrorCodes.SITE_RUNNING]: ExitCodes.STATE,
  [ErrorCodes.SITE_NOT_RUNNING]: ExitCodes.STATE,
  [ErrorCodes.CERT]: ExitCodes.ACCESS,
  [ErrorCodes.NO_LINK_ACCESS]: ExitCodes.ACCESS,
  [ErrorCodes.TOKEN_INVALID]: ExitCodes.ACCESS,
  [ErrorCodes.GRANT_UNKNOWN]: ExitCodes.ACCESS,
  [ErrorCodes.GRANT_EXPIRED]: ExitCodes.ACCESS,
  [ErrorCodes.GRANT_USED_UP]: ExitCodes.ACCESS,
  [ErrorCodes.GRANT_BAD_CODE]: ExitCodes.ACCESS,
  [ErrorCodes.GRANT_UNREACHABLE]: ExitCodes.ACCESS,
  [ErrorCodes.LINK_REVOKED]: ExitCodes.ACCESS,
  [ErrorCodes.TLS_REFUSED]: ExitCodes.ACCESS,
  [ErrorCodes.LINK_PROXY]: ExitCodes.ACCESS,
  [ErrorCodes.PROTOCOL]: ExitCodes.ROUTER,
  [ErrorCodes.LINK_CLOSED]: ExitCodes.ROUTER,
  [ErrorCodes.LINK_TIMEOUT]: ExitCodes.ROUTER,
  // --kube: no cluster or no Caravan in it is like no site; RBAC is access; the router's silence is the router
  [ErrorCodes.KUBE_CONFIG]: ExitCodes.SITE,
  [ErrorCodes.KUBE_NO_CRDS]: ExitCodes.SITE,
  [ErrorCodes.KUBE_NOT_FOUND]: ExitCodes.INVALID,
  [ErrorCodes.KUBE_ALREADY_EXISTS]: ExitCodes.INVALID,
  [ErrorCodes.KUBE_INVALID]: ExitCodes.INVALID,
  [ErrorCodes.KUBE_UNAUTHORIZED]: ExitCodes.ACCESS,
  [ErrorCodes.KUBE_FORBIDDEN]: ExitCodes.ACCESS,
  [ErrorCodes.KUBE_TIMEOUT]: ExitCodes.ROUTER,
};

export function exitCodeFor(code: string | undefined): number {
  if (code === undefined) return ExitCodes.ERROR;
  return BY_CODE[code as ErrorCode] ?? ExitCodes.ERROR;
}
