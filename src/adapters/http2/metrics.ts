/**
 * Request metrics of one http2 listener or connector (so: of one routing key), as flat counters for stats():
 * streams, active, refused, resets, deadlineExceeded, `status2xx` … per status class, `grpcStatus<n>` per gRPC
 * status, and a cumulative latency histogram `latencyLe<ms>ms` (+ `latencyLeInf`, `latencySumMs`,
 * `latencyCount`) of whole streams (first request header to end of response).
 */

export const LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export class H2Metrics {
  streams = 0;
  active = 0;
  refused = 0;
  resets = 0;
  deadlineExceeded = 0;
  bytesIn = 0;
  bytesOut = 0;
  private readonly statusClasses = new Map<string, number>();
  private readonly grpcStatuses = new Map<string, number>();
  private readonly buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private latencySum = 0;
  private latencyCount = 0;

  status(s: unknown): void {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 100 || n > 599) return;
    const k = `status${Math.floor(n / 100)}xx`;
    this.statusClasses.set(k, (this.statusClasses.get(k) ?? 0) + 1);
  }

  /** record `grpc-status` from a header block, if present */
  grpcStatus(headers: Record<string, unknown>): void {
    const v = headers['grpc-status'];
    const s = Array.isArray(v) ? v[0] : v;
    if (s === undefined) return;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 99) return;
    const k = `grpcStatus${n}`;
    this.grpcStatuses.set(k, (this.grpcStatuses.get(k) ?? 0) + 1);
  }

  latency(ms: number): void {
    this.latencySum += ms;
    this.latencyCount++;
    let i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
    if (i < 0) i = LATENCY_BUCKETS_MS.length;
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      streams: this.streams,
      active: this.active,
      refused: this.refused,
      resets: this.resets,
      deadlineExceeded: this.deadlineExceeded,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
    for (const [k, v] of this.statusClasses) out[k] = v;
    for (const [k, v] of this.grpcStatuses) out[k] = v;
    let cum = 0;
    LATENCY_BUCKETS_MS.forEach((b, i) => {
      cum += this.buckets[i] ?? 0;
      out[`latencyLe${b}ms`] = cum;
    });
    out['latencyLeInf'] = cum + (this.buckets[LATENCY_BUCKETS_MS.length] ?? 0);
    out['latencySumMs'] = Math.round(this.latencySum);
    out['latencyCount'] = this.latencyCount;
    return out;
  }
}
