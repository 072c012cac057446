/**
 * Management requests: one request body to a router named by id and one response body back, carried as a flow
 * with routing key `$management` over the network itself (network-wide status, docs/design/observability.md).
 * The asking side is `request`; the answering side is `serve`, which the router calls for a stream addressed to
 * itself under that key.
 */
import type { Clock } from '../clock.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { errorCodeOf, wireCode } from './codes.js';
import type { FlowHeader, FlowStream, LinkSession } from './contract.js';
import { encodeFlowHeader } from './messages.js';

/** Routing key of management requests (network-wide status): answered by the destination router itself. */
export const MANAGEMENT_KEY = '$management';
/** Largest management request / response body. */
export const MANAGEMENT_MAX_REQUEST = 1024 * 1024;
export const MANAGEMENT_MAX_RESPONSE = 16 * 1024 * 1024;

/** Answers management requests addressed to this router (`from` is the asking router's id). */
export type ManagementHandler = (payload: Buffer, from: string) => Promise<Buffer>;

/** What management needs of the router core. */
export interface ManagementHost {
  readonly id: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** the session of the best live link toward a router */
  linkToward(dest: string): { session: LinkSession } | undefined;
}

export class Management {
  private handler: ManagementHandler | undefined;
  private counter = 0;

  constructor(private readonly host: ManagementHost) {}

  /** Answer management requests addressed to this router (one handler; the site runtime sets it). */
  setHandler(fn: ManagementHandler | undefined): void {
    this.handler = fn;
  }

  /**
   * Ask router `routerId` a management question: a flow whose destination is that router, carrying one request
   * body and answered with one response body (bounded in size, bounded in time). Asking ourselves calls the
   * handler directly.
   */
  request(
    routerId: string,
    payload: Buffer,
    opts: { timeoutMs?: number; maxResponseBytes?: number } = {},
  ): Promise<Buffer> {
    const { id, clock } = this.host;
    const timeoutMs = opts.timeoutMs ?? 5000;
    const max = opts.maxResponseBytes ?? MANAGEMENT_MAX_RESPONSE;
    if (payload.length > MANAGEMENT_MAX_REQUEST)
      return Promise.reject(new CaravanError(ErrorCodes.PROTOCOL, 'management request too large'));
    if (routerId === id) {
      const h = this.handler;
      if (!h) return Promise.reject(new CaravanError(ErrorCodes.NO_CONNECTOR, 'no management handler'));
      return h(payload, id);
    }
    const link = this.host.linkToward(routerId);
    if (!link) return Promise.reject(new CaravanError(ErrorCodes.NO_ROUTE, `no route to router ${routerId}`));
    const header: FlowHeader = {
      v: 1,
      fid: `${id}/m${++this.counter}`,
      key: MANAGEMENT_KEY,
      dst: routerId,
      src: id,
      lis: MANAGEMENT_KEY,
      client: id,
      proto: 'tcp',
      hops: 0,
    };
    let stream: FlowStream;
    try {
      stream = link.session.openStream(encodeFlowHeader(header));
    } catch (e) {
      return Promise.reject(new CaravanError(ErrorCodes.PATH_LOST, errorMessage(e)));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const settle = (err: Error | undefined, value?: Buffer): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (err) reject(err);
        else resolve(value as Buffer);
      };
      const timer = clock.setTimeout(() => {
        stream.reset(wireCode(ErrorCodes.PATH_LOST), 'management request timed out');
        settle(
          new CaravanError(ErrorCodes.PATH_LOST, `router ${routerId} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      stream.on('data', (chunk) => {
        size += chunk.length;
        if (size > max) {
          stream.reset(wireCode(ErrorCodes.PROTOCOL), 'management response too large');
          settle(
            new CaravanError(ErrorCodes.PROTOCOL, `router ${routerId}: response larger than ${max} bytes`),
          );
          return;
        }
        chunks.push(chunk);
        stream.consumed(chunk.length);
      });
      stream.on('end', () => {
        settle(undefined, Buffer.concat(chunks));
        stream.end();
      });
      stream.once('reset', (code, reason) =>
        settle(new CaravanError(errorCodeOf(code), reason || `router ${routerId} refused the request`)),
      );
      stream.once('close', () =>
        settle(
          new CaravanError(ErrorCodes.PATH_LOST, `management flow to ${routerId} closed without an answer`),
        ),
      );
      stream.write(payload);
      stream.end();
    });
  }

  /** Answer a management request that arrived on `stream` (its destination is this router). */
  serve(stream: FlowStream, header: FlowHeader): void {
    const { id, log } = this.host;
    const h = this.handler;
    if (!h) {
      stream.reset(wireCode(ErrorCodes.NO_CONNECTOR), `router ${id} answers no management requests`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    stream.on('data', (chunk) => {
      if (failed) return;
      size += chunk.length;
      if (size > MANAGEMENT_MAX_REQUEST) {
        failed = true;
        stream.reset(wireCode(ErrorCodes.PROTOCOL), 'management request too large');
        return;
      }
      chunks.push(chunk);
      stream.consumed(chunk.length);
    });
    stream.on('end', () => {
      if (failed) return;
      h(Buffer.concat(chunks), header.src).then(
        (answer) => {
          stream.accept(Buffer.from(JSON.stringify({ router: id, connector: MANAGEMENT_KEY, target: '' })));
          stream.write(answer);
          stream.end();
        },
        (e: unknown) => {
          log.warn('management request failed', { from: header.src, error: errorMessage(e) });
          stream.reset(wireCode(ErrorCodes.PROTOCOL), errorMessage(e).slice(0, 200));
        },
      );
    });
  }
}
