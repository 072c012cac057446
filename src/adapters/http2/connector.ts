import http2 from 'node:http2';
import { ErrorCodes, errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import {
  decodeHeaders,
  encodeHeaders,
  Flags,
  FrameType,
  h2CodeOf,
  resetReason,
  type Frame,
  type HeaderBlock,
} from './frames.js';
import { H2Metrics } from './metrics.js';
import {
  CreditReturner,
  NGHTTP2_CANCEL,
  NGHTTP2_FLAG_END_STREAM,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_REFUSED_STREAM,
  pumpToFlow,
  readFrames,
  sinkData,
  takeTrailers,
} from './relay.js';
import { Http2Target, type Http2ConnectorTls } from './target.js';
import { SpecAdapter } from '../common/spec-adapter.js';

export type { Http2ConnectorTls } from './target.js';

export interface Http2ConnectorSpec {
  name: string;
  routingKey: string;
  /** targets; flows go to the healthy one with the fewest active flows */
  targets: Array<{ host: string; port: number }>;
  /** speak TLS (ALPN h2) to the targets; without it, h2c with prior knowledge */
  tls?: Http2ConnectorTls;
  /** give up connecting to a target after this long (default 5000 ms) */
  connectTimeoutMs?: number;
  /** while a target is down, probe it this often (default 2000 ms) */
  probeIntervalMs?: number;
}

/**
 * An HTTP/2 connector: one client session per target, shared by every flow (each flow is one stream on it),
 * re-created when it dies or receives GOAWAY. When a target refuses, the flow is reset with TARGET_REFUSED (the
 * ingress router retries elsewhere) and the target is skipped until a probe session connects; the connector
 * withdraws itself while no target is healthy.
 */
export class Http2Connector extends SpecAdapter<Http2ConnectorSpec> implements ConnectorAdapter {
  readonly metrics = new H2Metrics();
  private readonly targets: Http2Target[];
  private readonly log: Logger;

  constructor(
    private readonly host: AdapterHost,
    spec: Http2ConnectorSpec,
    logger: Logger,
  ) {
    super(spec);
    this.log = logger.child({ subsystem: 'http2', connector: spec.name, key: spec.routingKey });
    if (spec.targets.length === 0) throw new Error(`connector ${spec.name}: no targets`);
    this.targets = spec.targets.map(
      (t) =>
        new Http2Target({
          host: t.host,
          port: t.port,
          ...(spec.tls ? { tls: spec.tls } : {}),
          connectTimeoutMs: spec.connectTimeoutMs ?? 5000,
          probeIntervalMs: spec.probeIntervalMs ?? 2000,
          log: this.log,
          clock: host.clock,
          onHealth: () => this.host.refreshAddresses(),
        }),
    );
  }

  get healthy(): boolean {
    return this.targets.some((t) => t.healthy);
  }
  get target(): string {
    return this.targets.map((t) => t.url).join(', ');
  }
  stats(): Record<string, number> {
    let sessions = 0;
    let sessionsOpened = 0;
    for (const t of this.targets) {
      sessions += t.sessions;
      sessionsOpened += t.sessionsOpened;
    }
    return { ...this.metrics.snapshot(), sessions, sessionsOpened };
  }

  /** the healthy target with the fewest active flows, not in `tried` (any untried one if none is healthy) */
  private pick(tried: ReadonlySet<Http2Target>): Http2Target | undefined {
    let best: Http2Target | undefined;
    for (const t of this.targets) {
      if (tried.has(t) || !t.healthy) continue;
      if (!best || t.active < best.active) best = t;
    }
    return best ?? (tried.size === 0 ? this.targets[0] : undefined);
  }

  deliver(flow: FlowStream, header: FlowHeader): void {
    if (header.proto !== 'http2') {
      flow.reset(
        wireCode(ErrorCodes.PROTOCOL),
        `connector ${this.spec.name} at ${this.host.routerId} speaks http2, not ${header.proto}`,
      );
      return;
    }
    const m = this.metrics;
    m.streams++;
    m.active++;
    let aborted = false;
    const onEarlyReset = (): void => {
      aborted = true;
    };
    flow.once('reset', onEarlyReset);
    const tried = new Set<Http2Target>();
    const attempt = (target: Http2Target): void => {
      tried.add(target);
      target.active++;
      target.withSession((err, session) => {
        if (aborted) {
          m.active--;
          target.active--;
          return;
        }
        if (err || !session) {
          target.active--;
          const code =
            err?.code === 'ECONNREFUSED' ? ErrorCodes.TARGET_REFUSED : ErrorCodes.TARGET_UNREACHABLE;
          const reason = err?.message ?? 'no session';
          this.log.warn('target connection failed', {
            flow: header.fid,
            client: header.client,
            target: target.url,
            code,
            reason,
          });
          // another healthy target of this connector first; else the ingress router tries elsewhere
          const next = this.pick(tried);
          if (next && err?.code !== 'ESTOPPED') return attempt(next);
          flow.removeListener('reset', onEarlyReset);
          m.active--;
          m.refused++;
          flow.reset(wireCode(code), `connector ${this.spec.name} at ${this.host.routerId}: ${reason}`);
          return;
        }
        flow.removeListener('reset', onEarlyReset);
        flow.accept(
          Buffer.from(
            JSON.stringify({ router: this.host.routerId, connector: this.spec.name, target: target.url }),
          ),
        );
        this.log.debug('flow delivered', { flow: header.fid, client: header.client, src: header.src });
        this.relay(flow, header, session, target);
      });
    };
    attempt(this.pick(tried) as Http2Target);
  }

  /** Carry one flow as one stream on `session`. */
  private relay(
    flow: FlowStream,
    header: FlowHeader,
    session: http2.ClientHttp2Session,
    target: Http2Target,
  ): void {
    const m = this.metrics;
    const started = this.host.clock.monotonic();
    let req: http2.ClientHttp2Stream | undefined;
    let credit: CreditReturner | undefined;
    let reqTrailers: HeaderBlock | undefined;
    let requestDone = false;
    let responseDone = false;
    let flowClosed = false;
    let finished = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      m.active--;
      target.active--;
      if (requestDone && responseDone) m.latency(this.host.clock.monotonic() - started);
    };
    const protocolError = (why: string): void => {
      this.log.warn('protocol error on flow', { flow: header.fid, reason: why });
      flow.reset(wireCode(ErrorCodes.PROTOCOL), why);
      if (req && !req.closed) req.close(NGHTTP2_INTERNAL_ERROR);
      if (!req) finish();
    };

    const startRequest = (h: HeaderBlock, end: boolean): void => {
      h[':scheme'] = target.tls ? 'https' : 'http';
      try {
        req = session.request(h, end ? { endStream: true } : { waitForTrailers: true });
      } catch (e) {
        // the session went away between accept and now: the client may safely retry
        flow.reset(wireCode(ErrorCodes.FLOW_RESET), resetReason(NGHTTP2_REFUSED_STREAM, errorMessage(e)));
        finish();
        return;
      }
      const r = req;
      credit = new CreditReturner(flow, r);
      if (end) requestDone = true;
      else {
        r.once('wantTrailers', () => {
          if (!r.closed) r.sendTrailers(reqTrailers ?? {});
        });
      }
      r.on('error', (err) => this.log.debug('target stream error', { flow: header.fid, error: err.message }));
      r.on('headers', (info: http2.IncomingHttpHeaders) => {
        flow.write(encodeHeaders(FrameType.INFO, 0, info));
      });
      r.once('response', (rh: http2.IncomingHttpHeaders, flags: number) => {
        const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
        m.status(rh[':status']);
        if (endStream) m.grpcStatus(rh);
        flow.write(encodeHeaders(FrameType.HEAD, endStream ? Flags.END_STREAM : 0, rh));
        if (endStream) {
          pump.stop();
          responseDone = true;
          flow.end();
        }
      });
      const pump = pumpToFlow(r, flow, {
        onBytes: (n) => (m.bytesOut += n),
        onTrailers: (t) => m.grpcStatus(t),
        onDone: () => (responseDone = true),
      });
      r.once('close', () => {
        if (!flowClosed && !(requestDone && responseDone)) {
          const rst = r.rstCode ?? NGHTTP2_INTERNAL_ERROR;
          if (rst !== 0) m.resets++;
          flow.reset(wireCode(ErrorCodes.FLOW_RESET), resetReason(rst, 'target stream closed'));
        }
        finish();
      });
    };

    const onFrame = (f: Frame): void => {
      switch (f.type) {
        case FrameType.HEAD:
          if (req) return protocolError('second request head');
          startRequest(decodeHeaders(f.payload), (f.flags & Flags.END_STREAM) !== 0);
          flow.consumed(f.wireLength);
          return;
        case FrameType.DATA:
          if (!req || !credit) return protocolError('request body before its head');
          m.bytesIn += sinkData(f, credit);
          return;
        case FrameType.TRAILERS:
          reqTrailers = takeTrailers(flow, f);
          return;
        case FrameType.INFO:
          return protocolError('informational head in a request');
      }
    };
    readFrames(flow, onFrame, protocolError);
    flow.on('end', () => {
      if (!req) return protocolError('request ended without a head');
      if (!requestDone) {
        requestDone = true;
        if (!req.closed) req.end();
      }
    });
    flow.on('reset', (code: number, reason: string) => {
      if (!req) {
        finish();
        return;
      }
      if (req.closed) return;
      m.resets++;
      const h2code = h2CodeOf(reason) ?? NGHTTP2_CANCEL;
      this.log.debug('flow reset: target stream cancelled', { flow: header.fid, code, reason, h2code });
      req.close(h2code);
    });
    flow.once('close', () => {
      flowClosed = true;
    });
  }

  stop(): void {
    for (const t of this.targets) t.stop();
  }
}
