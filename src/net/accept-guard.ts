/**
 * The guard in front of every public accept path (link port, grant server, console): what an unauthenticated
 * client can hold is bounded.
 *
 * - A connection is *in handshake* from accept until its TLS handshake completes (`tls` servers) or its first
 *   HTTP request arrives (`http` servers). That phase has a deadline (`handshakeTimeoutMs`, default 10 s): a
 *   connection still in handshake then is destroyed.
 * - At most `maxHandshakes` connections (default 256) are in handshake at once, and at most
 *   `maxHandshakesPerAddress` (default 32) from one source address; connections beyond are closed at accept,
 *   before any TLS state is allocated for them.
 * - Accept errors never reach the process: `EMFILE`/`ENFILE` (out of file descriptors) pause admission for a
 *   backoff (1 s doubling to 30 s): connections accepted meanwhile are closed at once, so the descriptors that are
 *   left serve the connections already established. One line says so when it starts and one when it ends. With an
 *   FdWatch, admission also pauses while the process is near its descriptor limit (fd-watch.ts).
 * - Every refusal is counted by reason (`stats()`, exported as `caravan_connections_refused_total`) and logged
 *   through a RateLimitedLog: a few lines in full per interval, then one summary line with the counts.
 *
 * `attach(server, kind)` puts the guard in front of a net/tls/http/https server: it wraps the server's own
 * `connection` listeners (so a refused socket never reaches TLS or the HTTP parser) and listens to the events that
 * end the handshake. Call it right after creating the server, before `listen`.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { LogFields, Logger } from '../observe/log.js';
import { RateLimitedLog } from '../observe/rate-limited-log.js';
import type { FdWatch } from './fd-watch.js';

export interface AcceptLimits {
  /** a connection must finish its handshake (TLS, or first HTTP request) within this; default 10 s */
  handshakeTimeoutMs: number;
  /** connections in handshake at once; default 256 */
  maxHandshakes: number;
  /** connections in handshake at once from one source address; default 32 */
  maxHandshakesPerAddress: number;
}

export const DEFAULT_ACCEPT_LIMITS: Readonly<AcceptLimits> = {
  handshakeTimeoutMs: 10_000,
  maxHandshakes: 256,
  maxHandshakesPerAddress: 32,
};

/** Why a connection was refused; servers may add their own (e.g. `certificate_refused`, `bad_host`). */
export const RefusalReasons = {
  HANDSHAKE_TIMEOUT: 'handshake_timeout',
  HANDSHAKE_FAILED: 'handshake_failed',
  TOO_MANY_HANDSHAKES: 'too_many_handshakes',
  TOO_MANY_FROM_ADDRESS: 'too_many_from_address',
  /** accept failed with EMFILE/ENFILE, or the connection was closed at accept while descriptors ran out */
  FD_EXHAUSTED: 'fd_exhausted',
} as const;

export type HandshakeKind = 'tls' | 'http';

export interface AcceptGuardOptions {
  /** the server's name in logs and metrics: `link`, `grant`, `console` */
  server: string;
  logger: Logger;
  limits?: Partial<AcceptLimits>;
  clock?: Clock;
  /** the message of refusal lines (default `connection refused`) */
  refusedMessage?: string;
  /** turns a TLS handshake error into a reason a person can act on */
  describeError?: (err: Error & { code?: string }) => string;
  /** first accept pause after EMFILE/ENFILE; doubles on repeats up to pauseMaxMs (defaults 1 s, 30 s) */
  pauseInitialMs?: number;
  pauseMaxMs?: number;
  /** interval of the refusal summaries (default 10 s) */
  logIntervalMs?: number;
  /** pause admission while the process is near its file-descriptor limit */
  fdWatch?: FdWatch;
}

export interface AcceptGuardStats {
  /** connections in handshake now */
  handshaking: number;
  /** refusals since start, by reason */
  refused: Record<string, number>;
  /** true while admission is paused after EMFILE/ENFILE */
  paused: boolean;
}

interface Entry {
  socket: net.Socket;
  address: string;
  key: string;
  peer: string;
  timer: Timer;
  done: boolean;
}

const FD_ERRORS = new Set(['EMFILE', 'ENFILE']);
/** a pause that starts this long after the previous one ended starts again from pauseInitialMs */
const PAUSE_STREAK_RESET_MS = 60_000;

/** The address a per-address cap counts under (IPv4-mapped IPv6 addresses as plain IPv4). */
export function sourceAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

function connectionKey(s: net.Socket): string {
  return `${s.localAddress}|${s.localPort}|${s.remoteAddress}|${s.remotePort}`;
}

export class AcceptGuard {
  readonly server: string;
  private limits: AcceptLimits;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly refusals: RateLimitedLog;
  private readonly byKey = new Map<string, Entry>();
  private readonly bySocket = new Map<net.Socket, Entry>();
  private readonly perAddress = new Map<string, number>();
  private readonly refused = new Map<string, number>();
  private pauseTimer: Timer | undefined;
  private pauseStreak = 0;
  private lastResume = -Infinity;
  private droppedInPause = 0;

  constructor(private readonly opts: AcceptGuardOptions) {
    this.server = opts.server;
    this.limits = { ...DEFAULT_ACCEPT_LIMITS, ...definedOnly(opts.limits) };
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ subsystem: 'accept-guard', server: opts.server });
    this.refusals = new RateLimitedLog({
      logger: opts.logger.child({ server: opts.server }),
      clock: this.clock,
      message: opts.refusedMessage ?? 'connection refused',
      ...(opts.logIntervalMs !== undefined ? { intervalMs: opts.logIntervalMs } : {}),
    });
  }

  /** New limits (defaults where not given) apply to connections accepted from now on; true when they changed. */
  setLimits(limits: Partial<AcceptLimits> | undefined): boolean {
    const next = { ...DEFAULT_ACCEPT_LIMITS, ...definedOnly(limits) };
    const changed = JSON.stringify(next) !== JSON.stringify(this.limits);
    this.limits = next;
    return changed;
  }

  get currentLimits(): Readonly<AcceptLimits> {
    return this.limits;
  }

  stats(): AcceptGuardStats {
    return {
      handshaking: this.byKey.size,
      refused: Object.fromEntries(this.refused),
      paused: this.pauseTimer !== undefined || (this.opts.fdWatch?.exhaustedAtLastSample ?? false),
    };
  }

  /** Puts the guard in front of `server` (call before `listen`). */
  attach(server: net.Server, kind: HandshakeKind): void {
    const inner = server.listeners('connection') as Array<(this: net.Server, s: net.Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => {
      if (!this.admit(socket)) return;
      for (const fn of inner) fn.call(server, socket);
    });
    server.on('error', (err: NodeJS.ErrnoException) => this.serverError(err));
    if (kind === 'tls') {
      server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
        const e = this.byKey.get(connectionKey(socket));
        if (e) this.finish(e);
      });
      server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
        const e = this.byKey.get(connectionKey(socket));
        if (e && !e.done) {
          this.finish(e, RefusalReasons.HANDSHAKE_FAILED, {
            detail: this.opts.describeError?.(err) ?? err.message,
          });
        }
        socket.destroy();
      });
    } else {
      server.prependListener('request', (req: IncomingMessage) => {
        const e = this.bySocket.get(req.socket);
        if (e) this.finish(e);
      });
    }
  }

  /** A refusal the server decided itself (after the handshake): counted and logged like the guard's own. */
  refuse(reason: string, fields: LogFields = {}): void {
    this.count(reason);
    this.refusals.event(reason, fields);
  }

  /** Destroys the connections still in handshake (their server is stopping); they are not counted as refused. */
  abortHandshakes(): void {
    for (const e of [...this.byKey.values()]) {
      this.remove(e);
      e.socket.destroy();
    }
  }

  /**
   * The server this guard is in front of stops: a guard of its own (`owned`) closes, a guard that outlives
   * restarts of the server (given to it) only aborts the handshakes in flight.
   */
  serverStopped(owned: boolean): void {
    if (owned) this.close();
    else this.abortHandshakes();
  }

  /** Aborts the handshakes, stops the timers and writes the pending summary. */
  close(): void {
    this.abortHandshakes();
    this.pauseTimer?.cancel();
    this.pauseTimer = undefined;
    this.refusals.close();
  }

  private admit(socket: net.Socket): boolean {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const watch = this.opts.fdWatch;
    if (this.pauseTimer || watch?.exhausted) {
      this.droppedInPause++;
      if (watch) watch.closedWhileExhausted++;
      this.count(RefusalReasons.FD_EXHAUSTED);
      socket.destroy();
      return false;
    }
    const address = sourceAddress(socket.remoteAddress);
    let reason: string | undefined;
    if (this.byKey.size >= this.limits.maxHandshakes) reason = RefusalReasons.TOO_MANY_HANDSHAKES;
    else if ((this.perAddress.get(address) ?? 0) >= this.limits.maxHandshakesPerAddress)
      reason = RefusalReasons.TOO_MANY_FROM_ADDRESS;
    if (reason) {
      this.refuse(reason, { peer });
      socket.destroy();
      return false;
    }
    const entry: Entry = {
      socket,
      address,
      key: connectionKey(socket),
      peer,
      done: false,
      timer: this.clock
        .setTimeout(() => {
          this.finish(entry, RefusalReasons.HANDSHAKE_TIMEOUT, {
            detail: `no completed handshake within ${this.limits.handshakeTimeoutMs} ms`,
          });
          socket.destroy();
        }, this.limits.handshakeTimeoutMs)
        .unref(),
    };
    this.byKey.set(entry.key, entry);
    this.bySocket.set(socket, entry);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      if (!entry.done)
        this.finish(entry, RefusalReasons.HANDSHAKE_FAILED, {
          detail: 'the peer closed the connection during the handshake',
        });
    });
    return true;
  }

  /** Ends the handshake phase of a connection: completed (no reason) or refused. */
  private finish(e: Entry, reason?: string, fields: LogFields = {}): void {
    if (e.done) return;
    this.remove(e);
    if (reason) this.refuse(reason, { peer: e.peer, ...fields });
  }

  private remove(e: Entry): void {
    e.done = true;
    e.timer.cancel();
    this.byKey.delete(e.key);
    this.bySocket.delete(e.socket);
    const n = (this.perAddress.get(e.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(e.address);
    else this.perAddress.set(e.address, n);
  }

  private count(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  private serverError(err: NodeJS.ErrnoException): void {
    if (err.syscall === 'listen') return; // the server's own start reports it
    if (err.code !== undefined && FD_ERRORS.has(err.code)) {
      this.count(RefusalReasons.FD_EXHAUSTED);
      this.pause(err.code);
      return;
    }
    this.refusals.event('server_error', { error: err.message, ...(err.code ? { code: err.code } : {}) });
  }

  private pause(code: string): void {
    if (this.pauseTimer) return;
    const now = this.clock.monotonic();
    if (now - this.lastResume > PAUSE_STREAK_RESET_MS) this.pauseStreak = 0;
    const initial = this.opts.pauseInitialMs ?? 1000;
    const max = this.opts.pauseMaxMs ?? 30_000;
    const ms = Math.min(max, initial * 2 ** this.pauseStreak);
    this.pauseStreak++;
    this.droppedInPause = 0;
    this.log.error('out of file descriptors: new connections are closed at accept for a while', {
      code,
      pauseMs: ms,
      handshaking: this.byKey.size,
    });
    this.pauseTimer = this.clock
      .setTimeout(() => {
        this.pauseTimer = undefined;
        this.lastResume = this.clock.monotonic();
        this.log.info('accepting connections again', { closedWhilePaused: this.droppedInPause });
      }, ms)
      .unref();
  }
}

function definedOnly<T extends object>(o: Partial<T> | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
