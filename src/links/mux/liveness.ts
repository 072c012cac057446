/**
 * Liveness of a mux session (docs/design/wire.md §10): PINGs and their round-trip times, the keepalive interval
 * and the idle timeout, all on the session's injected clock.
 */
import type { Clock, Timer } from '../../clock.js';

/** Keepalive does not stack more than this many unanswered PINGs. */
const MAX_KEEPALIVE_OUTSTANDING = 4;

interface PendingPing {
  start: number;
  resolve: (ms: number) => void;
  reject: (err: Error) => void;
}

/** What liveness needs from its session. */
export interface LivenessHost {
  /** a PING as the application would send it (refused once the session is closed) */
  ping(): Promise<number>;
  /** queue a PING frame with these opaque bytes */
  _sendPing(opaque: Buffer): void;
  /** an ACK measured a round trip */
  _rtt(ms: number): void;
  /** nothing was received for `quietMs`, at least the idle timeout */
  _idle(quietMs: number): void;
}

export class Liveness {
  rttMs: number | undefined;
  private readonly pings = new Map<number, PendingPing>();
  private nextPingId = 1;
  private lastRx: number;
  private idleTimer: Timer | undefined;
  private keepaliveTimer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly host: LivenessHost,
    private readonly keepaliveIntervalMs: number,
    private readonly idleTimeoutMs: number,
  ) {
    this.lastRx = clock.monotonic();
  }

  /** Arms the idle timeout and the keepalive interval (each when set). */
  start(): void {
    if (this.idleTimeoutMs > 0) this.armIdle(this.idleTimeoutMs);
    if (this.keepaliveIntervalMs > 0) {
      this.keepaliveTimer = this.clock
        .setInterval(() => {
          if (this.pings.size >= MAX_KEEPALIVE_OUTSTANDING) return;
          this.host.ping().catch(() => undefined);
        }, this.keepaliveIntervalMs)
        .unref();
    }
  }

  get keepalive(): boolean {
    return this.keepaliveTimer !== undefined;
  }

  /** Bytes arrived. */
  received(): void {
    this.lastRx = this.clock.monotonic();
  }

  /** Sends a PING; resolves with the round-trip time in ms. */
  ping(): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 1) >>> 0 || 1;
    const opaque = Buffer.alloc(8);
    opaque.writeUInt32BE(id, 4);
    return new Promise<number>((resolve, reject) => {
      this.pings.set(id, { start: this.clock.monotonic(), resolve, reject });
      this.host._sendPing(opaque);
    });
  }

  /** A PING ACK arrived; one that answers no PING of ours is ignored. */
  ack(opaque: Buffer): void {
    const id = opaque.readUInt32BE(4);
    const p = opaque.readUInt32BE(0) === 0 ? this.pings.get(id) : undefined;
    if (p === undefined) return;
    this.pings.delete(id);
    const ms = this.clock.monotonic() - p.start;
    this.rttMs = ms;
    this.host._rtt(ms);
    p.resolve(ms);
  }

  /** The session closed: timers cancelled, pending PINGs rejected with `err`. */
  stop(err: Error): void {
    this.idleTimer?.cancel();
    this.keepaliveTimer?.cancel();
    this.idleTimer = undefined;
    this.keepaliveTimer = undefined;
    for (const p of this.pings.values()) p.reject(err);
    this.pings.clear();
  }

  private armIdle(ms: number): void {
    this.idleTimer = this.clock
      .setTimeout(
        () => {
          this.idleTimer = undefined;
          const quiet = this.clock.monotonic() - this.lastRx;
          if (quiet >= this.idleTimeoutMs) this.host._idle(quiet);
          else this.armIdle(this.idleTimeoutMs - quiet);
        },
        Math.max(1, Math.ceil(ms)),
      )
      .unref();
  }
}
