/**
 * What an API answers when a request fails. A CaravanError is meant for users, so its code and message go to the
 * client; anything else is internal: the client gets CARAVAN_INTERNAL with a generic message and a log id, and the
 * details (message, stack) go to this router's log under that id. Internal error text never reaches a client,
 * local or remote.
 */
import { randomBytes } from 'node:crypto';
import { CaravanError, ErrorCodes, errorMessage, type ErrorCode } from '../errors.js';
import type { LogFields, Logger } from './log.js';

export interface PublicError {
  code: ErrorCode;
  message: string;
  /** present for internal errors: where to look in the log */
  logId?: string;
}

/** A short random id that ties an answer to its log line. */
export function newLogId(): string {
  return randomBytes(6).toString('hex');
}

export interface PublicErrorOptions {
  /** names the answering side in the generic message ("at the issuing site") */
  where?: string;
  /**
   * Whether a CaravanError's message may be answered (default true). A server facing strangers (the grant
   * server) answers only the refusals it makes itself and treats every other error as internal.
   */
  exposeCaravanErrors?: boolean;
}

/** The body of an error answer for `e`; internal errors are logged at error level with `fields` and the log id. */
export function publicError(
  e: unknown,
  log: Logger,
  fields: LogFields = {},
  opts: PublicErrorOptions = {},
): PublicError {
  const where = opts.where ?? '';
  if (e instanceof CaravanError && opts.exposeCaravanErrors !== false)
    return { code: e.code, message: e.message };
  const logId = newLogId();
  log.error('request failed', {
    ...fields,
    logId,
    error: errorMessage(e),
    ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
  });
  return {
    code: ErrorCodes.INTERNAL,
    message: `internal error (log id ${logId}${where ? ` ${where}` : ''})`,
    logId,
  };
}
