import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { serverTlsOptions, type ServerTlsFiles } from '../common/server-tls.js';
import type { Timer } from '../../clock.js';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type {
  AdapterHost,
  FlowStream,
  ListenerAdapter,
  OpenedFlow,
  OpenFlowRequest,
} from '../../router/contract.js';
import {
  decodeHeaders,
  encodeHeaders,
  Flags,
  FrameType,
  h2CodeOf,
  parseGrpcTimeout,
  resetReason,
  type Frame,
  type HeaderBlock,
} from './frames.js';
import { serveHttp1 } from './http1-fallback.js';
import { H2Metrics } from './metrics.js';
import {
  CreditReturner,
  NGHTTP2_CANCEL,
  NGHTTP2_FLAG_END_STREAM,
  NGHTTP2_INTERNAL_ERROR,
  peerOf,
  pumpToFlow,
  readFrames,
  sinkData,
  takeTrailers,
} from './relay.js';
import { ServerListener } from '../common/server-listener.js';
import type { ListenerBaseSpec } from '../common/spec-adapter.js';

/** The listener enforces a gRPC deadline this long after it passed, so that clients cancel first themselves. */
export const DEADLINE_GRACE_MS = 100;

export interface Http2ListenerSpec extends ListenerBaseSpec {
  /**
   * serve TLS from these PEM files: ALPN `h2`, and HTTP/1.1 for clients that do not offer h2 (each request is
   * carried as an HTTP/2 stream); without it, h2c with prior knowledge
   */
  tls?: ServerTlsFiles;
}

/**
 * An HTTP/2 listener (h2c prior knowledge, or TLS with ALPN h2 and an HTTP/1.1 fallback): every HTTP/2 stream
 * (every HTTP/1.1 request) becomes its own flow to the listener's routing key, so streams of one client connection
 * are balanced independently. Request and response travel as typed frames (frames.ts); RST_STREAM codes cross as
 * flow resets both ways.
 */
export class Http2Listener
  extends ServerListener<Http2ListenerSpec, http2.Http2Server | tls.Server>
  implements ListenerAdapter
{
  readonly metrics = new H2Metrics();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** TLS connections that negotiated HTTP/1.1 */
  private readonly h1Sockets = new Set<Socket>();
  private h1Requests = 0;

  constructor(host: AdapterHost, spec: Http2ListenerSpec, logger: Logger) {
    super(host, spec, logger, 'http2');
  }

  stats(): Record<string, number> {
    return {
      ...this.metrics.snapshot(),
      sessions: this.sessions.size,
      http1Connections: this.h1Sockets.size,
      http1Requests: this.h1Requests,
      ...this.deniedStats(),
    };
  }

  async start(): Promise<void> {
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers, flags) => this.onStream(stream, headers, flags));
    h2.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('error', (err) => this.log.debug('client session error', { error: err.message }));
      s.once('close', () => this.sessions.delete(s));
    });
    const server = this.spec.tls ? await this.tlsFront(h2, this.spec.tls) : h2;
    this.allow?.guard(server);
    await this.listen(server, this.spec.tls ? 'h2+http/1.1' : 'h2c');
  }

  /**
   * The TLS port: connections that negotiate `h2` go to the HTTP/2 server, the others (ALPN http/1.1 or none) to
   * an HTTP/1.1 server whose requests travel as HTTP/2 streams (http1-fallback.ts).
   */
  private async tlsFront(h2: http2.Http2Server, files: ServerTlsFiles): Promise<tls.Server> {
    const options = await serverTlsOptions(files, this.spec.name);
    const h1 = http.createServer((req, res) => {
      this.h1Requests++;
      serveHttp1(req, res, {
        metrics: this.metrics,
        log: this.log,
        clock: this.host.clock,
        open: (client, established, gone) =>
          this.openFor((key) => this.flowRequest(client, key), established, gone),
      });
    });
    h1.on('clientError', (err, socket) => {
      this.log.debug('http/1.1 client error', { error: err.message });
      socket.destroy();
    });
    const server = tls.createServer({ ...options, ALPNProtocols: ['h2', 'http/1.1'] });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol === 'h2') {
        h2.emit('connection', socket);
        return;
      }
      this.h1Sockets.add(socket);
      socket.once('close', () => this.h1Sockets.delete(socket));
      h1.emit('connection', socket);
    });
    server.on('tlsClientError', (err) =>
      this.log.debug('TLS handshake with a client failed', { error: err.message }),
    );
    return server;
  }

  private flowRequest(client: string, routingKey: string): OpenFlowRequest {
    return {
      routingKey,
      listener: this.spec.name,
      client,
      distribution: this.spec.distribution,
      proto: 'http2',
      // every stream is its own flow: spread streams of one connection across equally good connectors
      rotateTies: true,
    };
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number): void {
    const m = this.metrics;
    m.streams++;
    m.active++;
    const started = this.host.clock.monotonic();
    const client = peerOf(stream);
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    let flow: FlowStream | undefined;
    let clientGone = false;
    let responseDone = false;
    stream.on('error', (err) => this.log.debug('client stream error', { client, error: err.message }));

    // gRPC deadline: shortly after it passed (the client's own cancellation normally comes first), cancel upstream
    // even if the client did not, and tell the client DEADLINE_EXCEEDED.
    let deadline: Timer | undefined;
    const timeoutMs = parseGrpcTimeout(headers['grpc-timeout']);
    if (timeoutMs !== undefined) {
      deadline = this.host.clock
        .setTimeout(() => {
          if (stream.closed) return;
          m.deadlineExceeded++;
          this.log.debug('deadline exceeded: stream cancelled', {
            client,
            path: headers[':path'],
            timeoutMs,
          });
          flow?.reset(wireCode(ErrorCodes.FLOW_RESET), resetReason(NGHTTP2_CANCEL, 'deadline exceeded'));
          if (grpc && !stream.headersSent) {
            m.status(200);
            m.grpcStatus({ 'grpc-status': '4' });
            stream.respond(
              {
                ':status': 200,
                'content-type': 'application/grpc',
                'grpc-status': '4',
                'grpc-message': 'Deadline Exceeded',
              },
              { endStream: true },
            );
          } else stream.close(NGHTTP2_CANCEL);
        }, timeoutMs + DEADLINE_GRACE_MS)
        .unref();
    }
    stream.once('close', () => {
      clientGone = true;
      m.active--;
      deadline?.cancel();
      if (responseDone) m.latency(this.host.clock.monotonic() - started);
    });

    const established = (opened: OpenedFlow): void => {
      flow = opened.stream;
      if (clientGone || stream.closed) {
        flow.reset(
          wireCode(ErrorCodes.FLOW_RESET),
          resetReason(NGHTTP2_CANCEL, 'client stream closed before the flow was established'),
        );
        return;
      }
      this.log.debug('stream established', {
        flow: opened.header.fid,
        client,
        path: headers[':path'],
        dst: opened.accept.router,
        connector: opened.accept.connector,
      });
      this.relay(stream, opened.stream, headers, endStream, () => (responseDone = true));
    };

    this.openFor(
      (key) => this.flowRequest(client, key),
      established,
      () => stream.destroyed,
    ).catch((err: unknown) => {
      m.refused++;
      const code = isCaravanError(err) ? err.code : ErrorCodes.FLOW_RESET;
      const reason = errorMessage(err);
      this.log.warn('stream refused: no flow could be established', { client, code, reason });
      if (stream.closed || stream.headersSent) return;
      // Answer rather than reset, so clients see why: gRPC UNAVAILABLE (trailers-only) or 503.
      if (grpc) {
        m.status(200);
        m.grpcStatus({ 'grpc-status': '14' });
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': grpcMessage(`caravan: ${reason}`),
          },
          { endStream: true },
        );
      } else {
        m.status(503);
        stream.respond({
          ':status': 503,
          'content-type': 'text/plain; charset=utf-8',
          'x-caravan-error': code,
        });
        stream.end(`caravan: ${reason}\n`);
      }
      responseDone = true;
    });
  }

  /** Pump one established stream: request → flow, flow → response. */
  private relay(
    stream: http2.ServerHttp2Stream,
    flow: FlowStream,
    headers: http2.IncomingHttpHeaders,
    endStream: boolean,
    onResponseDone: () => void,
  ): void {
    const m = this.metrics;
    let requestDone = endStream;
    let responded = false;
    let responseDone = false;
    let trailers: HeaderBlock | undefined;
    let flowClosed = false;

    const protocolError = (why: string): void => {
      this.log.warn('protocol error on flow', { reason: why });
      flow.reset(wireCode(ErrorCodes.PROTOCOL), why);
      if (!stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
    };

    // request → flow
    flow.write(encodeHeaders(FrameType.HEAD, endStream ? Flags.END_STREAM : 0, headers));
    if (endStream) flow.end();
    else {
      pumpToFlow(stream, flow, {
        onBytes: (n) => (m.bytesIn += n),
        onDone: () => (requestDone = true),
      });
    }

    // flow → response
    const credit = new CreditReturner(flow, stream);
    const finishResponse = (): void => {
      responseDone = true;
      onResponseDone();
    };
    const onFrame = (f: Frame): void => {
      switch (f.type) {
        case FrameType.HEAD: {
          if (responded) return protocolError('second response head');
          const h = decodeHeaders(f.payload);
          const end = (f.flags & Flags.END_STREAM) !== 0;
          responded = true;
          m.status(h[':status']);
          if (end) m.grpcStatus(h);
          if (!stream.closed && !stream.headersSent) {
            if (end) {
              stream.respond(h, { endStream: true });
              finishResponse();
            } else {
              stream.once('wantTrailers', () => {
                if (!stream.closed) stream.sendTrailers(trailers ?? {});
                finishResponse();
              });
              stream.respond(h, { waitForTrailers: true });
            }
          }
          flow.consumed(f.wireLength);
          return;
        }
        case FrameType.INFO:
          if (!stream.closed && !responded) stream.additionalHeaders(decodeHeaders(f.payload));
          flow.consumed(f.wireLength);
          return;
        case FrameType.DATA:
          if (!responded) return protocolError('response body before its head');
          m.bytesOut += sinkData(f, credit);
          return;
        case FrameType.TRAILERS:
          trailers = takeTrailers(flow, f);
          m.grpcStatus(trailers);
          return;
      }
    };
    readFrames(flow, onFrame, protocolError);
    flow.on('end', () => {
      if (!responded) return protocolError('response ended without a head');
      if (!responseDone && !stream.closed && !stream.writableEnded) stream.end();
    });
    flow.on('reset', (code: number, reason: string) => {
      if (stream.closed) return;
      m.resets++;
      const h2code = h2CodeOf(reason) ?? NGHTTP2_INTERNAL_ERROR;
      this.log.debug('flow reset: stream closed', { code, reason, h2code });
      stream.close(h2code);
    });
    flow.once('close', () => {
      flowClosed = true;
    });
    stream.once('close', () => {
      if (flowClosed || (requestDone && responseDone)) return;
      const rst = stream.rstCode ?? NGHTTP2_CANCEL;
      if (rst !== 0) m.resets++;
      flow.reset(wireCode(ErrorCodes.FLOW_RESET), resetReason(rst, 'client stream closed'));
    });
  }

  protected cutConnections(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.h1Sockets) s.destroy();
  }
}

/** gRPC's percent-encoding of grpc-message: printable ASCII except '%' stays, every other byte is %XX. */
function grpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
