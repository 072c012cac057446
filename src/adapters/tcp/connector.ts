import net from 'node:net';
import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { pipeSocketFlow } from './pipe.js';
import { type Target, isTargetDownError, targetName } from '../common/targets.js';
import { PooledConnector } from '../common/pooled-connector.js';

export interface TcpConnectorSpec {
  name: string;
  routingKey: string;
  host: string;
  port: number;
  /** several targets (instead of host/port): flows balance across them, fewest active first, failed ones skipped */
  targets?: Array<{ host: string; port: number }>;
  /** give up connecting to the target after this long (default 5000 ms) */
  connectTimeoutMs?: number;
  /** while the target is down, probe it this often (default 2000 ms) */
  probeIntervalMs?: number;
}

export interface TcpConnectorStats {
  delivered: number;
  active: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * A TCP connector: delivers flows for its routing key to host:port. When the target refuses or cannot be reached
 * the flow is reset with the reason (the ingress router then tries another connector) and the connector withdraws
 * itself from the network until a probe connection succeeds again.
 */
export class TcpConnector extends PooledConnector<TcpConnectorSpec> implements ConnectorAdapter {
  readonly counters: TcpConnectorStats = { delivered: 0, active: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  private readonly sockets = new Set<net.Socket>();
  /** per target: its name and the ACCEPT payload naming it, encoded once instead of for every flow */
  private readonly perTarget = new Map<Target, { name: string; accept: Buffer }>();

  constructor(host: AdapterHost, spec: TcpConnectorSpec, logger: Logger) {
    super(host, spec, logger, 'tcp', {
      targets: spec.targets ?? [{ host: spec.host, port: spec.port }],
      probeIntervalMs: spec.probeIntervalMs ?? 2000,
      connectTimeoutMs: spec.connectTimeoutMs ?? 5000,
    });
  }

  protected override targetChanged(t: Target): void {
    if (this.pool.targets.length > 1)
      this.log.info(t.failed ? 'target down: skipped' : 'target answers again', { target: targetName(t) });
  }

  /**
   * Takes a new spec while running, for the same routing key: flows from now on go to its targets; flows already
   * established are not touched (their sockets stay open), so a target list that follows pods cuts nothing.
   */
  update(spec: TcpConnectorSpec): void {
    this.replaceSpec(spec);
    this.pool.setTargets(spec.targets ?? [{ host: spec.host, port: spec.port }]);
    this.log.info('connector updated in place', { target: this.target });
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    this.counters.active++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.counters.active--;
    };
    let streamGone = false;
    stream.once('reset', () => {
      streamGone = true;
    });
    const tried = new Set<Target>();
    const tryNext = (lastErr?: NodeJS.ErrnoException): void => {
      const t = streamGone ? undefined : this.pool.pick(tried);
      if (!t) {
        release();
        if (!streamGone) this.refuse(stream, header, lastErr);
        return;
      }
      tried.add(t);
      this.connect(stream, header, t, release, tryNext);
    };
    tryNext();
  }

  private refuse(stream: FlowStream, header: FlowHeader, err: NodeJS.ErrnoException | undefined): void {
    const message = err?.message ?? `no healthy target (${this.target})`;
    const code = err?.code === 'ECONNREFUSED' ? ErrorCodes.TARGET_REFUSED : ErrorCodes.TARGET_UNREACHABLE;
    stream.reset(wireCode(code), `connector ${this.spec.name} at ${this.host.routerId}: ${message}`);
    this.log.debug('flow refused', { flow: header.fid, code, reason: message });
  }

  /** Connect one flow to one target; on failure before the connection, `next(err)` tries another target. */
  private connect(
    stream: FlowStream,
    header: FlowHeader,
    t: Target,
    release: () => void,
    next: (err: NodeJS.ErrnoException) => void,
  ): void {
    const { name: target, accept } = this.targetInfo(t);
    t.active++;
    const socket = net.connect({ host: t.host, port: t.port, allowHalfOpen: true, noDelay: true });
    this.sockets.add(socket);
    let connected = false;
    const timer = this.host.clock.setTimeout(() => {
      socket.destroy(Object.assign(new Error(`connect to ${target} timed out`), { code: 'ETIMEDOUT' }));
    }, this.spec.connectTimeoutMs ?? 5000);
    const onStreamReset = (): void => {
      if (!connected) socket.destroy();
    };
    stream.once('reset', onStreamReset);
    let failed = false;
    socket.once('close', () => {
      timer.cancel();
      this.sockets.delete(socket);
      t.active--;
      if (!failed) release(); // a failed attempt hands over to next(), which releases when it gives up
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      timer.cancel();
      if (connected) return; // reported by the pipe
      failed = true;
      stream.removeListener('reset', onStreamReset);
      this.counters.failed++;
      const unreachable = err.code !== 'ECONNREFUSED';
      const code = unreachable ? ErrorCodes.TARGET_UNREACHABLE : ErrorCodes.TARGET_REFUSED;
      this.log.warn('target connection failed', {
        flow: header.fid,
        client: header.client,
        target,
        code,
        reason: err.message,
      });
      if (isTargetDownError(err.code)) this.pool.markFailed(t);
      next(err);
    });
    socket.once('connect', () => {
      timer.cancel();
      connected = true;
      stream.removeListener('reset', onStreamReset);
      this.counters.delivered++;
      stream.accept(accept);
      if (this.log.enabled('debug'))
        this.log.debug('flow delivered', { flow: header.fid, client: header.client, src: header.src });
      pipeSocketFlow(socket, stream, { id: header.fid, log: this.log }, (o) => {
        this.counters.bytesIn += o.bytesToSocket;
        this.counters.bytesOut += o.bytesFromSocket;
        if (o.outcome !== 'ok') {
          this.log.info('flow ended abnormally', { flow: header.fid, outcome: o.outcome, reason: o.reason });
        }
      });
    });
  }

  private targetInfo(t: Target): { name: string; accept: Buffer } {
    let info = this.perTarget.get(t);
    if (info === undefined) {
      const name = targetName(t);
      const accept = Buffer.from(
        JSON.stringify({ router: this.host.routerId, connector: this.spec.name, target: name }),
      );
      info = { name, accept };
      this.perTarget.set(t, info);
    }
    return info;
  }

  protected cutConnections(): void {
    // reset, not close: the target must not read a clean end-of-stream from a flow that was cut short
    for (const s of this.sockets) if (!s.destroyed) s.resetAndDestroy();
  }
}
