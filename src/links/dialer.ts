import type net from 'node:net';
import tls from 'node:tls';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { Backoff } from '../backoff.js';
import { MuxSession, type MuxSessionOptions } from './mux/session.js';
import { connectViaProxy, type ProxyConfig } from '../http-proxy.js';
import { OutboundLinkMachine, type LinkState } from './state.js';
import { describeTlsError, linkPeerIdentity } from './tls.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface DialerOptions {
  /** Link resource name; also the link id at this router */
  name: string;
  endpoints: Endpoint[];
  cost: number;
  secureContext: tls.SecureContext;
  /** a new session is up (TLS verified, peer preface received) */
  onSession: (
    session: MuxSession,
    info: { id: string; name: string; direction: 'out'; cost: number; peerRouterId: string },
  ) => void;
  /** the router id the server's certificate must name (learned when the token was redeemed), if known */
  expectedPeer?: string;
  logger: Logger;
  mux?: Omit<MuxSessionOptions, 'initiator' | 'logger'>;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  connectTimeoutMs?: number;
  /** dial through this HTTP proxy (CONNECT tunnel) */
  proxy?: ProxyConfig;
  /** time and timers (connect timeout, redial backoff); default systemClock */
  clock?: Clock;
}

/** A link that stayed up this long before it dropped redials at once (the backoff starts over). */
const STABLE_LINK_MS = 10_000;

/**
 * Dials one Link: tries its endpoints in turn, verifies the peer against the link's CA (mutual TLS), runs the
 * multiplexer over the connection, and redials with exponential backoff and jitter whenever it drops.
 */
export class LinkDialer {
  private readonly sm: OutboundLinkMachine;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly clock: Clock;
  private endpointIndex = 0;
  private timer: Timer | undefined;
  private socket: tls.TLSSocket | undefined;
  private session: MuxSession | undefined;
  private stopped = false;
  /** monotonic time the session came up; undefined while it is not up */
  private connectedAt: number | undefined;

  constructor(private readonly opts: DialerOptions) {
    this.opts = { ...opts };
    this.log = opts.logger.child({ subsystem: 'link', link: opts.name });
    this.clock = opts.clock ?? systemClock;
    this.sm = new OutboundLinkMachine(opts.name, this.log, this.clock);
    this.backoff = new Backoff({ initialMs: opts.backoffInitialMs ?? 250, maxMs: opts.backoffMaxMs ?? 5000 });
  }

  get state(): LinkState {
    return this.sm.state;
  }
  get lastError(): string | undefined {
    return this.sm.lastError;
  }
  /** the proxy the link goes through (its URL without the password), if any */
  get proxy(): string | undefined {
    return this.opts.proxy?.display;
  }
  get endpoint(): Endpoint | undefined {
    return this.opts.endpoints[this.endpointIndex % this.opts.endpoints.length];
  }

  start(): void {
    this.dial();
  }

  /** New TLS material (e.g. a renewed certificate) for the next dials; the current connection stays up. */
  updateSecureContext(ctx: tls.SecureContext): void {
    this.opts.secureContext = ctx;
  }

  private dial(): void {
    if (this.stopped) return;
    const ep = this.opts.endpoints[this.endpointIndex % this.opts.endpoints.length];
    if (!ep) return;
    this.sm.transition('connecting');
    const proxy = this.opts.proxy;
    if (!proxy) {
      this.handshake(ep);
      return;
    }
    connectViaProxy(proxy, ep.host, ep.port, this.opts.connectTimeoutMs ?? 10_000).then(
      (tunnel) => {
        if (this.stopped) tunnel.destroy();
        else this.handshake(ep, tunnel);
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.down(`${ep.host}:${ep.port} via ${proxy.display}: ${errorMessage(err)}`);
      },
    );
  }

  /** TLS (mutual, pinned to the link's CA) and the multiplexer, on a new connection or on a proxy tunnel. */
  private handshake(ep: Endpoint, tunnel?: net.Socket): void {
    const socket = tls.connect({
      ...(tunnel ? { socket: tunnel } : { host: ep.host, port: ep.port }),
      secureContext: this.opts.secureContext,
      // Trust is pinned to the link's CA (the accepting site's own CA); the server's name is not what we verify,
      // since sites are often reached through NAT or by an address that is not in the certificate.
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.3',
    });
    socket.setNoDelay(true);
    this.socket = socket;
    const timeout = this.clock.setTimeout(
      () =>
        socket.destroy(
          new CaravanError(ErrorCodes.LINK_TIMEOUT, `connect to ${ep.host}:${ep.port} timed out`),
        ),
      this.opts.connectTimeoutMs ?? 10_000,
    );
    let failed = false;
    const fail = (reason: string): void => {
      if (failed) return;
      failed = true;
      timeout.cancel();
      this.socket = undefined;
      this.session = undefined;
      socket.destroy();
      // a deleted link stays stopped: its connection closing is not a reason to dial again
      if (this.stopped) return;
      // Only a link that was up for a while starts the backoff over; failed dials keep backing off.
      if (this.connectedAt !== undefined && this.clock.monotonic() - this.connectedAt > STABLE_LINK_MS)
        this.backoff.reset();
      this.connectedAt = undefined;
      this.down(reason);
    };
    socket.once('error', (err: Error & { code?: string }) => {
      fail(`${ep.host}:${ep.port}: ${describeTlsError(err)}`);
    });
    socket.once('secureConnect', () => {
      timeout.cancel();
      const identity = linkPeerIdentity(socket.getPeerCertificate(), 'server');
      if ('refused' in identity) {
        fail(`${ep.host}:${ep.port}: ${identity.refused}`);
        return;
      }
      if (this.opts.expectedPeer !== undefined && identity.routerId !== this.opts.expectedPeer) {
        fail(
          `${ep.host}:${ep.port}: the server is router ${identity.routerId}, the link was made for ${this.opts.expectedPeer}`,
        );
        return;
      }
      const peerRouterId = identity.routerId;
      socket.setKeepAlive(true, 10_000);
      const session = new MuxSession(socket, { ...this.opts.mux, initiator: true, logger: this.log });
      this.session = session;
      session.once('close', (err?: Error) => fail(err ? errorMessage(err) : 'link closed by peer'));
      session.once('ready', () => {
        if (this.stopped) return; // stop() already sent GOAWAY on this session
        this.connectedAt = this.clock.monotonic();
        this.sm.transition('up');
        this.log.info('link connected', {
          endpoint: `${ep.host}:${ep.port}`,
          cost: this.opts.cost,
          ...(this.opts.proxy ? { via: this.opts.proxy.display } : {}),
        });
        this.opts.onSession(session, {
          id: this.opts.name,
          name: this.opts.name,
          direction: 'out',
          cost: this.opts.cost,
          peerRouterId,
        });
      });
    });
  }

  /** The cost announced by sessions from now on (the caller updates the current link in the router). */
  setCost(cost: number): void {
    this.opts.cost = cost;
  }

  /** The connection failed or dropped: `down`, and the next dial after the backoff. */
  private down(reason: string): void {
    const from = this.sm.transition('down', reason);
    this.log.warn(from === 'up' ? 'link down' : 'link not connected', { reason });
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    if (this.stopped) return;
    this.endpointIndex++;
    const delay = this.backoff.next();
    this.log.debug('redial scheduled', { inMs: delay, attempt: this.backoff.attempts });
    this.timer = this.clock.setTimeout(() => this.dial(), delay);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    const session = this.session;
    if (session && !session.closed) session.goAway(0, 'link deleted');
    else this.socket?.destroy();
    this.sm.transition('stopped');
  }

  destroy(): void {
    this.stop();
    this.session?.destroy(new CaravanError(ErrorCodes.LINK_CLOSED, 'link stopped'));
    this.socket?.destroy();
  }
}
