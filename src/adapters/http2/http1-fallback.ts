/**
 * HTTP/1.1 on the http2 listener's TLS port (clients that do not offer ALPN `h2`, e.g. Python `requests`, `wget`
 * or `curl --http1.1`): every request becomes one flow in the same form as an HTTP/2 stream — pseudo-headers from
 * the request line and Host, the body as DATA frames, request trailers as TRAILERS — so the connector and the
 * target see HTTP/2 whichever version the client spoke. The response comes back as HTTP/1.1 (chunked when the
 * target sent no content-length, with its trailers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.js';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { FlowStream, OpenedFlow } from '../../router/contract.js';
import {
  decodeHeaders,
  encodeData,
  encodeHeaders,
  Flags,
  FrameType,
  resetReason,
  type Frame,
  type HeaderBlock,
} from './frames.js';
import type { H2Metrics } from './metrics.js';
import { CreditReturner, NGHTTP2_CANCEL, readFrames, sinkData, takeTrailers } from './relay.js';

/** Connection-specific request headers (RFC 9113 §8.2.2): HTTP/2 forbids them, so they stop here. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

export interface Http1FallbackContext {
  metrics: H2Metrics;
  log: Logger;
  /** the router's clock (request latency) */
  clock: Clock;
  /** opens the flow for one request (the listener's, over its routing key or keys); `gone`: the client left */
  open(client: string, established: (opened: OpenedFlow) => void, gone: () => boolean): Promise<unknown>;
}

/** The request line and headers of an HTTP/1.1 request as an HTTP/2 header block. */
export function h2RequestHeaders(req: IncomingMessage): HeaderBlock {
  const h: HeaderBlock = {
    ':method': req.method ?? 'GET',
    ':scheme': 'https',
    ':authority': req.headers.host ?? '',
    ':path': req.url ?? '/',
  };
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    // "te" may only carry "trailers" in HTTP/2
    if (k === 'te') {
      if (String(v).toLowerCase().includes('trailers')) h.te = 'trailers';
      continue;
    }
    h[k] = v;
  }
  return h;
}

/** Response headers for HTTP/1.1: no pseudo-headers. */
function h1ResponseHeaders(h: HeaderBlock): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) out[k] = v;
  return out;
}

/** One HTTP/1.1 request through a flow. */
export function serveHttp1(req: IncomingMessage, res: ServerResponse, ctx: Http1FallbackContext): void {
  const m = ctx.metrics;
  m.streams++;
  m.active++;
  const started = ctx.clock.monotonic();
  const client = `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}`;
  let clientGone = false;
  let finished = false;
  res.once('close', () => {
    clientGone = true;
    m.active--;
    if (res.writableFinished) {
      finished = true;
      m.latency(ctx.clock.monotonic() - started);
    }
  });
  req.on('error', (err) => ctx.log.debug('http/1.1 client error', { client, error: err.message }));

  const established = (opened: OpenedFlow): void => {
    if (clientGone) {
      opened.stream.reset(
        wireCode(ErrorCodes.FLOW_RESET),
        resetReason(NGHTTP2_CANCEL, 'client closed before the flow was established'),
      );
      return;
    }
    ctx.log.debug('http/1.1 request established', {
      flow: opened.header.fid,
      client,
      path: req.url,
      dst: opened.accept.router,
      connector: opened.accept.connector,
    });
    relay(req, res, opened.stream, ctx, () => finished);
  };

  ctx
    .open(client, established, () => req.destroyed)
    .catch((err: unknown) => {
      m.refused++;
      const code = isCaravanError(err) ? err.code : ErrorCodes.FLOW_RESET;
      const reason = errorMessage(err);
      ctx.log.warn('http/1.1 request refused: no flow could be established', { client, code, reason });
      if (res.headersSent || clientGone) return;
      m.status(503);
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'x-caravan-error': code });
      res.end(`caravan: ${reason}\n`);
    });
}

function relay(
  req: IncomingMessage,
  res: ServerResponse,
  flow: FlowStream,
  ctx: Http1FallbackContext,
  isFinished: () => boolean,
): void {
  const m = ctx.metrics;
  let responded = false;
  let trailers: HeaderBlock | undefined;
  let flowClosed = false;
  let requestDone = false;

  const fail = (why: string, code: number = wireCode(ErrorCodes.PROTOCOL)): void => {
    ctx.log.warn('http/1.1 request failed on its flow', { reason: why });
    flow.reset(code, why);
    if (!res.headersSent) {
      m.status(502);
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`caravan: ${why}\n`);
    } else res.destroy();
  };

  // request → flow (HEAD, DATA, TRAILERS, FIN); the request is paused while the flow has no credit
  const bodyless =
    req.headers['content-length'] === '0' ||
    (!req.headers['content-length'] && !req.headers['transfer-encoding']);
  flow.write(encodeHeaders(FrameType.HEAD, bodyless ? Flags.END_STREAM : 0, h2RequestHeaders(req)));
  req.on('data', (chunk: Buffer) => {
    if (bodyless) return;
    m.bytesIn += chunk.length;
    let ok = true;
    for (const f of encodeData(chunk)) ok = flow.write(f) && ok;
    if (!ok) req.pause();
  });
  flow.on('drain', () => req.resume());
  req.on('end', () => {
    requestDone = true;
    const t = req.trailers;
    if (!bodyless && Object.keys(t).length > 0) flow.write(encodeHeaders(FrameType.TRAILERS, 0, t));
    flow.end();
  });

  // flow → response
  const credit = new CreditReturner(flow, res);
  const onFrame = (f: Frame): void => {
    switch (f.type) {
      case FrameType.HEAD: {
        if (responded) return fail('second response head');
        const h = decodeHeaders(f.payload);
        responded = true;
        m.status(h[':status']);
        if (!res.headersSent && !res.destroyed) res.writeHead(Number(h[':status']), h1ResponseHeaders(h));
        if ((f.flags & Flags.END_STREAM) !== 0) res.end();
        flow.consumed(f.wireLength);
        return;
      }
      case FrameType.INFO:
        // 1xx informational responses (103 Early Hints) are not forwarded to HTTP/1.1 clients
        flow.consumed(f.wireLength);
        return;
      case FrameType.DATA:
        if (!responded) return fail('response body before its head');
        m.bytesOut += sinkData(f, credit);
        return;
      case FrameType.TRAILERS:
        trailers = takeTrailers(flow, f);
        return;
    }
  };
  readFrames(flow, onFrame, fail);
  flow.on('end', () => {
    if (!responded) return fail('response ended without a head');
    if (res.writableEnded) return;
    // trailers only travel on a chunked body (no content-length)
    if (trailers && !res.hasHeader('content-length')) res.addTrailers(h1ResponseHeaders(trailers));
    res.end();
  });
  flow.on('reset', (code: number, reason: string) => {
    if (res.writableEnded || res.destroyed) return;
    m.resets++;
    ctx.log.debug('flow reset: http/1.1 response aborted', { code, reason });
    if (!res.headersSent) {
      m.status(502);
      res.writeHead(502, {
        'content-type': 'text/plain; charset=utf-8',
        'x-caravan-error': 'CARAVAN_FLOW_RESET',
      });
      res.end(`caravan: ${reason}\n`);
    } else res.destroy();
  });
  flow.once('close', () => {
    flowClosed = true;
  });
  res.once('close', () => {
    if (flowClosed || (requestDone && isFinished())) return;
    m.resets++;
    flow.reset(wireCode(ErrorCodes.FLOW_RESET), resetReason(NGHTTP2_CANCEL, 'client connection closed'));
  });
}
