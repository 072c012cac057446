import { CaravanError, ErrorCodes } from '../errors.js';

/** One problem found in a resource document. */
export interface ResourceIssue {
  /** Field path inside the document, e.g. `spec.endpoints[0].port`; empty for the document as a whole. */
  path: string;
  message: string;
  /** Where the document came from (a file name, `<stdin>`, ...). */
  source?: string;
  /** `Listener "db"`, when the kind (and name) could be read. */
  resource?: string;
  /** 1-based line of the offending field in the source, when known. */
  line?: number;
}

/** Renders one issue as `source: Kind "name": path: message` (parts that are unknown are left out). */
export function formatIssue(issue: ResourceIssue): string {
  const parts: string[] = [];
  if (issue.source) parts.push(issue.source);
  if (issue.resource) parts.push(issue.resource);
  if (issue.path) parts.push(issue.path);
  parts.push(issue.message);
  return parts.join(': ');
}

/**
 * A resource (or a set of resources) was rejected. `code` is always INVALID_RESOURCE; `issues` lists every
 * problem found, and the message has one line per issue.
 */
export class ResourceError extends CaravanError {
  readonly issues: ResourceIssue[];
  constructor(issues: ResourceIssue[], options?: { cause?: unknown }) {
    super(ErrorCodes.INVALID_RESOURCE, issues.map(formatIssue).join('\n') || 'invalid resource', options);
    this.name = 'ResourceError';
    this.issues = issues;
  }
}

export function isResourceError(e: unknown): e is ResourceError {
  return e instanceof ResourceError;
}
