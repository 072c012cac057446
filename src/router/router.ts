/**
 * The router core: links as `LinkSession`s and their control channel, the routing engine and its loop, local
 * connectors, and the dispatch of streams that arrive on links. The rest has a file each: opening flows with retry
 * (flow-open.ts), transit (transit.ts), management requests (management.ts), the link session state
 * (link-state.ts), in-flight counts (flow-load.ts). Layout: docs/design/architecture.md, "The router core".
 */
import { EventEmitter } from 'node:events';
import { CaravanError, ErrorCodes, errorMessage, isCaravanError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { RepeatLog } from '../observe/repeat-log.js';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { TokenBucket } from '../rate-limit.js';
import { RoutingEngine, type RoutingMessage, type RouterMode } from '../routing/index.js';
import { advertisementAuthenticator, idBelongsToSite, isSelfCertifyingId } from '../identity.js';
import { wireCode } from './codes.js';
import type {
  AdapterHost,
  ConnectorHandler,
  FlowHeader,
  FlowStream,
  LinkSession,
  OpenFlowRequest,
  OpenedFlow,
} from './contract.js';
import { AffinityTable } from './affinity.js';
import { FlowLoad } from './flow-load.js';
import { FlowOpener, NO_EXCLUSIONS, type Candidate, type Exclusion } from './flow-open.js';
import { LinkSessionMachine } from './link-state.js';
import { Management, MANAGEMENT_KEY, type ManagementHandler } from './management.js';
import { decodeControl, decodeFlowHeader, encodeControl, type ControlMessage } from './messages.js';
import { FlowStats } from './flow-stats.js';
import { FlowRecorder } from '../observe/flows.js';
import { forwardTransit, type TransitHost } from './transit.js';

export {
  MANAGEMENT_KEY,
  MANAGEMENT_MAX_REQUEST,
  MANAGEMENT_MAX_RESPONSE,
  type ManagementHandler,
} from './management.js';

export {
  DEFAULT_ROUTER_LIMITS,
  type LimitStats,
  type LinkDirection,
  type LinkInfo,
  type LinkStatus,
  type RouterLimits,
  type RouterOptions,
} from './router-types.js';
import {
  DEFAULT_ROUTER_LIMITS,
  type LimitStats,
  type LinkInfo,
  type LinkStatus,
  type RouterLimits,
  type RouterOptions,
} from './router-types.js';

interface LinkEntry extends LinkInfo {
  session: LinkSession;
  cost: number;
  neighbor?: string;
  neighborSite?: string;
  peerMode?: RouterMode;
  /** hello → registered → up → down (link-state.ts) */
  state: LinkSessionMachine;
  since: number;
  lastBytesIn: number;
}

/**
 * The router core: links, the routing engine, the address table, distribution and forwarding.
 * It never touches sockets; links arrive as `LinkSession`s, adapters hand it `ConnectorHandler`s and ask it to
 * open flows.
 */
export class Router extends EventEmitter implements AdapterHost {
  readonly id: string;
  get routerId(): string {
    return this.id;
  }
  readonly mode: RouterMode;
  readonly site: string;
  readonly engine: RoutingEngine;
  readonly flows = new FlowStats();
  /** a record of every flow started here (bounded ring), traffic counters and samples */
  readonly records: FlowRecorder;
  private readonly log: Logger;
  /**
   * The router's time: wall time when it started plus the clock's monotonic time since, so it never goes back
   * when the system clock is set (the routing engine's intervals are measured with it).
   */
  private readonly now: () => number;
  private readonly links = new Map<string, LinkEntry>();
  private readonly connectors = new Map<string, ConnectorHandler>();
  /** flows in flight per destination and per local connector */
  private readonly load = new FlowLoad();
  private timer: Timer | undefined;
  /** session affinity: `routingKey\0affinityKey` → destination (ingress) or local connector (egress) */
  private readonly affinity = new AffinityTable();
  private readonly opener: FlowOpener;
  private readonly management: Management;
  private readonly transit: TransitHost;
  private lastVersion = -1;
  private versionWaiters: Array<() => void> = [];
  private stopped = false;
  private readonly setupTimeoutMs: number;
  private readonly timers: { hello: number; dead: number };
  private readonly limits: RouterLimits;
  readonly clock: Clock;
  private readonly openBucket: TokenBucket;
  /** peer faults (malformed headers, refusals, ...) logged as one summary line per interval */
  private readonly faultLog: RepeatLog;
  /** streams opened by peers that are open now */
  private peerStreams = 0;
  private readonly refused = new Map<string, number>();
  private readonly faults = new Map<string, number>();

  /** links refused because the peer's claimed identity did not match its certificate or its site */
  private identityRefusals = 0;

  constructor(opts: RouterOptions) {
    super();
    if (opts.identity.site !== opts.site) {
      throw new CaravanError(
        ErrorCodes.PEER_IDENTITY,
        `the router identity is site ${opts.identity.site}'s, not ${opts.site}'s`,
      );
    }
    this.id = opts.identity.routerId;
    this.mode = opts.mode;
    this.site = opts.site;
    this.log = opts.logger.child({ subsystem: 'router', router: this.id });
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    const origin = clock.now() - clock.monotonic();
    this.now = () => origin + clock.monotonic();
    this.setupTimeoutMs = opts.flowSetupTimeoutMs ?? 10_000;
    this.timers = { hello: opts.helloIntervalMs, dead: opts.deadIntervalMs };
    this.limits = { ...DEFAULT_ROUTER_LIMITS, ...opts.limits };
    this.openBucket = new TokenBucket(this.limits.openRate, this.clock);
    this.faultLog = new RepeatLog(this.log, { clock: this.clock });
    this.records = new FlowRecorder(this.id, {
      ...(opts.flowRecords !== undefined ? { capacity: opts.flowRecords } : {}),
    });
    this.engine = new RoutingEngine(
      {
        id: this.id,
        mode: opts.mode,
        authenticator: advertisementAuthenticator(opts.identity),
        helloIntervalMs: opts.helloIntervalMs,
        deadIntervalMs: opts.deadIntervalMs,
        ...(opts.maxRouters !== undefined ? { maxRouters: opts.maxRouters } : {}),
      },
      this.now(),
    );
    // The parts with a file each see the core through these narrow views (no allocation per flow or chunk).
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const core = this;
    this.opener = new FlowOpener({
      id: this.id,
      log: this.log,
      clock,
      flows: this.flows,
      records: this.records,
      affinity: this.affinity,
      load: this.load,
      setupTimeoutMs: this.setupTimeoutMs,
      now: this.now,
      get stopped() {
        return core.stopped;
      },
      get routingVersion() {
        return core.engine.version;
      },
      candidates: (key, excluded, preferLocal, rotation) =>
        this.candidates(key, excluded, preferLocal, rotation),
      linkToward: (dest) => this.linkToward(dest),
      waitForRoutingChange: (ms) => this.waitForRoutingChange(ms),
    });
    this.management = new Management({
      id: this.id,
      log: this.log,
      clock,
      linkToward: (dest) => this.linkToward(dest),
    });
    this.transit = {
      id: this.id,
      mode: this.mode,
      faultLog: this.faultLog,
      linkToward: (dest, avoid) => this.linkToward(dest, avoid),
    };
    this.pump();
  }

  // ---------------------------------------------------------------- links

  addLink(session: LinkSession, info: LinkInfo): void {
    if (this.stopped) {
      session.destroy(new CaravanError(ErrorCodes.LINK_CLOSED, 'router is stopping'));
      return;
    }
    const entry: LinkEntry = {
      ...info,
      session,
      cost: info.cost ?? 1,
      state: new LinkSessionMachine(info.id, this.log),
      since: this.now(),
      lastBytesIn: 0,
    };
    this.links.set(info.id, entry);
    const log = this.log.child({ link: info.id });
    let helloTimer: Timer | undefined;
    if (this.limits.helloTimeoutMs > 0) {
      const ms = this.limits.helloTimeoutMs;
      helloTimer = this.clock
        .setTimeout(() => {
          if (entry.state.state !== 'hello' || session.closed) return;
          this.countFault('hello-timeout');
          log.warn('link closed: the peer did not say hello', { timeoutMs: ms });
          session.destroy(
            new CaravanError(ErrorCodes.LINK_TIMEOUT, `no hello from the peer within ${ms} ms`),
          );
        }, ms)
        .unref();
    }
    session.on('control', (payload) => this.onControl(entry, payload));
    session.on('stream', (stream, header) => this.onStream(entry, stream, header));
    session.on('refused', (why) => this.countRefused(why));
    session.on('close', (err) => {
      if (!entry.state.can('down')) return;
      helloTimer?.cancel();
      this.links.delete(info.id);
      const was = entry.state.transition('down', err ? errorMessage(err) : 'closed');
      if (was !== 'hello') {
        this.engine.linkDown(info.id, this.now());
        this.pump();
      }
      log.info('link session closed', {
        neighbor: entry.neighbor,
        reason: err ? errorMessage(err) : 'closed',
      });
      this.emit('link-closed', info.id);
    });
    const hi: ControlMessage = {
      k: 'hi',
      id: this.id,
      mode: this.mode,
      site: this.site,
      cost: entry.cost,
      hello: this.timers.hello,
      dead: this.timers.dead,
    };
    this.sendControl(entry, hi);
  }

  /**
   * A control message to a link's peer; nothing when the link is closing (its session closed, or its socket
   * already ended while the close is still on its way): the message would not arrive, and the link's close is
   * handled where it is reported.
   */
  private sendControl(l: LinkEntry, msg: ControlMessage): void {
    if (l.session.closed) return;
    try {
      l.session.sendControl(encodeControl(msg));
    } catch (e) {
      if (isCaravanError(e, ErrorCodes.LINK_CLOSED)) return;
      throw e;
    }
  }

  linkStatuses(): LinkStatus[] {
    return [...this.links.values()].map((l) => ({
      id: l.id,
      name: l.name,
      direction: l.direction,
      neighbor: l.neighbor,
      neighborSite: l.neighborSite,
      neighborMode: l.peerMode,
      cost: l.cost,
      state: l.state.state === 'up' ? 'up' : 'handshaking',
      rttMs: l.session.rttMs,
      bytesIn: l.session.stats.bytesIn,
      bytesOut: l.session.stats.bytesOut,
      activeFlows: l.session.stats.activeStreams,
      upSinceMs: l.since,
    }));
  }

  /** Counters of the limits on what peers can make this router do (for metrics). */
  limitStats(): LimitStats {
    return { refused: Object.fromEntries(this.refused), faults: Object.fromEntries(this.faults) };
  }

  /** A link was closed for a fault of its peer (the mux reports its own through the site runtime). */
  countFault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
  }

  private countRefused(why: string): void {
    this.refused.set(why, (this.refused.get(why) ?? 0) + 1);
  }

  /**
   * A new cost for a link while it is up. On a link this router dialled (its Link resource changed), the peer is
   * told with a `cost` control message and takes the cost over, so both ends advertise it; the link stays up.
   */
  setLinkCost(linkId: string, cost: number): void {
    const l = this.links.get(linkId);
    if (!l) return;
    this.applyCost(l, cost);
    if (l.direction === 'out') this.sendControl(l, { k: 'cost', cost });
  }

  private applyCost(l: LinkEntry, cost: number): void {
    if (l.cost === cost) return;
    this.log.info('link cost changed', { link: l.id, neighbor: l.neighbor, from: l.cost, to: cost });
    l.cost = cost;
    if (l.state.registered) {
      this.engine.setLinkCost(l.id, cost, this.now());
      this.pump();
    }
  }

  private onControl(link: LinkEntry, payload: Buffer): void {
    let msg: ControlMessage;
    try {
      msg = decodeControl(payload);
    } catch (e) {
      if (link.state.state === 'hello') {
        // the first message must be a well-formed `hi` naming a valid router id and site: nothing else links
        this.log.warn('link refused: malformed hello', {
          link: link.id,
          peer: link.name,
          error: errorMessage(e),
        });
        link.session.destroy(new CaravanError(ErrorCodes.PROTOCOL, `malformed hi: ${errorMessage(e)}`));
        return;
      }
      this.faultLog.warn('malformed-control', 'malformed control message dropped', {
        link: link.id,
        error: errorMessage(e),
      });
      return;
    }
    if (msg.k === 'cost') {
      // only the dialing end owns the cost; an accepting end does not send this
      if (link.direction === 'in') this.applyCost(link, msg.cost);
      return;
    }
    if (msg.k === 'hi') {
      if (link.state.state !== 'hello') return;
      const refusal = this.identityRefusal(link, msg.id, msg.site);
      if (refusal) {
        this.identityRefusals++;
        this.log.warn('link refused: peer identity', { link: link.id, peer: link.name, reason: refusal });
        link.session.destroy(new CaravanError(ErrorCodes.PEER_IDENTITY, refusal));
        return;
      }
      link.neighbor = msg.id;
      link.neighborSite = msg.site;
      link.peerMode = msg.mode;
      if (link.direction === 'in') link.cost = msg.cost;
      if (msg.id === this.id) {
        this.log.warn('link refused: peer has our own router id', { link: link.id, peer: msg.id });
        link.session.destroy(new CaravanError(ErrorCodes.PROTOCOL, `peer router id '${msg.id}' equals ours`));
        return;
      }
      if (this.mode === 'edge' && msg.mode === 'edge') {
        this.log.warn('link refused: edge routers only link to interior routers', {
          link: link.id,
          peer: msg.id,
        });
        link.session.destroy(new CaravanError(ErrorCodes.PROTOCOL, 'edge-to-edge links are not allowed'));
        return;
      }
      if (
        (msg.hello !== undefined && msg.hello !== this.timers.hello) ||
        (msg.dead !== undefined && msg.dead !== this.timers.dead)
      ) {
        // Each link uses the larger dead interval of its two ends (ADR 0005): the link holds, and failures on it are
        // detected after the slower side's interval. Worth a line in the log, not a warning.
        this.log.info('neighbor uses different routing timers; this link uses the larger dead interval', {
          link: link.id,
          neighbor: msg.id,
          theirHelloMs: msg.hello,
          theirDeadMs: msg.dead,
          ourHelloMs: this.timers.hello,
          ourDeadMs: this.timers.dead,
          linkDeadMs: Math.max(this.timers.dead, msg.dead ?? 0),
        });
      }
      link.state.transition('registered');
      this.engine.linkUp(link.id, link.cost, this.now());
      this.log.info('link registered', {
        link: link.id,
        neighbor: msg.id,
        neighborSite: msg.site,
        cost: link.cost,
      });
      this.pump();
    } else if (msg.k === 'rt') {
      if (!link.state.registered) return;
      const m = msg.m as { t?: unknown; id?: unknown } | null;
      if (m && typeof m === 'object' && m.t === 'hello' && m.id !== link.neighbor) {
        // The id in HELLOs is the one the certificate proved in `hi`; another one is an attempt to speak for
        // a different router on this link.
        this.identityRefusals++;
        this.log.warn('link refused: peer identity', {
          link: link.id,
          neighbor: link.neighbor,
          reason: 'HELLO carries another router id than the link certificate',
        });
        link.session.destroy(
          new CaravanError(
            ErrorCodes.PEER_IDENTITY,
            'HELLO carries another router id than the link certificate',
          ),
        );
        return;
      }
      this.engine.receive(link.id, msg.m as RoutingMessage, this.now());
      this.pump();
    }
  }

  /** Why a peer claiming `id` of site `site` on `link` is not who it says (undefined: it is). */
  private identityRefusal(link: LinkEntry, id: string, site: string): string | undefined {
    if (link.peerRouterId === undefined) return 'the link certificate names no router id';
    if (id !== link.peerRouterId) {
      return `peer claims router id ${id}, its certificate names ${link.peerRouterId}`;
    }
    if (!isSelfCertifyingId(id)) return `router id ${id} is not derived from a key`;
    if (!idBelongsToSite(id, site)) return `router id ${id} does not belong to site ${site}`;
    return undefined;
  }

  /** Links refused so far because a peer's identity did not check out. */
  get identityRefusalCount(): number {
    return this.identityRefusals;
  }

  // ---------------------------------------------------------------- routing loop

  /** Feed the engine's output to the links and schedule its next tick. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    // Any bytes received prove the neighbor alive, even when its HELLOs queue behind bulk data.
    for (const l of this.links.values()) {
      const n = l.session.stats.bytesIn;
      if (n !== l.lastBytesIn) {
        l.lastBytesIn = n;
        if (l.state.registered) this.engine.heard(l.id, now);
      }
    }
    this.engine.tick(now);
    for (const { linkId, msg } of this.engine.drainOutbox()) {
      const l = this.links.get(linkId);
      if (l) this.sendControl(l, { k: 'rt', m: msg });
    }
    for (const ev of this.engine.drainLinkEvents()) {
      const l = this.links.get(ev.linkId);
      if (!l) continue;
      if (ev.event === 'two-way') {
        // the adjacency can drop to one-way and form again on the same session: the link stays up
        if (l.state.state === 'registered') l.state.transition('up');
        this.log.info('link up: two-way adjacency', { link: l.id, neighbor: ev.neighbor ?? l.neighbor });
        this.emit('link-up', l.id);
      } else if (ev.event === 'dead') {
        this.log.warn('link dead: no HELLO within the dead interval', { link: l.id, neighbor: l.neighbor });
        l.session.destroy(new CaravanError(ErrorCodes.LINK_TIMEOUT, 'no HELLO within the dead interval'));
      }
    }
    if (this.engine.version !== this.lastVersion) {
      this.lastVersion = this.engine.version;
      const waiters = this.versionWaiters;
      this.versionWaiters = [];
      for (const w of waiters) w();
      this.emit('routes-changed');
    }
    this.scheduleTick();
  }

  private scheduleTick(): void {
    this.timer?.cancel();
    const delay = Math.max(0, Math.min(this.engine.nextTimerAt() - this.now(), 60_000));
    // Run the routing tick after the poll phase (setImmediate, an event-loop step rather than a timer): when the
    // event loop was blocked, data that arrived meanwhile is read first and counts as proof of life, instead of a
    // timer declaring the link dead while that data still sits in the socket.
    this.timer = this.clock.setTimeout(this.onTickDue, delay).unref();
  }

  private readonly onTickDue = (): void => {
    setImmediate(this.pumpNow);
  };
  private readonly pumpNow = (): void => this.pump();

  private waitForRoutingChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.versionWaiters = this.versionWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        t.cancel();
        resolve(true);
      };
      this.versionWaiters.push(done);
    });
  }

  /** What this router tells the network about itself (flooded with its advertisement). */
  setInfo(info: Record<string, unknown>): void {
    this.engine.setLocalInfo(info, this.now());
    this.pump();
  }

  // ---------------------------------------------------------------- connectors

  addConnector(handler: ConnectorHandler): void {
    this.connectors.set(handler.name, handler);
    this.refreshAddresses();
  }

  removeConnector(name: string): void {
    this.connectors.delete(name);
    this.refreshAddresses();
  }

  /** Adapters call this when a connector's target health changes. */
  refreshAddresses(): void {
    const counts: Record<string, number> = {};
    for (const c of this.connectors.values()) {
      if (c.healthy) counts[c.routingKey] = (counts[c.routingKey] ?? 0) + 1;
    }
    this.engine.setLocalAddresses(counts, this.now());
    this.pump();
  }

  /**
   * The least loaded healthy local connector for a key (ties: lower name, or round-robin with `rotation`);
   * `prefer` (affinity) wins while it is healthy.
   */
  private pickLocalConnector(
    key: string,
    exclude?: Set<string>,
    prefer?: string,
    rotation?: number,
  ): ConnectorHandler | undefined {
    const full = this.limits.flowsPerConnector;
    if (prefer !== undefined) {
      const p = this.connectors.get(prefer);
      if (p && p.routingKey === key && p.healthy && !exclude?.has(p.name) && this.connectorLoad(p) < full)
        return p;
    }
    let best: ConnectorHandler | undefined;
    let bestLoad = Infinity;
    let tied: ConnectorHandler[] = [];
    for (const c of this.connectors.values()) {
      if (c.routingKey !== key || !c.healthy || exclude?.has(c.name)) continue;
      const load = this.connectorLoad(c);
      if (load >= full) continue;
      if (load < bestLoad) tied = [c];
      else if (load === bestLoad) tied.push(c);
      if (load < bestLoad || (load === bestLoad && best !== undefined && c.name < best.name)) {
        best = c;
        bestLoad = load;
      }
    }
    if (rotation !== undefined && tied.length > 1) {
      tied.sort((a, b) => (a.name < b.name ? -1 : 1));
      return tied[rotation % tied.length];
    }
    return best;
  }

  private connectorLoad(c: ConnectorHandler): number {
    return this.load.connector(c.name);
  }

  /** Healthy local connectors for a key exist, but every one is at its flow limit. */
  private connectorsFull(key: string): boolean {
    let any = false;
    for (const c of this.connectors.values()) {
      if (c.routingKey !== key || !c.healthy) continue;
      if (this.connectorLoad(c) < this.limits.flowsPerConnector) return false;
      any = true;
    }
    return any;
  }

  private deliverLocally(stream: FlowStream, header: FlowHeader): void {
    const affKey = header.aff !== undefined ? `${header.key}\0${header.aff}` : undefined;
    const c = this.pickLocalConnector(
      header.key,
      undefined,
      affKey !== undefined ? this.affinity.get(affKey)?.connector : undefined,
    );
    if (c && affKey !== undefined) this.affinity.set(affKey, { router: this.id, connector: c.name });
    if (!c && this.connectorsFull(header.key)) {
      this.countRefused('connector-flows');
      this.faultLog.warn(
        'connector-flows',
        'flow refused: every connector for the key is at its flow limit',
        {
          key: header.key,
          limit: this.limits.flowsPerConnector,
        },
      );
      stream.reset(
        wireCode(ErrorCodes.TARGET_REFUSED),
        `connectors for '${header.key}' at router ${this.id} are at their limit of ${this.limits.flowsPerConnector} flows`,
      );
      return;
    }
    if (!c) {
      stream.reset(
        wireCode(ErrorCodes.NO_CONNECTOR),
        `no connector for '${header.key}' at router ${this.id}`,
      );
      return;
    }
    this.load.trackConnector(c.name, stream);
    c.deliver(stream, header);
  }

  // ---------------------------------------------------------------- incoming flows (egress and transit)

  private onStream(link: LinkEntry, stream: FlowStream, raw: Buffer): void {
    // Router-wide limits, checked before any work on the header (each link has its own in the mux).
    if (this.peerStreams >= this.limits.streams) {
      this.refuseStream(link, stream, 'router-streams', `too many open streams at router ${this.id}`);
      return;
    }
    if (!this.openBucket.take()) {
      this.refuseStream(link, stream, 'router-rate', `streams opened too fast at router ${this.id}`);
      return;
    }
    if (!link.state.registered) {
      // flows only on a link whose peer proved who it is (its `hi` matched its certificate)
      this.refuseStream(link, stream, 'not-registered', 'the link has not said hello');
      return;
    }
    this.peerStreams++;
    stream.once('close', () => this.peerStreams--);
    let header: FlowHeader;
    try {
      header = decodeFlowHeader(raw);
    } catch (e) {
      this.faultLog.warn('malformed-header', 'flow refused: malformed header', {
        link: link.id,
        error: errorMessage(e),
      });
      stream.reset(wireCode(ErrorCodes.PROTOCOL), 'malformed flow header');
      return;
    }
    if (header.dst === this.id) {
      if (header.key === MANAGEMENT_KEY) this.management.serve(stream, header);
      else this.deliverLocally(stream, header);
      return;
    }
    forwardTransit(this.transit, link.id, stream, header);
  }

  private refuseStream(link: LinkEntry, stream: FlowStream, why: string, reason: string): void {
    this.countRefused(why);
    this.faultLog.warn(why, 'stream refused: router limit', { link: link.id, limit: why, reason });
    stream.reset(wireCode(ErrorCodes.STREAM_REFUSED), reason);
  }

  /** The best live link toward a router (never back over `avoidLinkId` when another exists). */
  private linkToward(dest: string, avoidLinkId?: string): LinkEntry | undefined {
    const route = this.engine.routes().get(dest);
    if (!route) return undefined;
    let fallback: LinkEntry | undefined;
    for (const id of route.links) {
      const l = this.links.get(id);
      if (!l || l.session.closed) continue;
      if (id === avoidLinkId) {
        fallback ??= l;
        continue;
      }
      return l;
    }
    return fallback;
  }

  // ---------------------------------------------------------------- outgoing flows (ingress)

  /** Candidates for a routing key: reachable routers advertising it (self included when a local connector is healthy). */
  private candidates(
    key: string,
    excluded: ReadonlyMap<string, Exclusion>,
    preferLocal?: string,
    rotation?: number,
  ): Candidate[] {
    const out: Candidate[] = [];
    const version = this.engine.version;
    for (const d of this.engine.addressDestinations(key)) {
      const ex = excluded.get(d.router);
      // A destination that failed over a path is tried again once routing changed or it is reached another way.
      if (ex === 'target' || (ex && ex.version === version && this.linkToward(d.router)?.id === ex.linkId))
        continue;
      if (d.router === this.id) {
        const c = this.pickLocalConnector(key, undefined, preferLocal, rotation);
        if (c)
          out.push({
            router: this.id,
            cost: 0,
            inFlight: this.load.connector(c.name),
            connector: c,
          });
        continue;
      }
      out.push({ router: d.router, cost: d.cost, inFlight: this.load.destination(d.router, key) });
    }
    return out;
  }

  reachable(routingKey: string): boolean {
    return this.candidates(routingKey, NO_EXCLUSIONS).length > 0;
  }

  destinations(routingKey: string): string[] {
    return this.candidates(routingKey, NO_EXCLUSIONS).map((c) => c.router);
  }

  onRoutesChanged(fn: () => void): () => void {
    this.on('routes-changed', fn);
    return () => this.removeListener('routes-changed', fn);
  }

  /**
   * Open a flow for a listener: choose a destination, send OPEN along the path and wait for the egress router's
   * ACCEPT (its connector reached the target), retrying elsewhere until the setup deadline (flow-open.ts).
   */
  openFlow(req: OpenFlowRequest, established: (flow: OpenedFlow) => void): Promise<void> {
    return this.opener.open(req, established);
  }

  // ---------------------------------------------------------------- management requests (management.ts)

  /** Answer management requests addressed to this router (one handler; the site runtime sets it). */
  setManagementHandler(fn: ManagementHandler | undefined): void {
    this.management.setHandler(fn);
  }

  /**
   * Ask router `routerId` a management question over the network itself (one request body, one response body,
   * bounded in size and time); asking ourselves calls the handler directly.
   */
  request(
    routerId: string,
    payload: Buffer,
    opts: { timeoutMs?: number; maxResponseBytes?: number } = {},
  ): Promise<Buffer> {
    return this.management.request(routerId, payload, opts);
  }

  // ---------------------------------------------------------------- lifecycle

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.faultLog.close();
    for (const w of this.versionWaiters) w();
    this.versionWaiters = [];
    for (const l of this.links.values()) l.session.goAway(0, 'router stopping');
  }

  destroyLinks(): void {
    for (const l of this.links.values())
      l.session.destroy(new CaravanError(ErrorCodes.LINK_CLOSED, 'router stopped'));
  }
}
