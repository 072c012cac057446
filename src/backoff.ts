/**
 * Capped exponential backoff with jitter (link reconnects, the Kubernetes watch loop): the n-th retry waits a
 * random time in [d/2, d] with d = min(maxMs, initialMs·2^n). Pure (the random source is injectable for tests).
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
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt);
    if (this.attempt < 30) this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(ceiling / 2 + (ceiling / 2) * r);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
