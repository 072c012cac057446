// An in-process network of routing engines with a fake clock and per-link message latency, for tests and the
// benchmark. Deterministic: no real clock, no global randomness (a seeded PRNG builds random graphs).
//
// Time advances from event to event. All events due at one instant are processed first (messages delivered,
// timers fired), then every touched engine is serviced once (link events handled, outbox drained and scheduled
// for delivery): this mirrors a router that processes the frames of one socket read and then flushes.

import { RoutingEngine } from '../../../src/routing/engine.js';
import { simulationAuthenticator } from './sim-auth.js';
import { BinaryHeap } from '../../../src/routing/heap.js';
import { DEFAULT_PURGE_AFTER_MS, DEFAULT_REFRESH_INTERVAL_MS } from '../../../src/routing/types.js';
import type {
  AddressDestination,
  LinkId,
  OutboundMessage,
  RouterId,
  RouterMode,
  RoutingMessage,
} from '../../../src/routing/types.js';

/** mulberry32: a small seeded PRNG (uniform in [0, 1)). */
export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
}

export interface SimConfig {
  helloIntervalMs: number;
  deadIntervalMs: number;
  refreshIntervalMs: number;
  purgeAfterMs: number;
  /** Default one-way latency of new links. */
  latencyMs: number;
  /** Serialise every message with JSON.stringify and parse it on delivery (as a real link does). */
  jsonRoundTrip: boolean;
}

export type SimLinkState = 'up' | 'failed' | 'closed';

export interface SimLink {
  readonly id: LinkId;
  readonly a: RouterId;
  readonly b: RouterId;
  /** Cost configured at a (a -> b). */
  costAB: number;
  /** Cost configured at b (b -> a). */
  costBA: number;
  latencyMs: number;
  /** up: carries messages; failed: silently drops them (ends find out by HELLO timeout); closed: gone. */
  state: SimLinkState;
  lastAtAB: number;
  lastAtBA: number;
}

export interface LinkOptions {
  cost?: number;
  /** Cost at b toward a (default: same as cost). */
  costBA?: number;
  latencyMs?: number;
  id?: LinkId;
}

interface SimRouter {
  readonly id: RouterId;
  mode: RouterMode;
  engine: RoutingEngine;
  alive: boolean;
  gen: number;
  timerAt: number;
  addresses: Record<string, number>;
  /** Links taken down by the last killRouter, re-created by restartRouter. */
  killedLinks: SimLink[];
  /** The engine's lsdbChanges when last serviced. */
  changes: number;
}

type SimEvent =
  | {
      at: number;
      seq: number;
      kind: 'deliver';
      link: SimLink;
      to: RouterId;
      gen: number;
      msgs: Array<RoutingMessage | string>;
      nonHello: number;
    }
  | { at: number; seq: number; kind: 'timer'; router: RouterId; gen: number }
  | { at: number; seq: number; kind: 'close'; link: SimLink; to: RouterId; gen: number };

export interface SimCounters {
  /** Messages sent (including those later dropped). */
  messages: number;
  byType: Record<string, number>;
  /** Serialised bytes (only with jsonRoundTrip). */
  bytes: number;
  /** Messages dropped on failed or closed links, or toward dead routers. */
  dropped: number;
  linkEvents: number;
}

export interface ReferenceRoute {
  cost: number;
  nextHop: RouterId;
}

function newCounters(): SimCounters {
  return { messages: 0, byType: {}, bytes: 0, dropped: 0, linkEvents: 0 };
}

export class Simulator {
  readonly cfg: SimConfig;
  now = 0;
  counters: SimCounters = newCounters();
  private readonly routers = new Map<RouterId, SimRouter>();
  private readonly links = new Map<LinkId, SimLink>();
  private readonly events = new BinaryHeap<SimEvent>(
    (x, y) => x.at < y.at || (x.at === y.at && x.seq < y.seq),
  );
  private eventSeq = 0;
  private linkSeq = 0;
  private inFlightNonHello = 0;
  private lastActivity = 0;

  constructor(cfg: Partial<SimConfig> = {}) {
    const hello = cfg.helloIntervalMs ?? 100;
    this.cfg = {
      helloIntervalMs: hello,
      deadIntervalMs: cfg.deadIntervalMs ?? 3 * hello,
      refreshIntervalMs: cfg.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS,
      purgeAfterMs: cfg.purgeAfterMs ?? DEFAULT_PURGE_AFTER_MS,
      latencyMs: cfg.latencyMs ?? 1,
      jsonRoundTrip: cfg.jsonRoundTrip ?? true,
    };
  }

  // ---- topology -------------------------------------------------------------------------------------------

  addRouter(
    id: RouterId,
    mode: RouterMode = 'interior',
    addresses: Record<string, number> = {},
  ): RoutingEngine {
    if (this.routers.has(id)) throw new Error(`sim: router ${id} exists`);
    const r: SimRouter = {
      id,
      mode,
      engine: this.newEngine(id, mode, 0),
      alive: true,
      gen: 0,
      timerAt: Infinity,
      addresses: { ...addresses },
      killedLinks: [],
      changes: 0,
    };
    this.routers.set(id, r);
    if (Object.keys(addresses).length > 0) r.engine.setLocalAddresses(addresses, this.now);
    this.service(r);
    return r.engine;
  }

  engine(id: RouterId): RoutingEngine {
    const r = this.routers.get(id);
    if (r === undefined) throw new Error(`sim: no router ${id}`);
    return r.engine;
  }

  routerIds(): RouterId[] {
    return [...this.routers.keys()];
  }

  aliveIds(): RouterId[] {
    return [...this.routers.values()].filter((r) => r.alive).map((r) => r.id);
  }

  isAlive(id: RouterId): boolean {
    return this.routers.get(id)?.alive === true;
  }

  link(id: LinkId): SimLink {
    const l = this.links.get(id);
    if (l === undefined) throw new Error(`sim: no link ${id}`);
    return l;
  }

  linksBetween(a: RouterId, b: RouterId): SimLink[] {
    return [...this.links.values()].filter((l) => (l.a === a && l.b === b) || (l.a === b && l.b === a));
  }

  /** Connects a and b with a new transport link (both ends see linkUp now). */
  addLink(a: RouterId, b: RouterId, opts: LinkOptions = {}): LinkId {
    const ra = this.alive(a);
    const rb = this.alive(b);
    const id = opts.id ?? `${a}~${b}#${++this.linkSeq}`;
    if (this.links.has(id)) throw new Error(`sim: link ${id} exists`);
    const cost = opts.cost ?? 1;
    const link: SimLink = {
      id,
      a,
      b,
      costAB: cost,
      costBA: opts.costBA ?? cost,
      latencyMs: opts.latencyMs ?? this.cfg.latencyMs,
      state: 'up',
      lastAtAB: 0,
      lastAtBA: 0,
    };
    this.links.set(id, link);
    ra.engine.linkUp(id, link.costAB, this.now);
    rb.engine.linkUp(id, link.costBA, this.now);
    this.touch();
    this.service(ra);
    this.service(rb);
    return id;
  }

  /** Graceful close: both ends see linkDown now. */
  removeLink(id: LinkId): void {
    const l = this.link(id);
    const wasUp = l.state !== 'closed';
    l.state = 'closed';
    if (!wasUp) return;
    for (const end of [l.a, l.b]) {
      const r = this.routers.get(end);
      if (r?.alive !== true) continue;
      r.engine.linkDown(id, this.now);
      this.service(r);
    }
    this.touch();
  }

  /** Silent failure: messages are dropped; the ends declare the link dead after deadIntervalMs. */
  failLink(id: LinkId): void {
    const l = this.link(id);
    if (l.state === 'up') l.state = 'failed';
    this.touch();
  }

  /** Changes the cost at one end (`at`) or at both ends. */
  setLinkCost(id: LinkId, cost: number, at?: RouterId): void {
    const l = this.link(id);
    for (const end of [l.a, l.b]) {
      if (at !== undefined && at !== end) continue;
      if (end === l.a) l.costAB = cost;
      else l.costBA = cost;
      const r = this.routers.get(end);
      if (r?.alive !== true || l.state !== 'up') continue;
      r.engine.setLinkCost(id, cost, this.now);
      this.service(r);
    }
    this.touch();
  }

  setLatency(id: LinkId, latencyMs: number): void {
    this.link(id).latencyMs = latencyMs;
  }

  setAddresses(id: RouterId, addresses: Record<string, number>): void {
    const r = this.alive(id);
    r.addresses = { ...addresses };
    r.engine.setLocalAddresses(addresses, this.now);
    this.service(r);
    this.touch();
  }

  /**
   * Stops a router. Crash (default): its links fail silently and neighbors find out by HELLO timeout.
   * Graceful: neighbors see their transports close at once.
   */
  killRouter(id: RouterId, opts: { graceful?: boolean } = {}): void {
    const r = this.alive(id);
    r.alive = false;
    r.gen++;
    r.timerAt = Infinity;
    r.killedLinks = [];
    for (const l of this.links.values()) {
      if ((l.a !== id && l.b !== id) || l.state !== 'up') continue;
      r.killedLinks.push(l);
      if (opts.graceful === true) {
        l.state = 'closed';
        const peer = this.routers.get(l.a === id ? l.b : l.a);
        if (peer?.alive === true) {
          peer.engine.linkDown(l.id, this.now);
          this.service(peer);
        }
      } else {
        l.state = 'failed';
      }
    }
    this.touch();
  }

  /**
   * Starts a killed router again with a fresh engine (seq starts at 1, empty database) and the same addresses;
   * with relink (default) re-creates the links it lost when killed (new link ids, same costs and latency).
   */
  restartRouter(id: RouterId, opts: { relink?: boolean } = {}): LinkId[] {
    const r = this.routers.get(id);
    if (r === undefined) throw new Error(`sim: no router ${id}`);
    if (r.alive) throw new Error(`sim: router ${id} is running`);
    r.alive = true;
    r.gen++;
    r.timerAt = Infinity;
    r.engine = this.newEngine(id, r.mode, r.gen);
    r.changes = 0;
    if (Object.keys(r.addresses).length > 0) r.engine.setLocalAddresses(r.addresses, this.now);
    this.service(r);
    this.touch();
    const ids: LinkId[] = [];
    if (opts.relink !== false) {
      for (const l of r.killedLinks) {
        if (l.state === 'up') continue;
        if (!this.isAlive(l.a) || !this.isAlive(l.b)) continue;
        ids.push(this.addLink(l.a, l.b, { cost: l.costAB, costBA: l.costBA, latencyMs: l.latencyMs }));
      }
    }
    r.killedLinks = [];
    return ids;
  }

  resetCounters(): void {
    this.counters = newCounters();
  }

  // ---- running --------------------------------------------------------------------------------------------

  /** Processes every event due at the next instant; false if nothing is scheduled. */
  step(): boolean {
    const first = this.events.peek();
    if (first === undefined) return false;
    this.now = Math.max(this.now, first.at);
    const touched = new Map<RouterId, SimRouter>();
    for (let ev = this.events.peek(); ev !== undefined && ev.at <= this.now; ev = this.events.peek()) {
      this.events.pop();
      this.handle(ev, touched);
    }
    for (const r of touched.values()) this.service(r);
    return true;
  }

  /** Runs until `ms` of simulated time have passed. */
  runFor(ms: number): void {
    const until = this.now + ms;
    for (let ev = this.events.peek(); ev !== undefined && ev.at <= until; ev = this.events.peek())
      this.step();
    this.now = until;
  }

  /** Runs until `pred()` holds (checked after every instant); false if maxMs passed first. */
  runUntil(pred: () => boolean, maxMs = 600_000): boolean {
    const deadline = this.now + maxMs;
    while (!pred()) {
      const ev = this.events.peek();
      if (ev === undefined || ev.at > deadline) return false;
      this.step();
    }
    return true;
  }

  /**
   * Runs until the network is quiet: no advertisement in flight, and for `quietMs` (default dead interval +
   * 2 hellos, so silent failures are detected first) no link event, topology change or database content change
   * anywhere (HELLOs and periodic refreshes that change nothing don't count). Throws if not quiet within maxMs.
   * Returns the simulated time from the start to the last activity.
   */
  runUntilQuiet(opts: { quietMs?: number; maxMs?: number } = {}): number {
    const quiet = opts.quietMs ?? this.cfg.deadIntervalMs + 2 * this.cfg.helloIntervalMs;
    const start = this.now;
    const deadline = start + (opts.maxMs ?? 600_000);
    this.lastActivity = Math.max(this.lastActivity, start);
    for (;;) {
      const ev = this.events.peek();
      if (this.inFlightNonHello === 0 && (ev === undefined || ev.at > this.lastActivity + quiet)) {
        return this.lastActivity - start;
      }
      if (ev === undefined) return this.now - start;
      if (ev.at > deadline) throw new Error(`sim: network not quiet after ${opts.maxMs ?? 600_000} ms`);
      this.step();
    }
  }

  /** Time of the last database content change, link event or topology change. */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  private handle(ev: SimEvent, touched: Map<RouterId, SimRouter>): void {
    const r = this.routers.get(ev.kind === 'timer' ? ev.router : ev.to);
    const current = r !== undefined && r.alive && r.gen === ev.gen;
    switch (ev.kind) {
      case 'deliver': {
        this.inFlightNonHello -= ev.nonHello;
        if (!current || ev.link.state !== 'up') {
          this.counters.dropped += ev.msgs.length;
          return;
        }
        for (const m of ev.msgs) {
          r.engine.receive(ev.link.id, typeof m === 'string' ? (JSON.parse(m) as unknown) : m, this.now);
        }
        touched.set(r.id, r);
        return;
      }
      case 'timer':
        if (!current || r.timerAt !== ev.at) return;
        r.timerAt = Infinity;
        r.engine.tick(this.now);
        touched.set(r.id, r);
        return;
      case 'close':
        if (!current) return;
        r.engine.linkDown(ev.link.id, this.now);
        touched.set(r.id, r);
        return;
    }
  }

  /** Handles link events, drains the outbox into deliveries, reschedules the engine's timer. */
  private service(r: SimRouter): void {
    if (!r.alive) return;
    for (let guard = 0; guard < 1000; guard++) {
      const evs = r.engine.drainLinkEvents();
      for (const e of evs) {
        this.counters.linkEvents++;
        this.touch();
        if (e.event === 'dead') this.onDead(r, e.linkId);
      }
      const out = r.engine.drainOutbox();
      if (out.length > 0) this.send(r, out);
      if (evs.length === 0 && out.length === 0) break;
    }
    const changes = r.engine.stats().lsdbChanges;
    if (changes !== r.changes) {
      r.changes = changes;
      this.touch();
    }
    const t = r.engine.nextTimerAt();
    if (t < r.timerAt) {
      r.timerAt = Math.max(t, this.now);
      this.push({ at: r.timerAt, seq: 0, kind: 'timer', router: r.id, gen: r.gen });
    }
  }

  /** The router closes a dead link's transport; if the path still works, the peer sees the close. */
  private onDead(r: SimRouter, linkId: LinkId): void {
    r.engine.linkDown(linkId, this.now);
    const l = this.links.get(linkId);
    if (l === undefined || l.state !== 'up') return;
    l.state = 'closed';
    const to = l.a === r.id ? l.b : l.a;
    const peer = this.routers.get(to);
    if (peer === undefined) return;
    this.push({ at: this.now + l.latencyMs, seq: 0, kind: 'close', link: l, to, gen: peer.gen });
  }

  private send(r: SimRouter, out: OutboundMessage[]): void {
    const byLink = new Map<LinkId, RoutingMessage[]>();
    for (const { linkId, msg } of out) {
      const arr = byLink.get(linkId);
      if (arr === undefined) byLink.set(linkId, [msg]);
      else arr.push(msg);
    }
    for (const [linkId, msgs] of byLink) {
      let nonHello = 0;
      for (const m of msgs) {
        this.counters.messages++;
        this.counters.byType[m.t] = (this.counters.byType[m.t] ?? 0) + 1;
        if (m.t !== 'hello') nonHello++;
      }
      const l = this.links.get(linkId);
      if (l === undefined || l.state !== 'up') {
        this.counters.dropped += msgs.length;
        continue;
      }
      const fromA = l.a === r.id;
      const to = fromA ? l.b : l.a;
      const peer = this.routers.get(to) as SimRouter;
      // Keep each direction FIFO even if the latency changed.
      const at = Math.max(this.now + l.latencyMs, fromA ? l.lastAtAB : l.lastAtBA);
      if (fromA) l.lastAtAB = at;
      else l.lastAtBA = at;
      let payload: Array<RoutingMessage | string> = msgs;
      if (this.cfg.jsonRoundTrip) {
        payload = msgs.map((m) => JSON.stringify(m));
        for (const s of payload) this.counters.bytes += (s as string).length;
      }
      this.inFlightNonHello += nonHello;
      this.push({ at, seq: 0, kind: 'deliver', link: l, to, gen: peer.gen, msgs: payload, nonHello });
    }
  }

  private push(ev: SimEvent): void {
    ev.seq = ++this.eventSeq;
    this.events.push(ev);
  }

  private touch(): void {
    this.lastActivity = Math.max(this.lastActivity, this.now);
  }

  private alive(id: RouterId): SimRouter {
    const r = this.routers.get(id);
    if (r === undefined) throw new Error(`sim: no router ${id}`);
    if (!r.alive) throw new Error(`sim: router ${id} is down`);
    return r;
  }

  /** `gen` is the incarnation: it differs on every restart, even one at the same simulated instant. */
  private newEngine(id: RouterId, mode: RouterMode, gen: number): RoutingEngine {
    return new RoutingEngine(
      {
        id,
        mode,
        authenticator: simulationAuthenticator(id),
        incarnation: gen,
        helloIntervalMs: this.cfg.helloIntervalMs,
        deadIntervalMs: this.cfg.deadIntervalMs,
        refreshIntervalMs: this.cfg.refreshIntervalMs,
        purgeAfterMs: this.cfg.purgeAfterMs,
      },
      this.now,
    );
  }

  // ---- reference ------------------------------------------------------------------------------------------

  /** Ground truth: per alive router, neighbor -> min configured cost over up links to alive routers. */
  groundTruth(): Map<RouterId, Map<RouterId, number>> {
    const adj = new Map<RouterId, Map<RouterId, number>>();
    for (const r of this.routers.values()) if (r.alive) adj.set(r.id, new Map());
    for (const l of this.links.values()) {
      if (l.state !== 'up' || !this.isAlive(l.a) || !this.isAlive(l.b) || l.a === l.b) continue;
      const ma = adj.get(l.a) as Map<RouterId, number>;
      const mb = adj.get(l.b) as Map<RouterId, number>;
      ma.set(l.b, Math.min(ma.get(l.b) ?? Infinity, l.costAB));
      mb.set(l.a, Math.min(mb.get(l.a) ?? Infinity, l.costBA));
    }
    return adj;
  }

  /**
   * Reference routes from `src`, computed independently of the engine: an O(N^2) array Dijkstra per router
   * (edges not transit), and the next hop as the lowest-id neighbor that starts a shortest path.
   */
  referenceRoutes(src: RouterId, ctx = new ReferenceContext(this)): Map<RouterId, ReferenceRoute> {
    return ctx.routes(src);
  }

  /**
   * Compares the routes (and address destinations) of `sources` (default: every alive router) with the reference.
   * Returns human-readable mismatches, empty when converged.
   */
  check(opts: { sources?: RouterId[]; addresses?: boolean; maxErrors?: number } = {}): string[] {
    const errors: string[] = [];
    const max = opts.maxErrors ?? 20;
    const ctx = new ReferenceContext(this);
    const sources = opts.sources ?? this.aliveIds();
    const keys = new Set<string>();
    for (const r of this.routers.values()) if (r.alive) for (const k of Object.keys(r.addresses)) keys.add(k);
    for (const s of sources) {
      if (errors.length >= max) break;
      const eng = this.engine(s);
      const ref = ctx.routes(s);
      const actual = eng.routes();
      for (const [dest, want] of ref) {
        const got = actual.get(dest);
        if (got === undefined) {
          errors.push(`${s}: no route to ${dest} (want cost ${want.cost} via ${want.nextHop})`);
          continue;
        }
        if (got.cost !== want.cost || got.nextHop !== want.nextHop) {
          errors.push(
            `${s}: route to ${dest} is cost ${got.cost} via ${got.nextHop}, want ${want.cost} via ${want.nextHop}`,
          );
        }
        const wantLinks = [...this.links.values()]
          .filter(
            (l) =>
              l.state === 'up' && ((l.a === s && l.b === got.nextHop) || (l.b === s && l.a === got.nextHop)),
          )
          .map((l) => ({ id: l.id, cost: l.a === s ? l.costAB : l.costBA }))
          .sort((x, y) => x.cost - y.cost || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
          .map((l) => l.id);
        if (got.links.join(',') !== wantLinks.join(',')) {
          errors.push(`${s}: route to ${dest} links [${got.links.join(',')}], want [${wantLinks.join(',')}]`);
        }
      }
      for (const dest of actual.keys()) {
        if (!ref.has(dest)) errors.push(`${s}: unexpected route to ${dest}`);
      }
      if (opts.addresses !== false) {
        for (const key of keys) {
          const want: AddressDestination[] = [];
          for (const r of this.routers.values()) {
            const count = r.alive ? (r.addresses[key] ?? 0) : 0;
            if (count <= 0) continue;
            const cost = r.id === s ? 0 : ref.get(r.id)?.cost;
            if (cost !== undefined) want.push({ router: r.id, cost, count });
          }
          want.sort((x, y) => x.cost - y.cost || (x.router < y.router ? -1 : x.router > y.router ? 1 : 0));
          const got = eng.addressDestinations(key);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            errors.push(
              `${s}: destinations of '${key}' are ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
            );
          }
        }
      }
    }
    return errors.slice(0, max);
  }
}

/** Memoised reference distances over one snapshot of the ground truth. */
export class ReferenceContext {
  private readonly adj: Map<RouterId, Map<RouterId, number>>;
  private readonly ids: RouterId[];
  private readonly index = new Map<RouterId, number>();
  private readonly interior: boolean[];
  private readonly dist = new Map<RouterId, Float64Array>();

  constructor(private readonly sim: Simulator) {
    this.adj = sim.groundTruth();
    this.ids = [...this.adj.keys()];
    this.ids.forEach((id, i) => this.index.set(id, i));
    this.interior = this.ids.map((id) => sim.engine(id).mode === 'interior');
  }

  /** Distances from `src`; only `src` and interiors relax their links (edges are not transit). */
  distances(src: RouterId): Float64Array {
    const cached = this.dist.get(src);
    if (cached !== undefined) return cached;
    const n = this.ids.length;
    const d = new Float64Array(n).fill(Infinity);
    const done = new Uint8Array(n);
    const s = this.index.get(src);
    if (s === undefined) throw new Error(`reference: ${src} is not alive`);
    d[s] = 0;
    for (;;) {
      let u = -1;
      let best = Infinity;
      for (let i = 0; i < n; i++) {
        if (done[i] === 0 && (d[i] as number) < best) {
          best = d[i] as number;
          u = i;
        }
      }
      if (u < 0) break;
      done[u] = 1;
      if (u !== s && !this.interior[u]) continue;
      for (const [v, c] of this.adj.get(this.ids[u] as RouterId) as Map<RouterId, number>) {
        // two-way: the link must be up at both ends, which groundTruth guarantees (both directions are set).
        const vi = this.index.get(v) as number;
        if (best + c < (d[vi] as number)) d[vi] = best + c;
      }
    }
    this.dist.set(src, d);
    return d;
  }

  routes(src: RouterId): Map<RouterId, ReferenceRoute> {
    const out = new Map<RouterId, ReferenceRoute>();
    const ds = this.distances(src);
    const nbrs = [...(this.adj.get(src) as Map<RouterId, number>)].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    for (let di = 0; di < this.ids.length; di++) {
      const dest = this.ids[di] as RouterId;
      const want = ds[di] as number;
      if (dest === src || want === Infinity) continue;
      for (const [n, c] of nbrs) {
        const ni = this.index.get(n) as number;
        const via = n === dest ? c : this.interior[ni] ? c + (this.distances(n)[di] as number) : Infinity;
        if (via === want) {
          out.set(dest, { cost: want, nextHop: n });
          break;
        }
      }
    }
    return new Map([...out].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));
  }
}

// ---- graph builders ---------------------------------------------------------------------------------------

export interface BuildOptions {
  prefix?: string;
  mode?: RouterMode;
  /** Fixed cost of every link (default 1). */
  cost?: number;
  /** Random costs in [1, maxCost] (needs a seed). */
  maxCost?: number;
  /** Latency of every link, or a random range [min, max] (needs a seed). */
  latencyMs?: number | [number, number];
  seed?: number;
}

/** n router ids, zero-padded so that string order is numeric order: r00, r01, ... */
export function routerIds(n: number, prefix = 'r'): RouterId[] {
  const w = String(Math.max(1, n - 1)).length;
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(w, '0')}`);
}

function addRouters(sim: Simulator, n: number, o: BuildOptions): RouterId[] {
  const ids = routerIds(n, o.prefix);
  for (const id of ids) sim.addRouter(id, o.mode ?? 'interior');
  return ids;
}

function connect(sim: Simulator, a: RouterId, b: RouterId, o: BuildOptions, rng: Prng | undefined): LinkId {
  const cost = o.maxCost !== undefined && rng !== undefined ? rng.range(1, o.maxCost) : (o.cost ?? 1);
  let latencyMs: number | undefined;
  if (Array.isArray(o.latencyMs)) {
    latencyMs = rng === undefined ? o.latencyMs[0] : rng.range(o.latencyMs[0], o.latencyMs[1]);
  } else {
    latencyMs = o.latencyMs;
  }
  return sim.addLink(a, b, latencyMs === undefined ? { cost } : { cost, latencyMs });
}

export function buildLine(sim: Simulator, n: number, o: BuildOptions = {}): RouterId[] {
  const rng = o.seed === undefined ? undefined : new Prng(o.seed);
  const ids = addRouters(sim, n, o);
  for (let i = 1; i < n; i++) connect(sim, ids[i - 1] as RouterId, ids[i] as RouterId, o, rng);
  return ids;
}

export function buildRing(sim: Simulator, n: number, o: BuildOptions = {}): RouterId[] {
  const rng = o.seed === undefined ? undefined : new Prng(o.seed);
  const ids = addRouters(sim, n, o);
  for (let i = 0; i < n; i++) connect(sim, ids[i] as RouterId, ids[(i + 1) % n] as RouterId, o, rng);
  return ids;
}

export function buildFullMesh(sim: Simulator, n: number, o: BuildOptions = {}): RouterId[] {
  const rng = o.seed === undefined ? undefined : new Prng(o.seed);
  const ids = addRouters(sim, n, o);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) connect(sim, ids[i] as RouterId, ids[j] as RouterId, o, rng);
  }
  return ids;
}

/**
 * A random connected graph with n routers and round(n * meanDegree / 2) links: a random recursive tree
 * (connected) plus random extra links, without self-loops or duplicates. Same seed, same graph.
 */
export function buildRandom(
  sim: Simulator,
  n: number,
  meanDegree: number,
  o: BuildOptions & { seed: number },
): RouterId[] {
  const rng = new Prng(o.seed);
  const ids = addRouters(sim, n, o);
  const target = Math.min(Math.round((n * meanDegree) / 2), (n * (n - 1)) / 2);
  const have = new Set<string>();
  const key = (i: number, j: number): string => (i < j ? `${i},${j}` : `${j},${i}`);
  const pairs: Array<[number, number]> = [];
  for (let i = 1; i < n; i++) {
    const j = rng.int(i);
    have.add(key(i, j));
    pairs.push([j, i]);
  }
  while (pairs.length < target) {
    const i = rng.int(n);
    const j = rng.int(n);
    if (i === j || have.has(key(i, j))) continue;
    have.add(key(i, j));
    pairs.push([Math.min(i, j), Math.max(i, j)]);
  }
  for (const [i, j] of pairs) connect(sim, ids[i] as RouterId, ids[j] as RouterId, o, rng);
  return ids;
}
