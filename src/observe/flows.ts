/**
 * Flow records and traffic counters of one router, kept where flows start (the ingress router, where the
 * listener is). Records live in a bounded ring (newest first when queried); counters feed the Prometheus metrics
 * and a traffic time series sampled every 2 s (the console's Traffic page, the network model's rates).
 */
import type { ErrorCode } from '../errors.js';
import type { FlowOutcome, FlowRecord, TrafficSample } from './model.js';

export const DEFAULT_FLOW_RECORDS = 10_000;
export const TRAFFIC_SAMPLE_MS = 2_000;
/** 10 minutes of samples */
export const TRAFFIC_SAMPLES = 300;

export interface FlowStart {
  id: string;
  routingKey: string;
  protocol: string;
  sourceSite: string;
  listener: string;
  clientAddress: string;
}

export interface FlowBytes {
  /** client → server */
  bytesOut: number;
  /** server → client */
  bytesIn: number;
}

/** What the core holds for one flow while it is open. */
export interface FlowHandle {
  readonly record: FlowRecord;
  /** the egress router accepted: destination known; `bytes` reads the live counters while the flow is open */
  established(
    dest: { destSite: string; connector: string; targetAddress: string },
    bytes: () => FlowBytes,
  ): void;
  /** the flow ended (`ok`) or failed (an error code); bytes are final */
  finish(outcome: 'ok' | ErrorCode, bytes?: FlowBytes): void;
}

export interface KeyListenerCounters {
  routingKey: string;
  listener: string;
  opened: number;
  closed: number;
  active: number;
  bytesOut: number;
  bytesIn: number;
}

/** Current rates as one router measures them (the last sample). */
export interface LocalTraffic {
  routerId: string;
  t: number;
  /** per routing key */
  services: Record<string, { bytesPerSec: number; flowsPerSec: number }>;
  /** per destination router (this router is the `from` side) */
  destinations: Record<string, { bytesPerSec: number; flowsPerSec: number }>;
}

export interface FlowQuery {
  /** routing key */
  service?: string;
  /** router id (or site name) at either end */
  site?: string;
  limit?: number;
}

interface Active {
  handle: Handle;
  bytes?: () => FlowBytes;
}

interface Totals {
  bytes: number;
  flows: number;
}

/**
 * A record as the ring holds it: times as numbers, turned into ISO strings only when someone reads the record
 * (a query, a watcher), not twice for every flow.
 */
interface StoredRecord extends Omit<FlowRecord, 'startedAt' | 'endedAt'> {
  startedMs: number;
  endedMs?: number;
}

function view(r: StoredRecord): FlowRecord {
  const { startedMs, endedMs, ...rest } = r;
  const out: FlowRecord = { ...rest, startedAt: new Date(startedMs).toISOString() };
  if (endedMs !== undefined) out.endedAt = new Date(endedMs).toISOString();
  return out;
}

class Handle implements FlowHandle {
  done = false;
  constructor(
    readonly stored: StoredRecord,
    /** the counters of this flow's key and listener, looked up once at the start */
    readonly counters: KeyListenerCounters,
    private readonly owner: FlowRecorder,
  ) {}
  get record(): FlowRecord {
    return view(this.stored);
  }
  established(
    dest: { destSite: string; connector: string; targetAddress: string },
    bytes: () => FlowBytes,
  ): void {
    this.stored.destSite = dest.destSite;
    this.stored.connector = dest.connector;
    this.stored.targetAddress = dest.targetAddress;
    this.owner._established(this, bytes);
  }
  finish(outcome: 'ok' | ErrorCode, bytes?: FlowBytes): void {
    if (this.done) return;
    this.done = true;
    this.owner._finish(this, outcome, bytes);
  }
}

export class FlowRecorder {
  readonly capacity: number;
  private readonly ring: Array<StoredRecord | undefined>;
  private next = 0;
  private size = 0;
  private readonly active = new Map<string, Active>();
  /** by routing key, then listener */
  private readonly counters = new Map<string, Map<string, KeyListenerCounters>>();
  readonly errorsByCode = new Map<string, number>();
  private readonly watchers = new Set<(r: FlowRecord) => void>();
  /** bytes and flows of closed flows, cumulative: per key, and per destination router */
  private readonly closedByKey = new Map<string, Totals>();
  private readonly closedByDest = new Map<string, Totals>();
  /** flows started (established or not), cumulative: per key, per destination */
  private readonly startedByKey = new Map<string, number>();
  private readonly startedByDest = new Map<string, number>();
  private lastTotals: { t: number; keys: Map<string, Totals>; dests: Map<string, Totals> } | undefined;
  private readonly samples: TrafficSample[] = [];
  private lastLocal: LocalTraffic;

  constructor(
    readonly routerId: string,
    opts: { capacity?: number; now?: () => number } = {},
  ) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? DEFAULT_FLOW_RECORDS));
    this.ring = new Array<StoredRecord | undefined>(this.capacity);
    this.now = opts.now ?? Date.now;
    this.lastLocal = { routerId, t: this.now(), services: {}, destinations: {} };
  }
  private readonly now: () => number;

  // ---------------------------------------------------------------- recording

  start(s: FlowStart): FlowHandle {
    const record: StoredRecord = {
      id: s.id,
      routingKey: s.routingKey,
      protocol: s.protocol,
      sourceSite: s.sourceSite,
      listener: s.listener,
      clientAddress: s.clientAddress,
      startedMs: this.now(),
      bytesOut: 0,
      bytesIn: 0,
      outcome: 'active',
    };
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    const c = this.counter(s.routingKey, s.listener);
    c.opened++;
    c.active++;
    this.startedByKey.set(s.routingKey, (this.startedByKey.get(s.routingKey) ?? 0) + 1);
    const h = new Handle(record, c, this);
    this.active.set(s.id, { handle: h });
    this.notify(record);
    return h;
  }

  /** @internal */
  _established(h: Handle, bytes: () => FlowBytes): void {
    const a = this.active.get(h.stored.id);
    if (a) a.bytes = bytes;
    const d = h.stored.destSite;
    if (d !== undefined) this.startedByDest.set(d, (this.startedByDest.get(d) ?? 0) + 1);
    this.notify(h.stored);
  }

  /** @internal */
  _finish(h: Handle, outcome: 'ok' | ErrorCode, bytes?: FlowBytes): void {
    const r = h.stored;
    const a = this.active.get(r.id);
    this.active.delete(r.id);
    const b = bytes ?? a?.bytes?.() ?? { bytesOut: 0, bytesIn: 0 };
    r.bytesOut = b.bytesOut;
    r.bytesIn = b.bytesIn;
    r.endedMs = this.now();
    r.outcome = outcome as FlowOutcome;
    const c = h.counters;
    c.active--;
    c.closed++;
    c.bytesOut += b.bytesOut;
    c.bytesIn += b.bytesIn;
    if (outcome !== 'ok') this.errorsByCode.set(outcome, (this.errorsByCode.get(outcome) ?? 0) + 1);
    const total = b.bytesOut + b.bytesIn;
    addTotals(this.closedByKey, r.routingKey, total);
    if (r.destSite !== undefined) addTotals(this.closedByDest, r.destSite, total);
    this.notify(r);
  }

  private counter(key: string, listener: string): KeyListenerCounters {
    let byListener = this.counters.get(key);
    if (!byListener) {
      byListener = new Map();
      this.counters.set(key, byListener);
    }
    let c = byListener.get(listener);
    if (!c) {
      c = { routingKey: key, listener, opened: 0, closed: 0, active: 0, bytesOut: 0, bytesIn: 0 };
      byListener.set(listener, c);
    }
    return c;
  }

  /** Per routing key and listener, cumulative (active flows' bytes count once they close). */
  keyListenerCounters(): KeyListenerCounters[] {
    return [...this.counters.values()].flatMap((m) => [...m.values()]);
  }

  /** Called with every new or updated record (the console's event stream). Returns an unsubscribe function. */
  watch(fn: (r: FlowRecord) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private notify(stored: StoredRecord): void {
    if (this.watchers.size === 0) return;
    const r = view(stored);
    for (const w of this.watchers) {
      try {
        w(r);
      } catch {
        // a watcher's failure is its own business
      }
    }
  }

  /** Records, newest first, optionally filtered; active flows show their live byte counts. */
  query(q: FlowQuery = {}): FlowRecord[] {
    const limit = Math.max(0, Math.min(q.limit ?? 100, this.capacity));
    const out: FlowRecord[] = [];
    for (let i = 1; i <= this.size && out.length < limit; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (!r) continue;
      if (q.service !== undefined && r.routingKey !== q.service) continue;
      if (q.site !== undefined && r.sourceSite !== q.site && r.destSite !== q.site) continue;
      out.push(this.live(r));
    }
    return out;
  }

  private live(r: StoredRecord): FlowRecord {
    const out = view(r);
    if (r.outcome !== 'active') return out;
    const b = this.active.get(r.id)?.bytes?.();
    if (b) {
      out.bytesOut = b.bytesOut;
      out.bytesIn = b.bytesIn;
    }
    return out;
  }

  get activeCount(): number {
    return this.active.size;
  }

  // ---------------------------------------------------------------- traffic

  private currentTotals(): { keys: Map<string, Totals>; dests: Map<string, Totals> } {
    const keys = new Map<string, Totals>();
    const dests = new Map<string, Totals>();
    for (const [k, t] of this.closedByKey) keys.set(k, { bytes: t.bytes, flows: 0 });
    for (const [k, t] of this.closedByDest) dests.set(k, { bytes: t.bytes, flows: 0 });
    for (const { handle, bytes } of this.active.values()) {
      if (!bytes) continue;
      const b = bytes();
      const n = b.bytesIn + b.bytesOut;
      addTotals(keys, handle.stored.routingKey, n, 0);
      if (handle.stored.destSite !== undefined) addTotals(dests, handle.stored.destSite, n, 0);
    }
    for (const [k, n] of this.startedByKey) addTotals(keys, k, 0, n);
    for (const [k, n] of this.startedByDest) addTotals(dests, k, 0, n);
    return { keys, dests };
  }

  /** Take one sample (every TRAFFIC_SAMPLE_MS): rates since the previous sample. */
  sample(): TrafficSample {
    const now = this.now();
    const t = Math.floor(now / TRAFFIC_SAMPLE_MS) * TRAFFIC_SAMPLE_MS;
    const cur = this.currentTotals();
    const prev = this.lastTotals;
    const dt = prev ? Math.max(1, now - prev.t) / 1000 : 0;
    const services: Record<string, number> = {};
    const sitePairs: Record<string, number> = {};
    const local: LocalTraffic = { routerId: this.routerId, t, services: {}, destinations: {} };
    if (prev) {
      for (const [k, v] of cur.keys) {
        const p = prev.keys.get(k) ?? { bytes: 0, flows: 0 };
        const bps = round((v.bytes - p.bytes) / dt);
        const fps = round((v.flows - p.flows) / dt);
        if (bps > 0) services[k] = bps;
        if (bps > 0 || fps > 0) local.services[k] = { bytesPerSec: bps, flowsPerSec: fps };
      }
      for (const [d, v] of cur.dests) {
        const p = prev.dests.get(d) ?? { bytes: 0, flows: 0 };
        const bps = round((v.bytes - p.bytes) / dt);
        const fps = round((v.flows - p.flows) / dt);
        if (bps > 0) sitePairs[`${this.routerId}->${d}`] = bps;
        if (bps > 0 || fps > 0) local.destinations[d] = { bytesPerSec: bps, flowsPerSec: fps };
      }
    }
    this.lastTotals = { t: now, ...cur };
    const s: TrafficSample = { t, services, sitePairs };
    if (this.samples.length > 0 && this.samples[this.samples.length - 1]!.t === t) this.samples.pop();
    this.samples.push(s);
    if (this.samples.length > TRAFFIC_SAMPLES) this.samples.shift();
    this.lastLocal = local;
    return s;
  }

  /** Samples newer than `since` (ms), oldest first. */
  samplesSince(since = 0): TrafficSample[] {
    return this.samples.filter((s) => s.t > since);
  }

  /** The rates of the last sample. */
  localTraffic(): LocalTraffic {
    return this.lastLocal;
  }
}

function addTotals(m: Map<string, Totals>, k: string, bytes: number, flows = 0): void {
  const t = m.get(k);
  if (t) {
    t.bytes += bytes;
    t.flows += flows;
  } else m.set(k, { bytes, flows });
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Sum samples of several routers by time (each router aligns `t` to TRAFFIC_SAMPLE_MS). */
export function mergeSamples(series: TrafficSample[][]): TrafficSample[] {
  const byT = new Map<number, TrafficSample>();
  for (const list of series) {
    for (const s of list) {
      let m = byT.get(s.t);
      if (!m) {
        m = { t: s.t, services: {}, sitePairs: {} };
        byT.set(s.t, m);
      }
      for (const [k, v] of Object.entries(s.services)) m.services[k] = (m.services[k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.sitePairs)) m.sitePairs[k] = (m.sitePairs[k] ?? 0) + v;
    }
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

/** Merge flow records of several routers: newest first, filtered, limited. */
export function mergeFlowRecords(lists: FlowRecord[][], limit: number): FlowRecord[] {
  const all = lists.flat();
  all.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1));
  return all.slice(0, limit);
}
