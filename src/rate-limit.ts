/**
 * A token bucket on the injected clock: `take()` succeeds while tokens are left; tokens come back at `perSecond`,
 * up to `burst`. Bounds how fast a peer can make a router start work (stream opens), with a burst allowance so a
 * normal spike passes.
 */
import type { Clock } from './clock.js';

export interface RateLimit {
  /** sustained rate, events per second (> 0) */
  perSecond: number;
  /** events allowed at once after a quiet period (>= 1) */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {
    this.tokens = limit.burst;
    this.last = clock.monotonic();
  }

  /** Takes one token; false when none is left (the event is over the rate). */
  take(): boolean {
    const now = this.clock.monotonic();
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
