import net from 'node:net';
import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { pipeSocketFlow } from './pipe.js';

export interface TcpConnectorSpec {
  name: string;
  routingKey: string;
  host: string;
  port: number;
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

const UNHEALTHY_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * A TCP connector: delivers flows for its routing key to host:port. When the target refuses or cannot be reached
 * the flow is reset with the reason (the ingress router then tries another connector) and the connector withdraws
 * itself from the network until a probe connection succeeds again.
 */
export class TcpConnector implements ConnectorAdapter {
  readonly counters: TcpConnectorStats = { delivered: 0, active: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  private _healthy = true;
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly log: Logger;

  constructor(
    private readonly host: AdapterHost,
    readonly spec: TcpConnectorSpec,
    logger: Logger,
  ) {
    this.log = logger.child({ subsystem: 'tcp', connector: spec.name, key: spec.routingKey });
  }

  get name(): string {
    return this.spec.name;
  }
  get routingKey(): string {
    return this.spec.routingKey;
  }
  get healthy(): boolean {
    return this._healthy;
  }
  stats(): Record<string, number> {
    return { ...this.counters };
  }
  get target(): string {
    return `${this.spec.host}:${this.spec.port}`;
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    this.counters.active++;
    const socket = net.connect({
      host: this.spec.host,
      port: this.spec.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.sockets.add(socket);
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`connect to ${this.target} timed out`), { code: 'ETIMEDOUT' }));
    }, this.spec.connectTimeoutMs ?? 5000);
    const onStreamReset = (): void => {
      if (!connected) socket.destroy();
    };
    stream.once('reset', onStreamReset);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.counters.active--;
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (connected) return; // reported by the pipe
      this.counters.failed++;
      const unreachable = err.code !== 'ECONNREFUSED';
      const code = unreachable ? ErrorCodes.TARGET_UNREACHABLE : ErrorCodes.TARGET_REFUSED;
      this.log.warn('target connection failed', {
        flow: header.fid,
        client: header.client,
        target: this.target,
        code,
        reason: err.message,
      });
      stream.reset(wireCode(code), `connector ${this.spec.name} at ${this.host.routerId}: ${err.message}`);
      if (err.code !== undefined && UNHEALTHY_ERRORS.has(err.code)) this.markUnhealthy();
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      stream.removeListener('reset', onStreamReset);
      this.counters.delivered++;
      stream.accept(
        Buffer.from(
          JSON.stringify({ router: this.host.routerId, connector: this.spec.name, target: this.target }),
        ),
      );
      this.log.debug('flow delivered', { flow: header.fid, client: header.client, src: header.src });
      pipeSocketFlow(socket, stream, (o) => {
        this.counters.bytesIn += o.bytesToSocket;
        this.counters.bytesOut += o.bytesFromSocket;
        if (o.outcome !== 'ok') {
          this.log.info('flow ended abnormally', { flow: header.fid, outcome: o.outcome, reason: o.reason });
        }
      });
    });
  }

  private markUnhealthy(): void {
    if (!this._healthy || this.stopped) return;
    this._healthy = false;
    this.log.warn('target down: connector withdrawn until it answers again', { target: this.target });
    this.host.refreshAddresses();
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.probeTimer = setTimeout(() => this.probe(), this.spec.probeIntervalMs ?? 2000);
    this.probeTimer.unref();
  }

  private probe(): void {
    const s = net.connect({ host: this.spec.host, port: this.spec.port });
    const timer = setTimeout(() => s.destroy(), this.spec.connectTimeoutMs ?? 5000);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      if (this.stopped) return;
      this._healthy = true;
      this.log.info('target answers again: connector advertised', { target: this.target });
      this.host.refreshAddresses();
    });
    s.once('error', () => {
      clearTimeout(timer);
      this.scheduleProbe();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const s of this.sockets) s.destroy();
  }
}
