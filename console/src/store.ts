/**
 * The console's one source of state: the network model, the traffic time series and recent flows. Loaded once
 * over HTTP (`/api/network`, `/api/traffic`, `/api/flows`), then kept current by Server-Sent Events on
 * `/api/events`. Reconnects on its own (with backoff) and resynchronises after every reconnect.
 */
import type { FlowRecord, NetworkModel, TrafficSample } from './types.js';

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConsoleState {
  network: NetworkModel | null;
  traffic: TrafficSample[];
  /** newest first */
  flows: FlowRecord[];
  conn: ConnState;
  /** ms since epoch of the last message from the router */
  lastUpdate: number | null;
  error: string | null;
}

const TRAFFIC_WINDOW_MS = 10 * 60_000;
const MAX_FLOWS = 2000;
const API = '/api';

type Listener = () => void;

function flowTime(f: FlowRecord): number {
  return Date.parse(f.startedAt) || 0;
}

export class Store {
  state: ConsoleState = {
    network: null,
    traffic: [],
    flows: [],
    conn: 'connecting',
    lastUpdate: null,
    error: null,
  };
  private listeners = new Set<Listener>();
  private source: EventSource | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = 1000;
  private notifyQueued = false;
  private stopped = false;
  private opened = false;

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  private set(patch: Partial<ConsoleState>): void {
    this.state = { ...this.state, ...patch };
    // coalesce bursts of events into one render
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of this.listeners) fn();
    });
  }

  start(): void {
    this.stopped = false;
    void this.resync();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.source?.close();
    this.source = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Full reload of everything over plain HTTP (at start and after each reconnect). */
  async resync(): Promise<void> {
    try {
      const [network, traffic, flows] = await Promise.all([
        getJson<NetworkModel>(`${API}/network`),
        getJson<TrafficSample[]>(`${API}/traffic`),
        getJson<FlowRecord[]>(`${API}/flows?limit=500`),
      ]);
      this.set({ network, error: null, lastUpdate: Date.now() });
      this.setTraffic(traffic);
      this.mergeFlows(flows);
    } catch (err) {
      this.set({ error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Asks the router for flows matching a filter (older ones than the live window may be there). */
  async loadFlows(filter: { service?: string; site?: string }): Promise<void> {
    const q = new URLSearchParams({ limit: '500' });
    if (filter.service) q.set('service', filter.service);
    if (filter.site) q.set('site', filter.site);
    try {
      this.mergeFlows(await getJson<FlowRecord[]>(`${API}/flows?${q.toString()}`));
    } catch {
      // the live stream still feeds the table
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const es = new EventSource(`${API}/events`);
    this.source = es;
    es.onopen = () => {
      const reopened = this.opened;
      this.opened = true;
      this.retryMs = 1000;
      this.set({ conn: 'live', error: null });
      // events may have been missed while disconnected
      if (reopened) void this.resync();
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // the browser gave up (HTTP error, wrong content type): retry ourselves with backoff
        es.close();
        this.source = null;
        this.set({ conn: 'offline' });
        this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 15_000);
      } else {
        // EventSource retries by itself
        this.set({ conn: 'reconnecting' });
      }
    };
    es.addEventListener('network', (e) => {
      const network = parse<NetworkModel>(e);
      if (network) this.set({ network, lastUpdate: Date.now() });
    });
    es.addEventListener('traffic', (e) => {
      const sample = parse<TrafficSample>(e);
      if (sample) this.setTraffic([...this.state.traffic, sample]);
    });
    es.addEventListener('flows', (e) => {
      const flows = parse<FlowRecord[]>(e);
      if (flows) this.mergeFlows(flows);
    });
  }

  private setTraffic(samples: TrafficSample[]): void {
    const sorted = [...samples].sort((a, b) => a.t - b.t);
    const byTime: TrafficSample[] = [];
    for (const s of sorted) {
      if (byTime.length > 0 && byTime[byTime.length - 1]!.t === s.t) byTime[byTime.length - 1] = s;
      else byTime.push(s);
    }
    const newest = byTime.length > 0 ? byTime[byTime.length - 1]!.t : 0;
    this.set({ traffic: byTime.filter((s) => s.t >= newest - TRAFFIC_WINDOW_MS), lastUpdate: Date.now() });
  }

  private mergeFlows(incoming: FlowRecord[]): void {
    if (incoming.length === 0) return;
    const byId = new Map(this.state.flows.map((f) => [f.id, f]));
    for (const f of incoming) byId.set(f.id, f);
    const flows = [...byId.values()].sort((a, b) => flowTime(b) - flowTime(a) || (a.id < b.id ? 1 : -1));
    this.set({ flows: flows.slice(0, MAX_FLOWS), lastUpdate: Date.now() });
  }
}

function parse<T>(e: Event): T | null {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const store = new Store();
