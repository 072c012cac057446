// Status objects of the stand-in API server: every failure answers a `kind: Status` body with `status: Failure`,
// a machine-readable `reason`, the HTTP `code` and `details` naming the object, as the API conventions require
// ("Response Status Kind", sig-architecture/api-conventions.md).

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'Timeout'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

/** A request the server refuses; `toStatus()` is the body it answers. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

export function statusObject(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
): JsonObject {
  const out: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) out['details'] = JSON.parse(JSON.stringify(details)) as JsonObject;
  return out;
}

export function successStatus(details: StatusDetails): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: JSON.parse(JSON.stringify(details)) as JsonObject,
  };
}

/** "group/resource" as the API server names a resource in messages (`configmaps`, `deployments.apps`). */
export function qualified(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

export const notFound = (group: string, plural: string, name: string): ApiStatusError =>
  new ApiStatusError(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });

export const alreadyExists = (group: string, plural: string, name: string): ApiStatusError =>
  new ApiStatusError(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });

export const conflict = (group: string, plural: string, name: string, why: string): ApiStatusError =>
  new ApiStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${why}`,
    { name, group, kind: plural },
  );

export const invalid = (kind: string, group: string, name: string, causes: StatusCause[]): ApiStatusError =>
  new ApiStatusError(
    422,
    'Invalid',
    `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${causes
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
      .join(', ')}`,
    { name, group, kind, causes },
  );

export const badRequest = (message: string): ApiStatusError => new ApiStatusError(400, 'BadRequest', message);
