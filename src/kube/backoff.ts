/**
 * Capped exponential backoff with jitter for the watch loop: the n-th wait is a random time in
 * [d/2, d] with d = min(maxMs, initialMs·2^n). The random source is injectable so tests are deterministic.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  next(): number {
    const d = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(d / 2 + (d / 2) * (this.opts.random ?? Math.random)());
  }

  reset(): void {
    this.attempt = 0;
  }
}
