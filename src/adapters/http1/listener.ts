import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, FlowStream, ListenerAdapter, OpenedFlow } from '../../router/contract.js';
import {
  FramingError,
  HeadReader,
  encodeHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from './framing.js';
import { appendHeader, clientAddress, filterHeaders, viaValue } from './headers.js';
import { RequestMetrics } from './metrics.js';
import { ServerListener } from '../common/server-listener.js';
import type { ListenerBaseSpec } from '../common/spec-adapter.js';

export interface Http1ListenerSpec extends ListenerBaseSpec {
  /** `client`: requests of one client address keep going to the same connector while it stays reachable */
  affinity?: 'client';
  /** append the client address to X-Forwarded-For */
  forwardedFor?: boolean;
  /** largest request head accepted (default 16 KiB, node's default); larger → 431 */
  maxHeaderSize?: number;
}

/**
 * An HTTP/1.x listener: parses requests with node:http; every request (not every client connection) is its own
 * flow, so each request picks a connector. Request and response bodies stream both ways with backpressure;
 * `Upgrade` requests (WebSocket) continue as a byte stream to the same target.
 */
export class Http1Listener extends ServerListener<Http1ListenerSpec, http.Server> implements ListenerAdapter {
  readonly counters = {
    connections: 0,
    connectionsActive: 0,
    /** requests that got no flow (503) */
    refused: 0,
    /** malformed requests answered 400 / oversize heads answered 431 */
    badRequests: 0,
    headerTooLarge: 0,
    upgrades: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  readonly metrics = new RequestMetrics();
  private readonly sockets = new Set<Duplex>();

  constructor(host: AdapterHost, spec: Http1ListenerSpec, logger: Logger) {
    super(host, spec, logger, 'http1');
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      ...this.metrics.flatten(),
      ...this.deniedStats(),
    };
  }

  start(): Promise<void> {
    const server = http.createServer({
      maxHeaderSize: this.spec.maxHeaderSize ?? 16 * 1024,
      requestTimeout: 0, // large uploads may take long; headersTimeout still bounds slow heads
      headersTimeout: 60_000,
      keepAliveTimeout: 5_000,
      noDelay: true,
      requireHostHeader: true,
    });
    server.on('connection', (s: Duplex) => {
      this.counters.connections++;
      this.counters.connectionsActive++;
      this.sockets.add(s);
      s.once('close', () => {
        this.counters.connectionsActive--;
        this.sockets.delete(s);
      });
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    this.allow?.guard(server);
    return this.listen(server, 'http1');
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    socket.on('error', () => undefined);
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status = '400 Bad Request';
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = '431 Request Header Fields Too Large';
      this.counters.headerTooLarge++;
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = '408 Request Timeout';
    } else this.counters.badRequests++;
    const body = `${status}\n`;
    this.log.debug('bad request', { code: err.code, reason: err.message });
    socket.end(
      `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  }

  private requestHead(req: http.IncomingMessage, upgrade: boolean): RequestHead {
    const f = filterHeaders(req.rawHeaders, upgrade, ['expect']);
    appendHeader(f.headers, 'Via', viaValue(req.httpVersion));
    const head: RequestHead = {
      v: 1,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      version: req.httpVersion,
      headers: f.headers,
      body: f.contentLength ? 'length' : f.chunked ? 'chunked' : 'none',
    };
    if (upgrade && f.upgrade !== undefined) head.upgrade = f.upgrade;
    if (this.spec.forwardedFor) {
      appendHeader(f.headers, 'X-Forwarded-For', clientAddress(clientOf(req)));
      head.xff = true;
    }
    return head;
  }

  private openFlow(req: http.IncomingMessage, established: (flow: OpenedFlow) => void): Promise<void> {
    const client = clientOf(req);
    return this.openFor(
      (routingKey) => ({
        routingKey,
        listener: this.spec.name,
        client,
        distribution: this.spec.distribution,
        proto: 'http1',
        rotateTies: true,
        ...(this.spec.affinity === 'client' ? { affinityKey: clientAddress(client) } : {}),
      }),
      established,
      () => req.destroyed,
    );
  }

  private noFlowMessage(err: unknown): string {
    return `no reachable connector for routing key '${this.spec.routingKey}': ${errorMessage(err)}\n`;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t0 = this.host.clock.monotonic();
    this.metrics.start(req.method);
    let status = 0;
    let finished = false;
    let stream: FlowStream | undefined;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.metrics.finish(status, this.host.clock.monotonic() - t0);
    };
    res.once('finish', finish);
    res.once('close', () => {
      if (!res.writableFinished) {
        // the client went away mid-request or mid-response
        stream?.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed the connection');
        req.destroy();
      }
      finish();
    });
    const reply = (code: number, body: string): void => {
      status = code;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(code, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
      req.resume(); // discard any request body
    };
    const established = ({ stream: s, header }: OpenedFlow): void => {
      stream = s;
      if (res.destroyed || res.writableEnded) {
        s.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed before the flow was established');
        return;
      }
      s.write(encodeHead(this.requestHead(req, false)));
      // request body → flow
      req.on('data', (chunk: Buffer) => {
        this.counters.bytesIn += chunk.length;
        if (!s.write(chunk)) req.pause();
      });
      s.on('drain', () => req.resume());
      req.on('end', () => s.end());
      // flow → response
      const reader = new HeadReader(
        (json, n) => {
          const head: ResponseHead = parseResponseHead(json);
          s.consumed(n);
          status = head.status;
          const f = filterHeaders(head.headers, false);
          appendHeader(f.headers, 'Via', viaValue('1.1'));
          res.writeHead(head.status, head.message, f.headers);
          if (req.method === 'HEAD' || head.status === 204 || head.status === 304) res.flushHeaders();
        },
        (chunk) => {
          this.counters.bytesOut += chunk.length;
          res.write(chunk, () => s.consumed(chunk.length));
        },
      );
      s.on('data', (chunk: Buffer) => {
        try {
          reader.feed(chunk);
        } catch (e) {
          this.log.warn('bad response from the network', { flow: header.fid, reason: errorMessage(e) });
          s.reset(wireCode(ErrorCodes.PROTOCOL), errorMessage(e));
          reply(502, `bad gateway: ${errorMessage(e)}\n`);
        }
      });
      s.on('end', () => {
        if (!reader.headDone) reply(502, 'bad gateway: the connector sent no response\n');
        else res.end();
      });
      s.on('reset', (code, reason) => {
        this.log.info('request flow reset', { flow: header.fid, code, reason });
        reply(502, `bad gateway: ${reason || `flow reset (code ${code})`}\n`);
      });
      req.resume();
    };
    req.pause();
    this.openFlow(req, established).catch((err: unknown) => {
      this.counters.refused++;
      const code = isCaravanError(err) ? err.code : ErrorCodes.FLOW_RESET;
      this.log.warn('request refused: no flow could be established', { code, reason: errorMessage(err) });
      reply(503, this.noFlowMessage(err));
    });
  }

  /** `Upgrade` (WebSocket): the request head travels as usual, then the connection continues as raw bytes. */
  private onUpgrade(req: http.IncomingMessage, socket: Duplex, early: Buffer): void {
    const t0 = this.host.clock.monotonic();
    this.metrics.start(req.method);
    this.counters.upgrades++;
    let status = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.metrics.finish(status, this.host.clock.monotonic() - t0);
    };
    socket.on('error', () => undefined);
    socket.pause();
    let stream: FlowStream | undefined;
    socket.once('close', () => {
      stream?.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed the connection');
      finish();
    });
    const rawReply = (code: number, text: string, body: string): void => {
      status = code;
      if (!socket.writable) return void socket.destroy();
      socket.end(
        `HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    const established = ({ stream: s, header }: OpenedFlow): void => {
      stream = s;
      if (socket.destroyed) {
        s.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed before the flow was established');
        return;
      }
      s.write(encodeHead(this.requestHead(req, true)));
      if (early.length > 0) s.write(early);
      socket.on('data', (chunk: Buffer) => {
        this.counters.bytesIn += chunk.length;
        if (!s.write(chunk)) socket.pause();
      });
      s.on('drain', () => socket.resume());
      socket.on('end', () => s.end());
      let switched = false;
      const reader = new HeadReader(
        (json, n) => {
          const head = parseResponseHead(json);
          s.consumed(n);
          status = head.status;
          switched = head.status === 101;
          const f = filterHeaders(head.headers, switched);
          appendHeader(f.headers, 'Via', viaValue('1.1'));
          if (!switched) f.headers.push('Connection', 'close');
          let text = `HTTP/1.1 ${head.status} ${head.message.replace(/[\r\n]/g, ' ')}\r\n`;
          for (let i = 0; i + 1 < f.headers.length; i += 2)
            text += `${f.headers[i]}: ${f.headers[i + 1]}\r\n`;
          socket.write(`${text}\r\n`);
        },
        (chunk) => {
          this.counters.bytesOut += chunk.length;
          socket.write(chunk, () => s.consumed(chunk.length));
        },
      );
      s.on('data', (chunk: Buffer) => {
        try {
          reader.feed(chunk);
        } catch (e) {
          s.reset(wireCode(ErrorCodes.PROTOCOL), errorMessage(e));
          socket.destroy();
        }
      });
      s.on('end', () => {
        if (!reader.headDone) rawReply(502, 'Bad Gateway', 'bad gateway: the connector sent no response\n');
        else socket.end();
      });
      s.on('reset', (code, reason) => {
        this.log.info('upgrade flow reset', { flow: header.fid, code, reason });
        if (!reader.headDone) rawReply(502, 'Bad Gateway', `bad gateway: ${reason}\n`);
        else socket.destroy();
      });
      s.once('close', finish);
      socket.resume();
    };
    this.openFlow(req, established).catch((err: unknown) => {
      this.counters.refused++;
      rawReply(503, 'Service Unavailable', this.noFlowMessage(err));
    });
  }

  protected cutConnections(): void {
    for (const s of this.sockets) s.destroy();
  }
}

function clientOf(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return a.includes(':') ? `[${a}]:${req.socket.remotePort}` : `${a}:${req.socket.remotePort}`;
}

export { FramingError };
