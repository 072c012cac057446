import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { isIP } from 'node:net';
import type { Clock, Timer } from '../../clock.js';
import type { Logger } from '../../observe/log.js';
import { isTargetDownError } from '../common/targets.js';

export interface Http2ConnectorTls {
  /** PEM CA file to verify the target with (default: Node's built-in roots) */
  ca?: string;
  /** skip verifying the target's certificate (self-signed targets, tests) */
  insecure?: boolean;
  /** SNI and the name to verify (default: the target host, unless it is an IP address) */
  servername?: string;
}

export interface TargetOptions {
  host: string;
  port: number;
  tls?: Http2ConnectorTls;
  connectTimeoutMs: number;
  probeIntervalMs: number;
  log: Logger;
  /** the router's clock: connect timeout and probe interval */
  clock: Clock;
  /** called when this target turns healthy or unhealthy */
  onHealth: () => void;
}

export type SessionCallback = (
  err: NodeJS.ErrnoException | undefined,
  session?: http2.ClientHttp2Session,
) => void;

/**
 * One target of an http2 connector and the one HTTP/2 client session all its flows share. The session is dialled
 * on first use and again whenever it died or received GOAWAY (streams already on it finish there). A target
 * that refuses or cannot be reached turns unhealthy until a probe — a new session attempt, kept when it
 * connects — succeeds.
 */
export class Http2Target {
  /** flows on this target now */
  active = 0;
  sessionsOpened = 0;
  private _healthy = true;
  private session: http2.ClientHttp2Session | undefined;
  private connecting = false;
  private waiters: SessionCallback[] = [];
  private readonly all = new Set<http2.ClientHttp2Session>();
  private tlsOptions: Promise<http2.SecureClientSessionOptions> | undefined;
  private probeTimer: Timer | undefined;
  private stopped = false;

  constructor(private readonly o: TargetOptions) {}

  get healthy(): boolean {
    return this._healthy;
  }
  get tls(): boolean {
    return this.o.tls !== undefined;
  }
  get url(): string {
    const h = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `${this.o.tls ? 'https' : 'http'}://${h}:${this.o.port}`;
  }
  get sessions(): number {
    return this.all.size;
  }

  /** The connected session (dialling one if needed), or why there is none. */
  withSession(cb: SessionCallback): void {
    if (this.stopped) {
      cb(Object.assign(new Error('connector stopped'), { code: 'ESTOPPED' }));
      return;
    }
    const s = this.session;
    if (s && !s.closed && !s.destroyed) {
      cb(undefined, s);
      return;
    }
    this.session = undefined;
    this.waiters.push(cb);
    if (!this.connecting) this.connect();
  }

  private clientTlsOptions(): Promise<http2.SecureClientSessionOptions> {
    const tls = this.o.tls ?? {};
    this.tlsOptions ??= (async () => {
      const opts: http2.SecureClientSessionOptions = {};
      if (tls.ca) opts.ca = await readFile(tls.ca);
      if (tls.insecure) opts.rejectUnauthorized = false;
      const servername = tls.servername ?? (isIP(this.o.host) ? undefined : this.o.host);
      if (servername) opts.servername = servername;
      return opts;
    })();
    return this.tlsOptions;
  }

  private connect(): void {
    this.connecting = true;
    const opts = this.o.tls ? this.clientTlsOptions() : Promise.resolve({});
    opts.then(
      (o) => {
        if (this.stopped) {
          this.connecting = false;
          return;
        }
        this.open(o);
      },
      (err: NodeJS.ErrnoException) => {
        this.tlsOptions = undefined;
        this.connecting = false;
        this.failWaiters(
          Object.assign(new Error(`cannot read TLS files: ${err.message}`), { code: err.code ?? 'ECONFIG' }),
        );
      },
    );
  }

  private open(o: http2.SecureClientSessionOptions): void {
    const s = http2.connect(this.url, o);
    this.all.add(s);
    let settled = false;
    const timer = this.o.clock.setTimeout(() => {
      s.destroy(Object.assign(new Error(`connect to ${this.url} timed out`), { code: 'ETIMEDOUT' }));
    }, this.o.connectTimeoutMs);
    const failed = (err: NodeJS.ErrnoException): void => {
      timer.cancel();
      if (settled) return;
      settled = true;
      this.connecting = false;
      this.failWaiters(err);
      if (isTargetDownError(err.code)) this.markUnhealthy();
      else if (!this._healthy) this.scheduleProbe();
    };
    s.once('connect', () => {
      timer.cancel();
      if (settled) return;
      settled = true;
      this.connecting = false;
      this.sessionsOpened++;
      if (this.stopped) {
        s.destroy();
        return;
      }
      this.session = s;
      this.o.log.debug('session to target open', { target: this.url });
      if (!this._healthy) {
        this._healthy = true;
        this.probeTimer?.cancel();
        this.probeTimer = undefined;
        this.o.log.info('target answers again: connector advertised', { target: this.url });
        this.o.onHealth();
      }
      const w = this.waiters;
      this.waiters = [];
      for (const cb of w) cb(undefined, s);
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) failed(err);
      else this.o.log.info('session to target failed', { target: this.url, error: err.message });
    });
    s.once('goaway', () => {
      if (this.session === s) this.session = undefined;
    });
    s.once('close', () => {
      this.all.delete(s);
      if (this.session === s) this.session = undefined;
      failed(Object.assign(new Error('session closed before it connected'), { code: 'ECONNRESET' }));
    });
  }

  private failWaiters(err: NodeJS.ErrnoException): void {
    const w = this.waiters;
    this.waiters = [];
    for (const cb of w) cb(err);
  }

  private markUnhealthy(): void {
    if (this.stopped) return;
    if (this._healthy) {
      this._healthy = false;
      this.o.log.warn('target down: withdrawn until it answers again', { target: this.url });
      this.o.onHealth();
    }
    // a probe that found the target still down schedules the next one: without it, a target down for longer
    // than one probe interval stayed withdrawn for good
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped || this.probeTimer) return;
    this.probeTimer = this.o.clock
      .setTimeout(() => {
        this.probeTimer = undefined;
        if (this.stopped || this._healthy) return;
        if (!this.connecting) this.connect();
      }, this.o.probeIntervalMs)
      .unref();
  }

  stop(): void {
    this.stopped = true;
    this.probeTimer?.cancel();
    this.failWaiters(Object.assign(new Error('connector stopped'), { code: 'ESTOPPED' }));
    for (const s of this.all) s.destroy();
    this.session = undefined;
  }
}
