/**
 * Transit: a stream whose flow header names another router as destination is forwarded one hop closer — a new
 * stream with `hops + 1` toward the destination, joined to the arriving one by `spliceStreams` without parsing
 * the payload. Edge routers never forward; the hop limit and a missing route refuse the flow with NO_ROUTE.
 */
import { ErrorCodes, errorMessage, type ErrorCode } from '../errors.js';
import type { RepeatLog } from '../observe/repeat-log.js';
import type { RouterMode } from '../routing/index.js';
import { wireCode } from './codes.js';
import { MAX_HOPS, type FlowHeader, type FlowStream, type LinkSession } from './contract.js';
import { encodeFlowHeader } from './messages.js';
import { spliceStreams } from './splice.js';

/** What transit needs of the router core. */
export interface TransitHost {
  readonly id: string;
  readonly mode: RouterMode;
  /** peer faults, one summary line per interval */
  readonly faultLog: RepeatLog;
  /** the best live link toward a router, never back over `avoidLinkId` when another exists */
  linkToward(dest: string, avoidLinkId?: string): { session: LinkSession } | undefined;
}

/** Forward `stream` (arrived on link `fromLinkId`) toward `header.dst`, or refuse it with a RESET. */
export function forwardTransit(
  host: TransitHost,
  fromLinkId: string,
  stream: FlowStream,
  header: FlowHeader,
): void {
  const fail = (code: ErrorCode, reason: string): void => {
    host.faultLog.warn(`transit-${code}`, 'transit flow refused', {
      flow: header.fid,
      key: header.key,
      dst: header.dst,
      code,
      reason,
    });
    stream.reset(wireCode(code), reason);
  };
  if (host.mode === 'edge')
    return fail(ErrorCodes.NO_ROUTE, `edge router ${host.id} does not forward transit flows`);
  if (header.hops >= MAX_HOPS) return fail(ErrorCodes.NO_ROUTE, `hop limit ${MAX_HOPS} reached`);
  const next = host.linkToward(header.dst, fromLinkId);
  if (!next) return fail(ErrorCodes.NO_ROUTE, `router ${host.id} has no route to ${header.dst}`);
  let out: FlowStream;
  try {
    out = next.session.openStream(encodeFlowHeader({ ...header, hops: header.hops + 1 }));
  } catch (e) {
    return fail(ErrorCodes.PATH_LOST, errorMessage(e));
  }
  spliceStreams(stream, out);
}
