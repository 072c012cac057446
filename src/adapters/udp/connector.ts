import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock, Timer } from '../../clock.js';
import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { DatagramPump, QueueBudget, newUdpCounters, type UdpCounters } from './session.js';
import { PooledConnector } from '../common/pooled-connector.js';
import { targetName, type Target } from '../common/targets.js';

/** How often a target that answered "port unreachable" is probed, and how long a probe waits for that answer. */
const PROBE_INTERVAL_MS = 2000;
const PROBE_WAIT_MS = 500;

/**
 * Whether a UDP target listens: one empty datagram on a connected socket; an ICMP port unreachable comes back as
 * ECONNREFUSED within `waitMs` if nothing is bound there. Silence counts as up (UDP cannot tell a quiet service
 * from a filtered one). Only failed targets are probed, so a service sees at most one empty datagram when it
 * comes back.
 */
export function udpProbe(t: { host: string; port: number }, waitMs: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: net.isIPv6(t.host) ? 'udp6' : 'udp4' });
    let done = false;
    const finish = (up: boolean): void => {
      if (done) return;
      done = true;
      timer.cancel();
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(up);
    };
    const timer = clock.setTimeout(() => finish(true), waitMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code !== 'ECONNREFUSED'));
    socket.connect(t.port, t.host, () => socket.send(Buffer.alloc(0)));
  });
}

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
  target: Target;
  closed: boolean;
  flow: string;
}

/**
 * A UDP connector: each flow is one client session; it gets its own UDP socket connected to a target, so replies
 * from the target go back to that session only. Sessions close after the idle timeout or when the listener side
 * ends them. A target that answers "port unreachable" (ICMP, seen as ECONNREFUSED) is skipped, its session reset
 * (the client's next datagram starts a session elsewhere), and probed until it listens again; while no target
 * listens the connector is withdrawn (`healthy` is false while every target answered "port unreachable" and
 * its probes still get that answer).
 */
export class UdpConnector extends PooledConnector<UdpConnectorSpec> implements ConnectorAdapter {
  readonly counters: UdpCounters & { refused: number; failed: number; targetUnreachable: number } = {
    ...newUdpCounters(),
    refused: 0,
    failed: 0,
    targetUnreachable: 0,
  };
  private readonly sessions = new Set<Session>();
  private readonly budget: QueueBudget;
  private readonly sweepTimer: Timer;
  private readonly idleMs: number;

  constructor(host: AdapterHost, spec: UdpConnectorSpec, logger: Logger) {
    if (spec.targets.length === 0) throw new Error(`connector ${spec.name}: no targets`);
    super(host, spec, logger, 'udp', {
      targets: spec.targets,
      probeIntervalMs: PROBE_INTERVAL_MS,
      connectTimeoutMs: PROBE_WAIT_MS,
      probe: (t, ms) => udpProbe(t, ms, host.clock),
    });
    this.budget = new QueueBudget(spec.maxTotalQueueBytes ?? DEFAULTS.maxTotalQueueBytes);
    this.idleMs = spec.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
    this.sweepTimer = host.clock
      .setInterval(() => this.sweep(), Math.max(50, Math.min(1000, Math.floor(this.idleMs / 4))))
      .unref();
  }

  stats(): Record<string, number> {
    return { ...this.counters, queuedBytes: this.budget.used };
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (this.refusesProtocol(stream, header, 'udp')) return;
    if (this.counters.sessions >= (this.spec.maxSessions ?? DEFAULTS.maxSessions)) {
      this.counters.refused++;
      stream.reset(
        wireCode(ErrorCodes.TARGET_REFUSED),
        `connector ${this.spec.name} at ${this.host.routerId}: session limit reached`,
      );
      return;
    }
    const t = this.pool.pick();
    if (!t) {
      this.counters.refused++;
      stream.reset(
        wireCode(ErrorCodes.TARGET_REFUSED),
        `connector ${this.spec.name} at ${this.host.routerId}: no target listens (port unreachable)`,
      );
      return;
    }
    const socket = dgram.createSocket({ type: net.isIPv6(t.host) ? 'udp6' : 'udp4' });
    const s: Session = { socket, target: t, closed: false, flow: header.fid };
    this.sessions.add(s);
    t.active++;
    this.counters.sessions++;
    this.counters.sessionsTotal++;
    let connected = false;
    const onStreamReset = (): void => {
      if (!connected) this.close(s);
    };
    stream.once('reset', onStreamReset);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) {
        this.counters.sendErrors++;
        if (err.code !== 'ECONNREFUSED') return; // the datagram is lost, the session stays
        // ICMP port unreachable: nothing listens there. Skip the target until a probe says otherwise, and end the
        // session so that the client's next datagram opens one to a target (or connector) that listens.
        this.counters.targetUnreachable++;
        this.log.warn(
          'udp target answered port unreachable: session reset, target skipped until it listens',
          {
            flow: header.fid,
            target: targetName(t),
          },
        );
        this.pool.markFailed(t);
        stream.reset(
          wireCode(ErrorCodes.TARGET_REFUSED),
          `connector ${this.spec.name} at ${this.host.routerId}: ${targetName(t)} port unreachable`,
        );
        this.close(s);
        return;
      }
      this.counters.failed++;
      this.log.warn('udp target not reachable', {
        flow: header.fid,
        target: targetName(t),
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
          clock: this.host.clock,
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
            target: targetName(t),
          }),
        ),
      );
      this.log.debug('udp session delivered', {
        flow: header.fid,
        client: header.client,
        target: targetName(t),
      });
    });
  }

  private close(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s);
    s.target.active--;
    this.counters.sessions--;
    s.pump?.end();
    try {
      s.socket.close();
    } catch {
      // already closed
    }
  }

  private sweep(): void {
    const now = this.host.clock.monotonic();
    for (const s of this.sessions) {
      if (s.pump && now - s.pump.lastActive >= this.idleMs) {
        this.counters.idleClosed++;
        this.log.debug('udp session idle', { flow: s.flow });
        this.close(s);
      }
    }
  }

  protected cutConnections(): void {
    this.sweepTimer.cancel();
    for (const s of [...this.sessions]) {
      s.pump?.stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'connector stopped');
      this.close(s);
    }
  }
}
