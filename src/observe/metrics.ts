/**
 * A small Prometheus metrics registry: counters, gauges and histograms with labels, and the text exposition
 * format (version 0.0.4). Written here instead of depending on `prom-client` (docs/dependencies.md): the router
 * needs a few dozen series, most of them read from counters the core and the adapters already keep, so metrics are
 * mostly filled at scrape time by `collect` callbacks registered on the registry.
 */

export type Labels = Record<string, string>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelKey(labelNames: readonly string[], labels: Labels): string {
  return labelNames.map((n) => labels[n] ?? '').join('\u0000');
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts: string[] = [];
  names.forEach((n, i) => parts.push(`${n}="${escapeLabelValue(values[i] ?? '')}"`));
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME_RE.test(name)) throw new RangeError(`invalid metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || l === 'le')
        throw new RangeError(`invalid label name '${l}' on ${name}`);
    }
  }
  abstract readonly type: MetricType;
  abstract reset(): void;
  abstract lines(out: string[]): void;
}

/** Counter or gauge: one number per label set. */
class Scalar extends Metric {
  protected readonly values = new Map<string, { labels: string[]; v: number }>();
  constructor(
    readonly type: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly string[],
  ) {
    super(name, help, labelNames);
  }

  protected slot(labels: Labels): { labels: string[]; v: number } {
    const k = labelKey(this.labelNames, labels);
    let s = this.values.get(k);
    if (!s) {
      s = { labels: this.labelNames.map((n) => labels[n] ?? ''), v: 0 };
      this.values.set(k, s);
    }
    return s;
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(this.labelNames, labels))?.v ?? 0;
  }

  reset(): void {
    this.values.clear();
  }

  lines(out: string[]): void {
    for (const s of this.values.values())
      out.push(`${this.name}${formatLabels(this.labelNames, s.labels)} ${formatValue(s.v)}`);
  }
}

export class Counter extends Scalar {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super('counter', name, help, labelNames);
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`counter ${this.name} cannot decrease`);
    this.slot(labels).v += by;
  }
  /** set from an external monotonic counter (collect callbacks) */
  set(labels: Labels, v: number): void {
    this.slot(labels).v = v;
  }
}

export class Gauge extends Scalar {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super('gauge', name, help, labelNames);
  }
  set(labels: Labels, v: number): void {
    this.slot(labels).v = v;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.slot(labels).v += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.slot(labels).v -= by;
  }
}

interface HistogramSlot {
  labels: string[];
  /** per-bucket (non-cumulative) counts; last = +Inf */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  private readonly values = new Map<string, HistogramSlot>();

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (sorted.length === 0) throw new RangeError(`histogram ${name} needs buckets`);
    this.buckets = sorted;
  }

  private slot(labels: Labels): HistogramSlot {
    const k = labelKey(this.labelNames, labels);
    let s = this.values.get(k);
    if (!s) {
      s = {
        labels: this.labelNames.map((n) => labels[n] ?? ''),
        counts: new Array<number>(this.buckets.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.values.set(k, s);
    }
    return s;
  }

  observe(labels: Labels, v: number): void {
    const s = this.slot(labels);
    let i = 0;
    while (i < this.buckets.length && v > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  /**
   * Set a whole series from cumulative bucket counts kept elsewhere (an adapter's own histogram); `cumulative[i]`
   * counts observations <= buckets[i]; values above the last bucket count only in `count`.
   */
  setCumulative(labels: Labels, cumulative: readonly number[], count: number, sum: number): void {
    const s = this.slot(labels);
    let prev = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const c = cumulative[i] ?? prev;
      s.counts[i] = c - prev;
      prev = c;
    }
    s.counts[this.buckets.length] = count - prev;
    s.count = count;
    s.sum = sum;
  }

  reset(): void {
    this.values.clear();
  }

  lines(out: string[]): void {
    for (const s of this.values.values()) {
      let cum = 0;
      this.buckets.forEach((b, i) => {
        cum += s.counts[i]!;
        out.push(
          `${this.name}_bucket${formatLabels(this.labelNames, s.labels, ['le', formatValue(b)])} ${cum}`,
        );
      });
      out.push(`${this.name}_bucket${formatLabels(this.labelNames, s.labels, ['le', '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${formatLabels(this.labelNames, s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${formatLabels(this.labelNames, s.labels)} ${s.count}`);
    }
  }
}

/** Metrics by name, plus callbacks that refresh scrape-time metrics before each exposition. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];

  private add<M extends Metric>(m: M): M {
    const old = this.metrics.get(m.name);
    if (old) {
      if (old.type !== m.type || old.labelNames.join() !== m.labelNames.join())
        throw new RangeError(`metric ${m.name} registered twice with different shapes`);
      return old as M;
    }
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** `fn` runs before every exposition (fill metrics from the current state). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** The Prometheus text exposition of every metric. */
  expose(): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const m of [...this.metrics.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
      out.push(`# TYPE ${m.name} ${m.type}`);
      m.lines(out);
    }
    return out.join('\n') + '\n';
  }
}

/** Parse a text exposition into `name{labels}` → value (tests, and the CLI if it ever wants numbers). */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const v = line.slice(sp + 1);
    out.set(line.slice(0, sp), v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));
  }
  return out;
}
