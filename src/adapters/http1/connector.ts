import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCodes, errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { HeadReader, encodeHead, parseRequestHead, type RequestHead, type ResponseHead } from './framing.js';
import { appendHeader, clientAddress, filterHeaders, hasHeader, viaValue } from './headers.js';
import { RequestMetrics } from './metrics.js';
import { type Target, isTargetDownError, targetName } from '../common/targets.js';
import { PooledConnector } from '../common/pooled-connector.js';

export interface Http1ConnectorSpec {
  name: string;
  routingKey: string;
  targets: Array<{ host: string; port: number }>;
  /** append the client address (as the listener saw it) to X-Forwarded-For, unless the listener already did */
  forwardedFor?: boolean;
  /** give up connecting to a target after this long (default 5000 ms) */
  connectTimeoutMs?: number;
  /** while a target is down, probe it this often (default 2000 ms) */
  probeIntervalMs?: number;
  /** idle keep-alive connections kept per target (default 64) */
  maxFreeSockets?: number;
}

interface PoolRequestOptions extends http.RequestOptions {
  /** a connection made before the flow was accepted; the agent uses it instead of dialling */
  caravanSocket?: net.Socket;
}

/** A keep-alive agent that can be handed a connection made in advance (see deliver()). */
class TargetAgent extends http.Agent {
  override createConnection(
    options: PoolRequestOptions,
    cb?: (err: Error | null, s: Duplex) => void,
  ): Duplex {
    const pre = options.caravanSocket;
    if (pre && !pre.destroyed) {
      options.caravanSocket = undefined;
      return pre;
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- node's default
    return (http.Agent.prototype as any).createConnection.call(this, options, cb);
  }
}

/**
 * An HTTP/1.x connector: each flow is one request. It keeps a keep-alive pool of connections to its target(s):
 * a flow is accepted once a connection is at hand (an idle pooled one, or a new one that connected), so a refused
 * target makes the ingress router try another connector. The response streams back with backpressure.
 */
export class Http1Connector extends PooledConnector<Http1ConnectorSpec> implements ConnectorAdapter {
  readonly counters = {
    delivered: 0,
    failed: 0,
    badGateway: 0,
    upgrades: 0,
    /** requests sent again on a new connection because the pooled one had been closed by the target */
    staleRetries: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  readonly metrics = new RequestMetrics();
  private readonly agent: TargetAgent;
  private readonly upgraded = new Set<Duplex>();

  constructor(host: AdapterHost, spec: Http1ConnectorSpec, logger: Logger) {
    super(host, spec, logger, 'http1', {
      targets: spec.targets,
      probeIntervalMs: spec.probeIntervalMs ?? 2000,
      connectTimeoutMs: spec.connectTimeoutMs ?? 5000,
    });
    this.agent = new TargetAgent({
      keepAlive: true,
      maxFreeSockets: spec.maxFreeSockets ?? 64,
      scheduling: 'lifo',
      timeout: 30_000,
    });
  }

  stats(): Record<string, number> {
    return { ...this.counters, ...this.metrics.flatten() };
  }

  private hasIdleConnection(t: Target): boolean {
    const name = this.agent.getName({ host: t.host, port: t.port });
    return (this.agent.freeSockets[name]?.length ?? 0) > 0;
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (this.refusesProtocol(stream, header, 'http1')) return;
    let gone = false;
    stream.once('reset', () => {
      gone = true;
    });
    const tried = new Set<Target>();
    const next = (lastErr?: NodeJS.ErrnoException): void => {
      if (gone) return;
      const t = this.pool.pick(tried);
      if (!t) {
        const message = lastErr?.message ?? `no healthy target (${this.target})`;
        const code =
          lastErr?.code === 'ECONNREFUSED' ? ErrorCodes.TARGET_REFUSED : ErrorCodes.TARGET_UNREACHABLE;
        stream.reset(wireCode(code), `connector ${this.spec.name} at ${this.host.routerId}: ${message}`);
        return;
      }
      tried.add(t);
      if (this.hasIdleConnection(t)) {
        this.accepted(stream, header, t, undefined);
        return;
      }
      t.active++;
      const socket = net.connect({ host: t.host, port: t.port, noDelay: true });
      const timer = this.host.clock.setTimeout(
        () =>
          socket.destroy(
            Object.assign(new Error(`connect to ${targetName(t)} timed out`), { code: 'ETIMEDOUT' }),
          ),
        this.spec.connectTimeoutMs ?? 5000,
      );
      const onReset = (): void => {
        timer.cancel();
        socket.destroy();
      };
      stream.once('reset', onReset);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        timer.cancel();
        stream.removeListener('reset', onReset);
        t.active--;
        this.counters.failed++;
        this.log.warn('target connection failed', {
          flow: header.fid,
          target: targetName(t),
          reason: err.message,
        });
        if (isTargetDownError(err.code)) this.pool.markFailed(t);
        next(err);
      });
      socket.once('connect', () => {
        timer.cancel();
        stream.removeListener('reset', onReset);
        t.active--;
        if (gone) return void socket.destroy();
        this.accepted(stream, header, t, socket);
      });
    };
    next();
  }

  /** The flow is accepted: read the request head off it, then run the request over the pool. */
  private accepted(stream: FlowStream, header: FlowHeader, t: Target, pre: net.Socket | undefined): void {
    this.counters.delivered++;
    t.active++;
    const target = targetName(t);
    stream.accept(
      Buffer.from(JSON.stringify({ router: this.host.routerId, connector: this.spec.name, target })),
    );
    const t0 = this.host.clock.monotonic();
    let status = 0;
    let done = false;
    let started = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      t.active--;
      if (started) this.metrics.finish(status, this.host.clock.monotonic() - t0);
    };
    stream.once('close', finish);

    let req: http.ClientRequest | undefined;
    let responded = false;
    /** request bytes that arrived before the target switched protocols (upgrade), with their flow credit */
    let held: Buffer[] | undefined;
    let upgradedSocket: Duplex | undefined;

    const badGateway = (reason: string): void => {
      if (responded) {
        stream.reset(wireCode(ErrorCodes.FLOW_RESET), reason);
        return;
      }
      responded = true;
      status = 502;
      this.counters.badGateway++;
      const body = `bad gateway: ${reason}\n`;
      const head: ResponseHead = {
        v: 1,
        status: 502,
        message: 'Bad Gateway',
        headers: [
          'Content-Type',
          'text/plain; charset=utf-8',
          'Content-Length',
          String(Buffer.byteLength(body)),
        ],
        body: 'length',
      };
      stream.write(encodeHead(head));
      stream.write(Buffer.from(body));
      stream.end();
    };

    const reader = new HeadReader(
      (json, n) => {
        stream.consumed(n);
        const head = parseRequestHead(json);
        started = true;
        this.metrics.start(head.method);
        if (head.upgrade !== undefined) held = [];
        this.send(head, header, t, pre, (r) => {
          req = r;
          return wire(r);
        });
      },
      (chunk) => {
        this.counters.bytesIn += chunk.length;
        if (upgradedSocket) {
          upgradedSocket.write(chunk, () => stream.consumed(chunk.length));
        } else if (held) {
          held.push(chunk);
        } else if (req && !req.writableEnded) {
          req.write(chunk, () => stream.consumed(chunk.length));
        } else {
          stream.consumed(chunk.length); // a body the head said is not there: dropped
        }
      },
    );

    /** Attach the response handlers to one request; returns its error handler. */
    const wire = (r: http.ClientRequest): ((err: NodeJS.ErrnoException) => void) => {
      r.on('response', (res: http.IncomingMessage) => {
        responded = true;
        status = res.statusCode ?? 0;
        const f = filterHeaders(res.rawHeaders, false);
        appendHeader(f.headers, 'Via', viaValue(res.httpVersion));
        const rh: ResponseHead = {
          v: 1,
          status: res.statusCode ?? 502,
          message: res.statusMessage ?? '',
          headers: f.headers,
          body: f.contentLength ? 'length' : 'chunked',
        };
        stream.write(encodeHead(rh));
        res.on('data', (chunk: Buffer) => {
          this.counters.bytesOut += chunk.length;
          if (!stream.write(chunk)) res.pause();
        });
        stream.on('drain', () => res.resume());
        res.on('end', () => stream.end());
        res.on('error', () => undefined);
        res.on('aborted', () => stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'target aborted the response'));
        // an upgrade answered without 101: the held bytes are not for anybody
        if (held) {
          for (const c of held) stream.consumed(c.length);
          held = undefined;
        }
      });
      r.on('upgrade', (res: http.IncomingMessage, socket: Duplex, early: Buffer) => {
        responded = true;
        status = 101;
        this.counters.upgrades++;
        upgradedSocket = socket;
        this.upgraded.add(socket);
        const f = filterHeaders(res.rawHeaders, true);
        appendHeader(f.headers, 'Via', viaValue(res.httpVersion));
        stream.write(
          encodeHead({
            v: 1,
            status: 101,
            message: res.statusMessage ?? 'Switching Protocols',
            headers: f.headers,
            body: 'none',
          }),
        );
        if (early.length > 0) stream.write(early);
        socket.on('data', (chunk: Buffer) => {
          this.counters.bytesOut += chunk.length;
          if (!stream.write(chunk)) socket.pause();
        });
        stream.on('drain', () => socket.resume());
        socket.on('end', () => stream.end());
        socket.on('error', () => undefined);
        socket.once('close', () => {
          this.upgraded.delete(socket);
          stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'target closed the upgraded connection');
        });
        for (const c of held ?? []) socket.write(c, () => stream.consumed(c.length));
        held = undefined;
      });
      return (err: NodeJS.ErrnoException) => {
        this.log.info('request to target failed', { flow: header.fid, target, reason: err.message });
        if (isTargetDownError(err.code) && !responded) this.pool.markFailed(t);
        badGateway(err.message);
      };
    };
    stream.on('data', (chunk: Buffer) => {
      try {
        reader.feed(chunk);
      } catch (e) {
        this.log.warn('bad request from the network', { flow: header.fid, reason: errorMessage(e) });
        stream.reset(wireCode(ErrorCodes.PROTOCOL), errorMessage(e));
      }
    });
    stream.on('end', () => {
      if (upgradedSocket) upgradedSocket.end();
      else if (req && !req.writableEnded) req.end();
    });
    stream.on('reset', () => {
      req?.destroy();
      upgradedSocket?.destroy();
    });
  }

  /**
   * Start the request; `wire` attaches the handlers and returns the error handler. A keep-alive connection the
   * target closed while it sat in the pool fails the request at once (ECONNRESET/EPIPE on a reused socket, nothing
   * answered): a request without a body is then sent once more on a new connection instead of answering 502.
   * Requests with a body are not: their bytes are already streaming from the client.
   */
  private send(
    head: RequestHead,
    header: FlowHeader,
    t: Target,
    pre: net.Socket | undefined,
    wire: (r: http.ClientRequest) => (err: NodeJS.ErrnoException) => void,
    retried = false,
  ): void {
    const r = this.startRequest(head, header, t, retried ? undefined : pre);
    let answered = false;
    r.once('response', () => (answered = true));
    r.once('upgrade', () => (answered = true));
    const onError = wire(r);
    r.on('error', (err: NodeJS.ErrnoException) => {
      const stale =
        !retried &&
        !answered &&
        r.reusedSocket &&
        head.body === 'none' &&
        head.upgrade === undefined &&
        (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      if (!stale) return onError(err);
      this.counters.staleRetries++;
      this.log.debug('pooled connection closed by the target; request sent again on a new connection', {
        flow: header.fid,
        target: targetName(t),
        reason: err.message,
      });
      this.send(head, header, t, undefined, wire, true);
    });
    if (head.upgrade !== undefined || head.body === 'none') r.end();
  }

  private startRequest(
    head: RequestHead,
    header: FlowHeader,
    t: Target,
    pre: net.Socket | undefined,
  ): http.ClientRequest {
    const f = filterHeaders(head.headers, head.upgrade !== undefined);
    const headers = f.headers;
    if (!hasHeader(headers, 'host')) headers.push('Host', targetName(t));
    if (this.spec.forwardedFor && !head.xff)
      appendHeader(headers, 'X-Forwarded-For', clientAddress(header.client));
    if (head.body === 'chunked') headers.push('Transfer-Encoding', 'chunked');
    const opts: PoolRequestOptions = {
      agent: this.agent,
      host: t.host,
      port: t.port,
      method: head.method,
      path: head.url,
      headers: headers as unknown as http.OutgoingHttpHeaders,
      setHost: false,
    };
    if (pre && !pre.destroyed) opts.caravanSocket = pre;
    const req = http.request(opts);
    // the agent may have used an idle pooled connection instead: the one made in advance is not needed
    if (pre) req.once('socket', (s) => s !== pre && pre.destroy());
    return req;
  }

  protected cutConnections(): void {
    this.agent.destroy();
    for (const s of this.upgraded) s.destroy();
  }
}
