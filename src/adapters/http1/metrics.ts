/**
 * Request metrics of an HTTP adapter, per routing key: requests by method, responses by status class and a
 * latency histogram (request start → response end). Kept in memory; `flatten()` feeds the adapter's stats().
 */
export const LATENCY_BUCKETS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
] as const;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

export interface RequestMetricsSnapshot {
  requests: number;
  active: number;
  byMethod: Record<string, number>;
  byStatusClass: Record<string, number>;
  latencyMs: { buckets: Array<{ le: number; count: number }>; count: number; sum: number };
}

export class RequestMetrics {
  requests = 0;
  active = 0;
  readonly byMethod = new Map<string, number>();
  readonly byStatusClass = new Map<string, number>();
  /** cumulative counts per bucket (Prometheus style: le), last = +Inf */
  private readonly buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private latencyCount = 0;
  private latencySum = 0;

  start(method: string | undefined): void {
    this.requests++;
    this.active++;
    const m = method && METHODS.has(method) ? method : 'OTHER';
    this.byMethod.set(m, (this.byMethod.get(m) ?? 0) + 1);
  }

  /** A request finished: its status (0 when no response was sent) and latency. */
  finish(status: number, latencyMs: number): void {
    this.active--;
    const cls = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
    this.byStatusClass.set(cls, (this.byStatusClass.get(cls) ?? 0) + 1);
    this.latencyCount++;
    this.latencySum += latencyMs;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && latencyMs > LATENCY_BUCKETS_MS[i]!) i++;
    this.buckets[i]!++;
  }

  snapshot(): RequestMetricsSnapshot {
    let cum = 0;
    const buckets: Array<{ le: number; count: number }> = LATENCY_BUCKETS_MS.map((le, i) => ({
      le,
      count: (cum += this.buckets[i]!),
    }));
    buckets.push({ le: Infinity, count: cum + this.buckets[LATENCY_BUCKETS_MS.length]! });
    return {
      requests: this.requests,
      active: this.active,
      byMethod: Object.fromEntries(this.byMethod),
      byStatusClass: Object.fromEntries(this.byStatusClass),
      latencyMs: { buckets, count: this.latencyCount, sum: this.latencySum },
    };
  }

  /** `requests`, `method_GET`, `status_2xx`, `latency_ms_le_5` (cumulative), `latency_ms_count`, `latency_ms_sum`. */
  flatten(): Record<string, number> {
    const s = this.snapshot();
    const out: Record<string, number> = { requests: s.requests, requestsActive: s.active };
    for (const [m, n] of Object.entries(s.byMethod)) out[`method_${m}`] = n;
    for (const [c, n] of Object.entries(s.byStatusClass)) out[`status_${c}`] = n;
    for (const b of s.latencyMs.buckets) out[`latency_ms_le_${b.le === Infinity ? 'inf' : b.le}`] = b.count;
    out['latency_ms_count'] = s.latencyMs.count;
    out['latency_ms_sum'] = Math.round(s.latencyMs.sum);
    return out;
  }
}
