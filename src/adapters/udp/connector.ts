import dgram from 'node:dgram';
import net from 'node:net';
import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { DatagramPump, QueueBudget, newUdpCounters, type UdpCounters } from './session.js';
import { SpecAdapter } from '../common/spec-adapter.js';

export interface UdpConnectorSpec {
  name: string;
  routingKey: string;
  /** one or more targets; sessions balance across them (fewest active sessions) */
  targets: Array<{ host: string; port: number }>;
  /** close a session after this long without a datagram either way (default 60000 ms) */
  idleTimeoutMs?: number;
  /** at most this many concurrent sessions (default 10000); more are refused (the core tries elsewhere) */
  maxSessions?: number;
  /** per-session bound on datagram bytes queued towards the network (default 512 KiB) */
  maxQueueBytes?: number;
  /** bound on datagram bytes queued towards the network by all sessions together (default 32 MiB) */
  maxTotalQueueBytes?: number;
}

const DEFAULTS = {
  idleTimeoutMs: 60_000,
  maxSessions: 10_000,
  maxQueueBytes: 512 * 1024,
  maxTotalQueueBytes: 32 * 1024 * 1024,
} as const;

interface Session {
  socket: dgram.Socket;
  pump?: DatagramPump;
  target: number;
  closed: boolean;
  flow: string;
}

/**
 * A UDP connector: each flow is one client session; it gets its own UDP socket connected to a target, so replies
 * from the target go back to that session only. Sessions close after the idle timeout or when the listener side
 * ends them.
 */
export class UdpConnector extends SpecAdapter<UdpConnectorSpec> implements ConnectorAdapter {
  readonly counters: UdpCounters & { refused: number; failed: number } = {
    ...newUdpCounters(),
    refused: 0,
    failed: 0,
  };
  private readonly sessions = new Set<Session>();
  private readonly active: number[];
  private readonly budget: QueueBudget;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly idleMs: number;
  private readonly log: Logger;

  constructor(
    private readonly host: AdapterHost,
    spec: UdpConnectorSpec,
    logger: Logger,
  ) {
    super(spec);
    if (spec.targets.length === 0) throw new Error(`connector ${spec.name}: no targets`);
    this.log = logger.child({ subsystem: 'udp', connector: spec.name, key: spec.routingKey });
    this.active = spec.targets.map(() => 0);
    this.budget = new QueueBudget(spec.maxTotalQueueBytes ?? DEFAULTS.maxTotalQueueBytes);
    this.idleMs = spec.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
    this.sweepTimer = setInterval(
      () => this.sweep(),
      Math.max(50, Math.min(1000, Math.floor(this.idleMs / 4))),
    );
    this.sweepTimer.unref();
  }

  /** UDP is connectionless: the target cannot be probed, so the connector stays advertised. */
  get healthy(): boolean {
    return true;
  }
  get target(): string {
    return this.spec.targets.map((t) => hostPort(t.host, t.port)).join(',');
  }
  stats(): Record<string, number> {
    return { ...this.counters, queuedBytes: this.budget.used };
  }

  private pickTarget(): number {
    let best = 0;
    for (let i = 1; i < this.active.length; i++) if (this.active[i]! < this.active[best]!) best = i;
    return best;
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (header.proto !== 'udp') {
      stream.reset(
        wireCode(ErrorCodes.PROTOCOL),
        `connector ${this.spec.name} is udp, the flow is ${header.proto}`,
      );
      return;
    }
    if (this.counters.sessions >= (this.spec.maxSessions ?? DEFAULTS.maxSessions)) {
      this.counters.refused++;
      stream.reset(
        wireCode(ErrorCodes.TARGET_REFUSED),
        `connector ${this.spec.name} at ${this.host.routerId}: session limit reached`,
      );
      return;
    }
    const ti = this.pickTarget();
    const t = this.spec.targets[ti]!;
    const socket = dgram.createSocket({ type: net.isIPv6(t.host) ? 'udp6' : 'udp4' });
    const s: Session = { socket, target: ti, closed: false, flow: header.fid };
    this.sessions.add(s);
    this.active[ti]!++;
    this.counters.sessions++;
    this.counters.sessionsTotal++;
    let connected = false;
    const onStreamReset = (): void => {
      if (!connected) this.close(s);
    };
    stream.once('reset', onStreamReset);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) {
        // e.g. ECONNREFUSED after an ICMP port unreachable: the session stays, the datagram is lost
        this.counters.sendErrors++;
        return;
      }
      this.counters.failed++;
      this.log.warn('udp target not reachable', {
        flow: header.fid,
        target: hostPort(t.host, t.port),
        reason: err.message,
      });
      stream.reset(
        wireCode(ErrorCodes.TARGET_UNREACHABLE),
        `connector ${this.spec.name} at ${this.host.routerId}: ${err.message}`,
      );
      this.close(s);
    });
    socket.connect(t.port, t.host, () => {
      if (s.closed) return;
      connected = true;
      stream.removeListener('reset', onStreamReset);
      try {
        socket.setRecvBufferSize(1024 * 1024);
      } catch {
        // bounded by net.core.rmem_max
      }
      const pump = new DatagramPump(
        stream,
        (dg, cb) => {
          if (s.closed) return cb(new Error('session closed'));
          socket.send(dg, (err) => cb(err ?? null));
        },
        {
          maxQueueBytes: this.spec.maxQueueBytes ?? DEFAULTS.maxQueueBytes,
          global: this.budget,
          counters: this.counters,
        },
      );
      s.pump = pump;
      socket.on('message', (msg) => pump.toFlow(msg));
      stream.on('end', () => {
        pump.end();
        this.close(s);
      });
      stream.on('reset', () => this.close(s));
      stream.once('close', () => this.close(s));
      stream.accept(
        Buffer.from(
          JSON.stringify({
            router: this.host.routerId,
            connector: this.spec.name,
            target: hostPort(t.host, t.port),
          }),
        ),
      );
      this.log.debug('udp session delivered', {
        flow: header.fid,
        client: header.client,
        target: hostPort(t.host, t.port),
      });
    });
  }

  private close(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s);
    this.active[s.target]!--;
    this.counters.sessions--;
    s.pump?.end();
    try {
      s.socket.close();
    } catch {
      // already closed
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      if (s.pump && now - s.pump.lastActive >= this.idleMs) {
        this.counters.idleClosed++;
        this.log.debug('udp session idle', { flow: s.flow });
        this.close(s);
      }
    }
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    for (const s of [...this.sessions]) {
      s.pump?.stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'connector stopped');
      this.close(s);
    }
  }
}

function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
