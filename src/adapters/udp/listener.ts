import dgram from 'node:dgram';
import net from 'node:net';
import type { Timer } from '../../clock.js';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { AdapterHost, ListenerAdapter, OpenedFlow } from '../../router/contract.js';
import { DatagramPump, QueueBudget, newUdpCounters, type UdpCounters } from './session.js';
import { listenError } from '../common/listen.js';
import { ListenerBase, type ListenerBaseSpec } from '../common/spec-adapter.js';

export interface UdpListenerSpec extends ListenerBaseSpec {
  /** `client`: all sessions of one client address go to the same connector while it stays reachable */
  affinity?: 'client';
  /** close a session after this long without a datagram either way (default 60000 ms) */
  idleTimeoutMs?: number;
  /** at most this many concurrent sessions (default 10000); datagrams of new clients beyond it are dropped */
  maxSessions?: number;
  /** per-session bound on datagram bytes queued towards the network (default 512 KiB) */
  maxQueueBytes?: number;
  /** bound on datagram bytes queued towards the network by all sessions together (default 32 MiB) */
  maxTotalQueueBytes?: number;
}

export const UDP_DEFAULTS = {
  idleTimeoutMs: 60_000,
  maxSessions: 10_000,
  maxQueueBytes: 512 * 1024,
  maxTotalQueueBytes: 32 * 1024 * 1024,
  /** after a session's flow could not be established, its datagrams are dropped this long before a new try */
  retryAfterMs: 1000,
} as const;

interface Session {
  client: string;
  address: string;
  port: number;
  state: 'opening' | 'open' | 'failed' | 'closed';
  /** datagrams received while the flow was being established */
  early: Buffer[];
  earlyBytes: number;
  pump?: DatagramPump;
  lastActive: number;
}

/**
 * A UDP listener: binds a UDP port; every client address:port is a session carried as one flow (datagram
 * boundaries preserved), closed after an idle timeout.
 */
export class UdpListener extends ListenerBase<UdpListenerSpec> implements ListenerAdapter {
  readonly counters: UdpCounters & { refused: number } = { ...newUdpCounters(), refused: 0 };
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly budget: QueueBudget;
  private sweepTimer: Timer | undefined;
  private readonly idleMs: number;

  constructor(host: AdapterHost, spec: UdpListenerSpec, logger: Logger) {
    super(host, spec, logger, 'udp');
    this.budget = new QueueBudget(spec.maxTotalQueueBytes ?? UDP_DEFAULTS.maxTotalQueueBytes);
    this.idleMs = spec.idleTimeoutMs ?? UDP_DEFAULTS.idleTimeoutMs;
  }

  get port(): number | undefined {
    try {
      return this.socket?.address().port;
    } catch {
      return undefined;
    }
  }
  stats(): Record<string, number> {
    return {
      ...this.counters,
      queuedBytes: this.budget.used,
      ...this.deniedStats(),
    };
  }

  start(): Promise<void> {
    const socket = dgram.createSocket({ type: net.isIPv6(this.spec.host) ? 'udp6' : 'udp4' });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.socket = undefined;
        reject(listenError(this.spec.name, `udp ${this.spec.host}:${this.spec.port}`, err));
      };
      socket.once('error', onError);
      socket.bind({ address: this.spec.host, port: this.spec.port, exclusive: true }, () => {
        socket.removeListener('error', onError);
        socket.on('error', (err) => this.log.error('udp socket error', { error: err.message }));
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // limited by net.core.rmem_max / wmem_max; the defaults still work
        }
        socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
        const every = Math.max(50, Math.min(1000, Math.floor(this.idleMs / 4)));
        this.sweepTimer = this.host.clock.setInterval(() => this.sweep(), every).unref();
        this.log.info('listening', { address: `udp ${this.spec.host}:${this.port}` });
        resolve();
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.allow && !this.allow.allows(rinfo.address)) {
      this.allow.deny(`${rinfo.address}:${rinfo.port}`);
      return;
    }
    const client = net.isIPv6(rinfo.address)
      ? `[${rinfo.address}]:${rinfo.port}`
      : `${rinfo.address}:${rinfo.port}`;
    let s = this.sessions.get(client);
    if (!s) {
      if (this.counters.sessions >= (this.spec.maxSessions ?? UDP_DEFAULTS.maxSessions)) {
        this.counters.droppedSessionLimit++;
        return;
      }
      s = this.openSession(client, rinfo);
    }
    switch (s.state) {
      case 'open':
        s.lastActive = this.host.clock.monotonic();
        s.pump?.toFlow(msg);
        return;
      case 'opening': {
        s.lastActive = this.host.clock.monotonic();
        const n = msg.length + 2;
        if (
          s.earlyBytes + n > (this.spec.maxQueueBytes ?? UDP_DEFAULTS.maxQueueBytes) ||
          !this.budget.take(n)
        ) {
          this.counters.droppedQueueFull++;
          return;
        }
        s.early.push(msg);
        s.earlyBytes += n;
        return;
      }
      default:
        this.counters.droppedNoFlow++;
    }
  }

  private openSession(client: string, rinfo: dgram.RemoteInfo): Session {
    const s: Session = {
      client,
      address: rinfo.address,
      port: rinfo.port,
      state: 'opening',
      early: [],
      earlyBytes: 0,
      lastActive: this.host.clock.monotonic(),
    };
    this.sessions.set(client, s);
    this.counters.sessions++;
    this.counters.sessionsTotal++;
    const established = ({ stream, header }: OpenedFlow): void => {
      const socket = this.socket;
      if (s.state !== 'opening' || !socket) {
        stream.end();
        return;
      }
      s.state = 'open';
      const pump = new DatagramPump(
        stream,
        (dg, cb) => {
          if (s.state === 'closed' || !this.socket) return cb(new Error('session closed'));
          this.socket.send(dg, s.port, s.address, (err) => cb(err ?? null));
        },
        {
          maxQueueBytes: this.spec.maxQueueBytes ?? UDP_DEFAULTS.maxQueueBytes,
          global: this.budget,
          counters: this.counters,
          clock: this.host.clock,
        },
      );
      s.pump = pump;
      stream.on('end', () => this.closeSession(s, 'peer ended'));
      stream.on('reset', (code, reason) => {
        this.log.debug('udp session reset', { flow: header.fid, client, code, reason });
        this.closeSession(s, 'reset');
      });
      stream.once('close', () => this.closeSession(s, 'closed'));
      const early = s.early;
      this.budget.release(s.earlyBytes);
      s.early = [];
      s.earlyBytes = 0;
      for (const dg of early) pump.toFlow(dg);
      this.log.debug('udp session established', { flow: header.fid, client });
    };
    this.host
      .openFlow(
        {
          routingKey: this.spec.routingKey,
          listener: this.spec.name,
          client,
          distribution: this.spec.distribution,
          proto: 'udp',
          ...(this.spec.affinity === 'client' ? { affinityKey: rinfo.address } : {}),
        },
        established,
      )
      .catch((err: unknown) => {
        this.counters.refused++;
        this.counters.droppedNoFlow += s.early.length;
        this.budget.release(s.earlyBytes);
        s.early = [];
        s.earlyBytes = 0;
        this.log.warn('udp session refused: no flow could be established', {
          client,
          code: isCaravanError(err) ? err.code : ErrorCodes.FLOW_RESET,
          reason: errorMessage(err),
        });
        // Datagrams of this client are dropped for a moment, then a new datagram tries again.
        if (s.state === 'opening') s.state = 'failed';
        s.lastActive = this.host.clock.monotonic();
      });
    return s;
  }

  private closeSession(s: Session, why: string): void {
    if (s.state === 'closed') return;
    const wasOpen = s.state === 'open';
    s.state = 'closed';
    if (this.sessions.get(s.client) === s) this.sessions.delete(s.client);
    this.counters.sessions--;
    this.budget.release(s.earlyBytes);
    s.early = [];
    s.earlyBytes = 0;
    if (wasOpen) s.pump?.end();
    this.log.debug('udp session closed', { client: s.client, reason: why });
  }

  private sweep(): void {
    const now = this.host.clock.monotonic();
    for (const s of this.sessions.values()) {
      const last = Math.max(s.lastActive, s.pump?.lastActive ?? 0);
      if (s.state === 'failed') {
        if (now - s.lastActive >= UDP_DEFAULTS.retryAfterMs) this.closeSession(s, 'retry');
      } else if (now - last >= this.idleMs) {
        this.counters.idleClosed++;
        this.closeSession(s, 'idle');
      }
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.sweepTimer?.cancel();
    for (const s of [...this.sessions.values()]) {
      this.closeSession(s, 'listener stopped');
    }
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
