/** Errors of the Kubernetes API, mapped from the Status objects the server answers to stable Caravan codes. */
import { CaravanError, ErrorCodes, type ErrorCode } from '../errors.js';

export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A failed API request: the HTTP status, the Status `reason`, and for 422 the causes (field + message). */
export class KubeApiError extends CaravanError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    readonly reason: string,
    readonly causes: KubeStatusCause[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'KubeApiError';
  }
}

function codeFor(httpStatus: number, reason: string): ErrorCode {
  if (httpStatus === 404) return ErrorCodes.KUBE_NOT_FOUND;
  if (httpStatus === 409)
    return reason === 'AlreadyExists' ? ErrorCodes.KUBE_ALREADY_EXISTS : ErrorCodes.KUBE_CONFLICT;
  if (httpStatus === 422) return ErrorCodes.KUBE_INVALID;
  if (httpStatus === 401) return ErrorCodes.KUBE_UNAUTHORIZED;
  if (httpStatus === 403) return ErrorCodes.KUBE_FORBIDDEN;
  if (httpStatus === 410) return ErrorCodes.KUBE_GONE;
  return ErrorCodes.KUBE_API;
}

/** The error for an answer with status >= 400; `body` is the raw response (a Status object when well-formed). */
export function errorFromResponse(httpStatus: number, body: string, what: string): KubeApiError {
  let status: { message?: unknown; reason?: unknown; details?: { causes?: unknown } } = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') status = parsed as typeof status;
  } catch {
    // not a Status object: keep the raw text as the message
  }
  const reason = typeof status.reason === 'string' ? status.reason : '';
  const text =
    typeof status.message === 'string' ? status.message : body.trim().slice(0, 200) || `HTTP ${httpStatus}`;
  const causes = Array.isArray(status.details?.causes) ? (status.details.causes as KubeStatusCause[]) : [];
  return new KubeApiError(codeFor(httpStatus, reason), `${what}: ${text}`, httpStatus, reason, causes);
}

/** The error for a request that got no answer (refused, reset, timed out, TLS failure). */
export function networkError(what: string, e: unknown): KubeApiError {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new KubeApiError(ErrorCodes.KUBE_API, `${what}: ${msg}`, 0, 'NetworkError', [], { cause: e });
}
