// The link-state routing engine: pure and deterministic. No sockets, no timers, no clock, no randomness; the
// caller passes `now` (ms) into every call, sends what drainOutbox() returns, and calls tick() at nextTimerAt().
// Protocol: docs/design/routing.md.

import { Lsdb } from './lsdb.js';
import {
  adSigningBytes,
  compareAds,
  compareSeq,
  laterSeq,
  nextSeq,
  isRouterId,
  isValidCost,
  checkRoutingMessage,
  normalizeAddresses,
  normalizeAdvertisement,
  sameAddresses,
  sameContent,
  sameInfo,
  sameTopology,
} from './messages.js';
import { shortestPaths, type SpfResult } from './spf.js';
import {
  DEFAULT_DEAD_FACTOR,
  DEFAULT_MAX_ROUTERS,
  DEFAULT_PURGE_AFTER_MS,
  MAX_INFO_BYTES,
  DEFAULT_REFRESH_INTERVAL_MS,
  MAX_SEQ,
  type AdAuthenticator,
  type AddressDestination,
  type EngineConfig,
  type EngineStats,
  type Hello,
  type LinkEvent,
  type LinkId,
  type OutboundMessage,
  type Route,
  type RouterAdvertisement,
  type RouterId,
  type RouterMode,
  type TopologySnapshot,
} from './types.js';

interface LinkState {
  readonly id: LinkId;
  cost: number;
  /** Learned from the first HELLO on this link. */
  neighbor: RouterId | undefined;
  neighborMode: RouterMode | undefined;
  /** Both sides list each other in their HELLOs. */
  twoWay: boolean;
  /** Last HELLO received (linkUp time until the first one). */
  lastHeardAt: number;
  /** Dead interval on this link: the larger of ours and the one the neighbor's HELLO carries. */
  deadMs: number;
  nextHelloAt: number;
  /** Declared dead by tick(); waits for linkDown(). */
  dead: boolean;
}

/** Introspection of one link, for status pages and tests. */
export interface LinkInfo {
  linkId: LinkId;
  cost: number;
  neighbor: RouterId | undefined;
  neighborMode: RouterMode | undefined;
  twoWay: boolean;
  dead: boolean;
  /** the dead interval in force on this link (ours, or the neighbor's when larger) */
  deadIntervalMs: number;
}

function byCostThenId(a: LinkState, b: LinkState): number {
  if (a.cost !== b.cost) return a.cost - b.cost;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sameRoute(a: Route, b: Route): boolean {
  if (a.cost !== b.cost || a.nextHop !== b.nextHop || a.links.length !== b.links.length) return false;
  for (let i = 0; i < a.links.length; i++) if (a.links[i] !== b.links[i]) return false;
  return true;
}

function sameDestinations(a: readonly AddressDestination[], b: readonly AddressDestination[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as AddressDestination;
    const y = b[i] as AddressDestination;
    if (x.router !== y.router || x.cost !== y.cost || x.count !== y.count) return false;
  }
  return true;
}

export class RoutingEngine {
  readonly id: RouterId;
  readonly mode: RouterMode;
  private readonly helloMs: number;
  private readonly deadMs: number;
  private readonly refreshMs: number;
  private readonly purgeMs: number;
  private readonly boot: number;
  private readonly auth: AdAuthenticator;
  private readonly maxRouters: number;

  private now: number;
  private readonly links = new Map<LinkId, LinkState>();
  private readonly lsdb = new Lsdb();
  private localAddresses: Record<string, number> = {};
  private localInfo: Record<string, unknown> | undefined;
  /** bumps when any router's `info` changes (not part of `version`, which tracks routes and addresses) */
  private infoCounter = 0;

  // Origination of the own advertisement is lazy: changes set ownDirty, and the advertisement is (re)built once
  // per batch, when the caller drains the outbox or reads routes. Several adjacencies coming up together thus
  // cost one new seq, not one each.
  private ownDirty = false;
  /** Originate even if the content is unchanged (refresh, or a newer copy of our own ad was heard). */
  private ownForce = false;
  /** Highest seq seen for our own id (from a previous incarnation); the next origination goes past it. */
  private seqFloor = 0;
  private lastOriginatedAt: number;

  /** Messages queued in order (HELLOs, replies of tombstoned ads). */
  private queue: OutboundMessage[] = [];
  /** Per link, the routers whose current advertisement must be sent (materialised at drain time). */
  private readonly pending = new Map<LinkId, Set<RouterId>>();
  private events: LinkEvent[] = [];

  private spfDirty = true;
  private routesDirty = true;
  private addrDirty = true;
  /** `now` when a recomputation first became pending (undefined: all computed). */
  private dirtySince: number | undefined;
  private bestLinksCache: Map<RouterId, LinkState> | undefined;

  private spf: SpfResult = { cost: new Map(), nextHop: new Map() };
  private routeMap: ReadonlyMap<RouterId, Route> = new Map();
  private addrIndex: ReadonlyMap<string, readonly AddressDestination[]> = new Map();
  private minPurgeAt = Infinity;
  private versionCounter = 0;

  private readonly counters: EngineStats = {
    messagesIn: 0,
    messagesOut: 0,
    spfRuns: 0,
    malformed: 0,
    ignored: 0,
    adsAccepted: 0,
    originations: 0,
    lsdbChanges: 0,
    forged: 0,
    overflow: 0,
  };

  constructor(cfg: EngineConfig, now: number) {
    if (!isRouterId(cfg.id)) throw new RangeError(`routing: invalid router id ${JSON.stringify(cfg.id)}`);
    if (cfg.mode !== 'interior' && cfg.mode !== 'edge')
      throw new RangeError(`routing: invalid mode ${cfg.mode}`);
    const positive = (name: string, v: number): number => {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`routing: ${name} must be a positive number`);
      return v;
    };
    this.id = cfg.id;
    this.mode = cfg.mode;
    this.helloMs = positive('helloIntervalMs', cfg.helloIntervalMs);
    this.deadMs = positive('deadIntervalMs', cfg.deadIntervalMs ?? DEFAULT_DEAD_FACTOR * this.helloMs);
    if (this.deadMs <= this.helloMs)
      throw new RangeError('routing: deadIntervalMs must exceed helloIntervalMs');
    this.purgeMs = positive('purgeAfterMs', cfg.purgeAfterMs ?? DEFAULT_PURGE_AFTER_MS);
    // A live router must refresh before its copy could be purged elsewhere, or a tombstone of the same seq
    // would hide it when a partition heals: refresh at least twice per purge period.
    this.refreshMs = Math.min(
      positive('refreshIntervalMs', cfg.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS),
      this.purgeMs / 2,
    );
    this.now = Number.isFinite(now) ? now : 0;
    this.lastOriginatedAt = this.now;
    const boot = cfg.incarnation ?? this.now;
    if (!Number.isFinite(boot)) throw new RangeError('routing: incarnation must be a finite number');
    this.boot = boot;
    if (typeof cfg.authenticator?.sign !== 'function' || typeof cfg.authenticator.verify !== 'function') {
      throw new RangeError('routing: an authenticator is required');
    }
    this.auth = cfg.authenticator;
    this.maxRouters = Math.floor(positive('maxRouters', cfg.maxRouters ?? DEFAULT_MAX_ROUTERS));
    this.lsdb.install(
      this.signed({ t: 'ra', id: this.id, mode: this.mode, seq: 1, boot, links: [], addresses: {} }),
      this.now,
    );
    this.counters.originations = 1;
    this.dirtySince = this.now;
  }

  // ---- inputs ----------------------------------------------------------------------------------------------

  /** The transport connected; the neighbor is learned from its HELLO. Re-using a known link id resets it. */
  linkUp(linkId: LinkId, cost: number, now: number): void {
    this.advance(now);
    this.checkCost(cost);
    if (this.links.has(linkId)) this.linkDown(linkId, now);
    const link: LinkState = {
      id: linkId,
      cost,
      neighbor: undefined,
      neighborMode: undefined,
      twoWay: false,
      lastHeardAt: this.now,
      deadMs: this.deadMs,
      nextHelloAt: this.now,
      dead: false,
    };
    this.links.set(linkId, link);
    this.sendHello(link);
  }

  /** The transport closed. Unknown ids are ignored. */
  linkDown(linkId: LinkId, now: number): void {
    this.advance(now);
    const link = this.links.get(linkId);
    if (link === undefined) return;
    this.links.delete(linkId);
    this.pending.delete(linkId);
    this.dropAdjacency(link);
  }

  setLinkCost(linkId: LinkId, cost: number, now: number): void {
    this.advance(now);
    this.checkCost(cost);
    const link = this.links.get(linkId);
    if (link === undefined || link.cost === cost) return;
    link.cost = cost;
    if (link.twoWay) this.linksChanged();
  }

  /** Routing key -> local connector count (0 or absent = withdrawn). Throws on invalid local input. */
  setLocalAddresses(addrs: Record<string, number>, now: number): void {
    this.advance(now);
    const normalized = normalizeAddresses(addrs);
    if (normalized === undefined) {
      throw new TypeError(
        'routing: addresses must map non-empty routing keys to non-negative integer counts',
      );
    }
    if (sameAddresses(normalized, this.localAddresses)) return;
    this.localAddresses = normalized;
    this.ownDirty = true;
    this.markDirty();
  }

  /**
   * Opaque facts about this router flooded with its advertisement (site name, version, listener keys...).
   * Throws on input that is not a plain JSON object of at most MAX_INFO_BYTES.
   */
  setLocalInfo(info: Record<string, unknown>, now: number): void {
    this.advance(now);
    const text = JSON.stringify(info);
    if (text.length > MAX_INFO_BYTES) throw new RangeError(`routing: info exceeds ${MAX_INFO_BYTES} bytes`);
    if (this.localInfo !== undefined && JSON.stringify(this.localInfo) === text) return;
    this.localInfo = JSON.parse(text) as Record<string, unknown>;
    this.ownDirty = true;
    this.markDirty();
  }

  /**
   * Any traffic at all was received on `linkId`: the neighbor is alive even if its HELLOs are delayed behind
   * bulk data on a busy link. Refreshes liveness only; adjacency still needs HELLOs.
   */
  heard(linkId: LinkId, now: number): void {
    this.advance(now);
    const link = this.links.get(linkId);
    if (link === undefined || link.dead || link.neighbor === undefined) return;
    if (now > link.lastHeardAt) link.lastHeardAt = now;
  }

  /** Increments whenever some router's advertised `info` changes. */
  get infoVersion(): number {
    return this.infoCounter;
  }

  /** A message from the peer on `linkId`. Never throws: malformed input is counted and dropped. */
  receive(linkId: LinkId, msg: unknown, now: number): void {
    this.advance(now);
    this.counters.messagesIn++;
    const m = checkRoutingMessage(msg);
    if (m === undefined) {
      this.counters.malformed++;
      return;
    }
    const link = this.links.get(linkId);
    if (link === undefined || link.dead) {
      this.counters.ignored++;
      return;
    }
    if (m.t === 'hello') this.onHello(link, m);
    else this.onAdvertisement(link, m);
  }

  /** Sends HELLOs when due, declares silent links dead, refreshes the own advertisement, purges. */
  tick(now: number): void {
    this.advance(now);
    for (const link of this.links.values()) {
      if (link.dead) continue;
      if (this.now - link.lastHeardAt >= link.deadMs) {
        this.declareDead(link);
        continue;
      }
      if (this.now >= link.nextHelloAt) this.sendHello(link);
    }
    if (this.now >= this.lastOriginatedAt + this.refreshMs) {
      this.ownDirty = true;
      this.ownForce = true;
    }
    this.ensureComputed();
    this.purgeUnreachable();
    if (this.lsdb.tombstones.size > 0) this.lsdb.expireTombstones(this.now);
  }

  // ---- outputs ---------------------------------------------------------------------------------------------

  /** Messages to send, in order (per link: HELLOs first, then advertisements). */
  drainOutbox(): OutboundMessage[] {
    this.flushOrigination();
    const out = this.queue;
    this.queue = [];
    for (const [linkId, ids] of this.pending) {
      const link = this.links.get(linkId);
      if (link === undefined || link.dead) continue;
      for (const id of ids) {
        const e = this.lsdb.get(id);
        if (e !== undefined) out.push({ linkId, msg: e.ad });
      }
    }
    this.pending.clear();
    this.counters.messagesOut += out.length;
    return out;
  }

  /** 'two-way' when an adjacency forms; 'dead' when a link timed out (the caller should close the transport). */
  drainLinkEvents(): LinkEvent[] {
    const ev = this.events;
    this.events = [];
    return ev;
  }

  /** The earliest `now` at which tick() has work (Infinity if none). */
  nextTimerAt(): number {
    let t = this.lastOriginatedAt + this.refreshMs;
    for (const link of this.links.values()) {
      if (link.dead) continue;
      t = Math.min(t, link.nextHelloAt, link.lastHeardAt + link.deadMs);
    }
    t = Math.min(t, this.minPurgeAt);
    if (this.dirtySince !== undefined) t = Math.min(t, this.dirtySince + this.helloMs);
    return t;
  }

  /** Every reachable router except self. The map is never mutated afterwards and its routes are frozen. */
  routes(): ReadonlyMap<RouterId, Route> {
    this.ensureComputed();
    return this.routeMap;
  }

  /** Reachable routers advertising `key`, self included with cost 0, sorted by cost then router id. */
  addressDestinations(key: string): AddressDestination[] {
    this.ensureComputed();
    const d = this.addrIndex.get(key);
    return d === undefined ? [] : d.map((x) => ({ ...x }));
  }

  /** Keys with at least one reachable destination, sorted. */
  addressKeys(): string[] {
    this.ensureComputed();
    return [...this.addrIndex.keys()].sort();
  }

  neighborOf(linkId: LinkId): RouterId | undefined {
    return this.links.get(linkId)?.neighbor;
  }

  /** Increments whenever routes() or any address destinations change. */
  get version(): number {
    this.ensureComputed();
    return this.versionCounter;
  }

  /** The current seq of the own advertisement. */
  get seq(): number {
    this.flushOrigination();
    return (this.lsdb.get(this.id) as { ad: RouterAdvertisement }).ad.seq;
  }

  topology(): TopologySnapshot {
    this.ensureComputed();
    const ids = [...this.lsdb.entries.keys()].sort();
    return {
      routers: ids.map((id) => {
        const e = this.lsdb.entries.get(id) as NonNullable<ReturnType<Lsdb['get']>>;
        return {
          id,
          mode: e.ad.mode,
          seq: e.ad.seq,
          reachable: e.reachable,
          links: e.ad.links.map((l) => ({ neighbor: l.neighbor, cost: l.cost })),
          addresses: { ...e.ad.addresses },
          ...(e.ad.info !== undefined ? { info: e.ad.info } : {}),
        };
      }),
    };
  }

  linkInfo(): LinkInfo[] {
    return [...this.links.values()].map((l) => ({
      linkId: l.id,
      cost: l.cost,
      neighbor: l.neighbor,
      neighborMode: l.neighborMode,
      twoWay: l.twoWay,
      dead: l.dead,
      deadIntervalMs: l.deadMs,
    }));
  }

  stats(): EngineStats {
    return { ...this.counters };
  }

  // ---- HELLO and adjacencies -------------------------------------------------------------------------------

  private onHello(link: LinkState, h: Hello): void {
    if (h.id === this.id) {
      this.counters.ignored++; // a link looping back to ourselves
      return;
    }
    if (link.neighbor !== undefined && link.neighbor !== h.id) {
      // A different router on the same transport: start over.
      this.dropAdjacency(link);
      link.neighbor = undefined;
    }
    const first = link.neighbor === undefined;
    link.neighbor = h.id;
    link.neighborMode = h.mode;
    link.lastHeardAt = this.now;
    link.deadMs = h.dead !== undefined ? Math.max(this.deadMs, h.dead) : this.deadMs;
    // Answer a new neighbor at once so it sees itself listed without waiting a hello interval.
    if (first) this.sendHello(link);
    const listed = h.seen.includes(this.id);
    if (listed && !link.twoWay) {
      const alreadyAdjacent = this.bestLinks().has(h.id);
      link.twoWay = true;
      this.events.push({ linkId: link.id, event: 'two-way', neighbor: h.id });
      this.linksChanged();
      if (!alreadyAdjacent) this.syncDatabase(link);
    } else if (!listed && link.twoWay) {
      this.dropAdjacency(link);
    }
  }

  private sendHello(link: LinkState): void {
    const seen = link.neighbor === undefined ? [] : [link.neighbor];
    this.queue.push({
      linkId: link.id,
      msg: { t: 'hello', id: this.id, mode: this.mode, seen, dead: this.deadMs },
    });
    link.nextHelloAt = this.now + this.helloMs;
  }

  private declareDead(link: LinkState): void {
    link.dead = true;
    this.pending.delete(link.id);
    this.events.push(
      link.neighbor === undefined
        ? { linkId: link.id, event: 'dead' }
        : { linkId: link.id, event: 'dead', neighbor: link.neighbor },
    );
    this.dropAdjacency(link);
  }

  /** The link stops counting (down, dead, or one-way again). */
  private dropAdjacency(link: LinkState): void {
    if (!link.twoWay) return;
    link.twoWay = false;
    this.linksChanged();
    // Advertisements in flight on the lost link may be gone: resynchronise over a remaining parallel link.
    const other = link.neighbor === undefined ? undefined : this.bestLinks().get(link.neighbor);
    if (other !== undefined) this.syncDatabase(other);
  }

  /** Whole database to a new adjacency (interiors); edges only send their own advertisement. */
  private syncDatabase(link: LinkState): void {
    if (this.mode === 'edge') {
      this.addPending(link.id, this.id);
      return;
    }
    for (const id of this.lsdb.entries.keys()) this.addPending(link.id, id);
  }

  private linksChanged(): void {
    this.bestLinksCache = undefined;
    this.routesDirty = true;
    this.ownDirty = true;
    this.markDirty();
  }

  /** The best two-way link (lowest cost, then id) to every adjacent neighbor. */
  private bestLinks(): Map<RouterId, LinkState> {
    if (this.bestLinksCache !== undefined) return this.bestLinksCache;
    const best = new Map<RouterId, LinkState>();
    for (const l of this.links.values()) {
      if (!l.twoWay || l.neighbor === undefined) continue;
      const cur = best.get(l.neighbor);
      if (cur === undefined || byCostThenId(l, cur) < 0) best.set(l.neighbor, l);
    }
    this.bestLinksCache = best;
    return best;
  }

  // ---- advertisements --------------------------------------------------------------------------------------

  private onAdvertisement(link: LinkState, ad: RouterAdvertisement): void {
    if (ad.id === this.id) {
      this.onOwnAdvertisement(link, ad);
      return;
    }
    const cur = this.lsdb.get(ad.id);
    if (cur !== undefined) {
      const c = compareAds(ad, cur.ad);
      if (c > 0) {
        if (this.genuine(ad)) this.installForeign(link, ad);
      } else if (c < 0) {
        this.addPending(link.id, ad.id); // the sender is behind: send it our newer copy
      } else {
        this.pending.get(link.id)?.delete(ad.id); // implied acknowledgement: the sender has this copy
      }
      return;
    }
    const tomb = this.lsdb.tombstone(ad.id, this.now);
    if (tomb !== undefined) {
      const c = compareAds(ad, tomb.ad);
      if (c < 0) {
        // The sender is behind our purged copy. Answer with it, as for a live entry: if the originator has
        // restarted (its seq went back), the copy floods on to it and it jumps past it; if it is dead, the copy
        // is unreachable everywhere and purged again.
        this.queue.push({ linkId: link.id, msg: tomb.ad });
        return;
      }
      // Do not re-learn the very copy we purged from a neighbor that has not purged it yet: a live originator
      // refreshes at least twice per purge period, so an unchanged copy is a dead router's. The originator itself
      // sending it proves it is alive, though: accept it then.
      if (c === 0 && link.neighbor !== ad.id) return;
    }
    if (this.lsdb.entries.size >= this.maxRouters) {
      this.counters.overflow++;
      return;
    }
    if (this.genuine(ad)) this.installForeign(link, ad);
  }

  /** The advertisement carries its router's key and that key signed it; counted as forged otherwise. */
  private genuine(ad: RouterAdvertisement): boolean {
    let ok = false;
    try {
      ok = this.auth.verify(ad.id, ad.key, adSigningBytes(ad), ad.sig);
    } catch {
      ok = false;
    }
    if (!ok) this.counters.forged++;
    return ok;
  }

  private signed(ad: Omit<RouterAdvertisement, 'key' | 'sig'>): RouterAdvertisement {
    const unsigned = { ...ad, key: this.auth.key };
    return { ...unsigned, sig: this.auth.sign(adSigningBytes(unsigned)) };
  }

  private onOwnAdvertisement(link: LinkState, ad: RouterAdvertisement): void {
    const own = (this.lsdb.get(this.id) as { ad: RouterAdvertisement }).ad;
    const bySeq = compareSeq(ad.seq, own.seq);
    if (bySeq > 0 || (bySeq === 0 && !sameContent(ad, own))) {
      // Claims to be a newer copy of ours: only a copy we signed (in an earlier incarnation) makes us jump past
      // it; anything else is forged and dropped, so nobody can push our seq around.
      if (ad.key !== this.auth.key || !this.genuine(ad)) {
        if (ad.key !== this.auth.key) this.counters.forged++;
        return;
      }
      this.seqFloor = this.seqFloor === 0 ? ad.seq : laterSeq(this.seqFloor, ad.seq);
      this.ownForce = true;
      this.ownDirty = true;
      this.markDirty();
    } else if (bySeq < 0) {
      this.addPending(link.id, this.id);
    } else {
      this.pending.get(link.id)?.delete(this.id); // the sender already has our current copy
    }
  }

  /** `raw` is checked but not normalised; a normalised copy is stored. */
  private installForeign(from: LinkState, raw: RouterAdvertisement): void {
    const ad = normalizeAdvertisement(raw);
    const old = this.lsdb.install(ad, this.now);
    this.counters.adsAccepted++;
    this.noteChange(old?.ad, ad);
    this.pending.get(from.id)?.delete(ad.id);
    if (this.mode !== 'interior') return; // edges never re-flood
    for (const [neighbor, l] of this.bestLinks()) {
      if (l.id === from.id || neighbor === from.neighbor) continue;
      this.addPending(l.id, ad.id);
    }
  }

  private flushOrigination(): void {
    if (!this.ownDirty) return;
    this.ownDirty = false;
    const own = (this.lsdb.get(this.id) as { ad: RouterAdvertisement }).ad;
    const links = [...this.bestLinks()]
      .map(([neighbor, l]) => ({ neighbor, cost: l.cost }))
      .sort((a, b) => (a.neighbor < b.neighbor ? -1 : a.neighbor > b.neighbor ? 1 : 0));
    const content = {
      mode: this.mode,
      boot: this.boot,
      links,
      addresses: this.localAddresses,
      ...(this.localInfo !== undefined ? { info: this.localInfo } : {}),
    };
    if (!this.ownForce && sameContent(content, own)) return;
    const body = {
      t: 'ra' as const,
      id: this.id,
      mode: this.mode,
      boot: this.boot,
      links,
      addresses: { ...this.localAddresses },
      ...(this.localInfo !== undefined ? { info: this.localInfo } : {}),
    };
    const base = this.seqFloor === 0 ? own.seq : laterSeq(own.seq, this.seqFloor);
    const seq = nextSeq(base);
    if (compareSeq(seq, own.seq) <= 0) {
      // The copy to pass is (almost) half the sequence space ahead of the copy the network holds now: no single
      // value is later than both. Step through the middle: a copy a quarter of the space ahead of the current
      // one goes out first (in order, before the final one), so every router holds a copy the final seq passes.
      const mid = this.signed({ ...body, seq: ((own.seq - 1 + 2 ** 30) % MAX_SEQ) + 1 });
      for (const l of this.bestLinks().values()) this.queue.push({ linkId: l.id, msg: mid });
    }
    const ad = this.signed({ ...body, seq });
    this.seqFloor = 0;
    const old = this.lsdb.install(ad, this.now);
    this.noteChange(old?.ad, ad);
    this.ownForce = false;
    this.lastOriginatedAt = this.now;
    this.counters.originations++;
    for (const l of this.bestLinks().values()) this.addPending(l.id, this.id);
  }

  private noteChange(old: RouterAdvertisement | undefined, ad: RouterAdvertisement): void {
    if (!sameInfo(old?.info, ad.info)) this.infoCounter++;
    if (old === undefined || !sameTopology(old, ad)) this.spfDirty = true;
    else if (!sameAddresses(old.addresses, ad.addresses)) this.addrDirty = true;
    else return;
    this.counters.lsdbChanges++;
    this.markDirty();
  }

  private addPending(linkId: LinkId, id: RouterId): void {
    let s = this.pending.get(linkId);
    if (s === undefined) {
      s = new Set();
      this.pending.set(linkId, s);
    }
    s.add(id);
  }

  // ---- computation -----------------------------------------------------------------------------------------

  private markDirty(): void {
    if (this.dirtySince === undefined) this.dirtySince = this.now;
  }

  private ensureComputed(): void {
    this.flushOrigination();
    if (this.dirtySince === undefined) return;
    let changed = false;
    if (this.spfDirty) {
      this.runSpf();
      this.spfDirty = false;
      this.routesDirty = true;
      this.addrDirty = true;
    }
    if (this.routesDirty) {
      this.routesDirty = false;
      const r = this.buildRoutes();
      if (!this.sameRoutes(r)) {
        this.routeMap = r;
        changed = true;
      }
    }
    if (this.addrDirty) {
      this.addrDirty = false;
      const a = this.buildAddressIndex();
      if (!this.sameAddressIndex(a)) {
        this.addrIndex = a;
        changed = true;
      }
    }
    if (changed) this.versionCounter++;
    this.dirtySince = undefined;
  }

  private runSpf(): void {
    this.spf = shortestPaths(this.id, this.lsdb.entries);
    this.counters.spfRuns++;
    let minPurge = Infinity;
    for (const [id, e] of this.lsdb.entries) {
      e.reachable = this.spf.cost.has(id);
      if (e.reachable) {
        e.unreachableSince = undefined;
      } else {
        if (e.unreachableSince === undefined) e.unreachableSince = this.now;
        minPurge = Math.min(minPurge, e.unreachableSince + this.purgeMs);
      }
    }
    this.minPurgeAt = minPurge;
  }

  private buildRoutes(): Map<RouterId, Route> {
    const linksTo = new Map<RouterId, LinkState[]>();
    for (const l of this.links.values()) {
      if (!l.twoWay || l.neighbor === undefined) continue;
      const arr = linksTo.get(l.neighbor);
      if (arr === undefined) linksTo.set(l.neighbor, [l]);
      else arr.push(l);
    }
    const sortedLinks = new Map<RouterId, LinkId[]>();
    for (const [n, arr] of linksTo)
      sortedLinks.set(
        n,
        arr.sort(byCostThenId).map((l) => l.id),
      );
    const dests = [...this.spf.nextHop.keys()].sort();
    const routes = new Map<RouterId, Route>();
    for (const dest of dests) {
      const nextHop = this.spf.nextHop.get(dest) as RouterId;
      const links = sortedLinks.get(nextHop);
      if (links === undefined || links.length === 0) continue; // cannot happen: own ad mirrors two-way links
      const route: Route = { dest, cost: this.spf.cost.get(dest) as number, nextHop, links: [...links] };
      Object.freeze(route.links);
      routes.set(dest, Object.freeze(route));
    }
    return routes;
  }

  private sameRoutes(r: ReadonlyMap<RouterId, Route>): boolean {
    if (r.size !== this.routeMap.size) return false;
    for (const [dest, route] of r) {
      const old = this.routeMap.get(dest);
      if (old === undefined || !sameRoute(old, route)) return false;
    }
    return true;
  }

  private buildAddressIndex(): Map<string, AddressDestination[]> {
    const index = new Map<string, AddressDestination[]>();
    for (const [id, e] of this.lsdb.entries) {
      const cost = this.spf.cost.get(id);
      if (cost === undefined) continue;
      for (const key of Object.keys(e.ad.addresses)) {
        const d: AddressDestination = { router: id, cost, count: e.ad.addresses[key] as number };
        const arr = index.get(key);
        if (arr === undefined) index.set(key, [d]);
        else arr.push(d);
      }
    }
    for (const arr of index.values()) {
      arr.sort((a, b) => a.cost - b.cost || (a.router < b.router ? -1 : a.router > b.router ? 1 : 0));
    }
    return index;
  }

  private sameAddressIndex(a: ReadonlyMap<string, readonly AddressDestination[]>): boolean {
    if (a.size !== this.addrIndex.size) return false;
    for (const [key, dests] of a) {
      const old = this.addrIndex.get(key);
      if (old === undefined || !sameDestinations(old, dests)) return false;
    }
    return true;
  }

  private purgeUnreachable(): void {
    if (this.minPurgeAt > this.now) return;
    let minPurge = Infinity;
    for (const [id, e] of [...this.lsdb.entries]) {
      if (e.reachable || e.unreachableSince === undefined || id === this.id) continue;
      const at = e.unreachableSince + this.purgeMs;
      if (at <= this.now) this.lsdb.purge(id, this.now, this.purgeMs);
      else minPurge = Math.min(minPurge, at);
    }
    this.minPurgeAt = minPurge;
  }

  // ---- helpers ---------------------------------------------------------------------------------------------

  private advance(now: number): void {
    if (Number.isFinite(now) && now > this.now) this.now = now;
  }

  private checkCost(cost: number): void {
    if (!isValidCost(cost))
      throw new RangeError(`routing: link cost must be a number in (0, 1e9], got ${cost}`);
  }
}
