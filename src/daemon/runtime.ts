import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleServer } from '../admin/console-server.js';
import { AdminServer } from '../admin/server.js';
import type { FlowsResult } from '../admin/types.js';
import type { MetricsRegistry } from '../observe/metrics.js';
import type { NetworkModel } from '../observe/model.js';
import { NetworkObserver } from '../observe/network.js';
import { createRouterMetrics } from '../observe/router-metrics.js';
import { TRAFFIC_SAMPLE_MS } from '../observe/flows.js';
import type { StatusSnapshot } from '../admin/types.js';
import { errorMessage } from '../errors.js';
import { rotatingFileSink, type Logger } from '../observe/log.js';
import { openFdCount, readFdLimits } from '../observe/fd-limits.js';
import { AcceptGuard } from '../net/accept-guard.js';
import { FdWatch } from '../net/fd-watch.js';
import type { MuxSessionOptions } from '../links/mux/session.js';
import { describeTlsError } from '../links/tls.js';
import { Router, type RouterLimits } from '../router/router.js';
import type { RouterIdentity } from '../identity.js';
import { ensureSiteIdentity } from '../site/identity-file.js';
import { listenerRoutingKeys, type ListenerResource, type PeerLimits } from '../api/index.js';
import type { RejectedResource, SiteConfig } from '../site/site-dir.js';
import { diffSite, type SiteDiff } from './site-diff.js';
import type { ReloadResult, RevokeResult } from '../admin/types.js';
import type { ConfigSource, RuntimeContext, RuntimeOptions } from './context.js';
import { LinkAccess } from './link-access.js';
import { directorySource, SiteResources } from './reconcile.js';
import { observe, statusSnapshot, type StatusSources } from './status.js';
import { StatusKeeper } from './status-keeper.js';
import { systemClock, type Timer } from '../clock.js';

export type { ConfigSource, RuntimeOptions } from './context.js';

import { VERSION } from '../version.js';

export { VERSION };
/** how often conditions are brought up to date besides routing changes, reloads and reads (transition times) */
const CONDITIONS_REFRESH_MS = 1000;
const PLATFORM = `${process.platform}/${process.arch} node ${process.version}`;

/** dist/console next to dist/src (this file is dist/src/daemon/runtime.js). */
function defaultConsoleDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
}

/**
 * A running site: the router core plus its link acceptor and dialers, the TCP adapters and the admin API,
 * built from a site directory.
 */
export class SiteRuntime {
  readonly router: Router;
  /** link acceptor, grant server, revocations, certificate renewal */
  private readonly access: LinkAccess;
  /** listeners, connectors and link dialers, reconciled with resources/ */
  private readonly resources: SiteResources;
  private admin: AdminServer | undefined;
  private readonly startedAt: Date;
  /** the Site spec the router started with: the fields fixed for its lifetime come from it */
  private readonly startedSpec: SiteConfig['site']['spec'];
  private readonly log: Logger;
  /** the one writer of status conditions */
  private readonly conditions: StatusKeeper;
  private conditionsTimer: Timer | undefined;
  private stopped = false;
  readonly metrics: MetricsRegistry;
  readonly observer: NetworkObserver;
  private console: ConsoleServer | undefined;
  private sampleTimer: Timer | undefined;
  /** the flow access log (Site spec.observe.flowLog): stops watching and closes the file */
  private flowLog: { stop(): void } | undefined;
  /** the guards of the public ports; they outlive restarts of their servers, so their counts do too */
  private readonly guards: { link: AcceptGuard; grant: AcceptGuard; console: AcceptGuard };
  private readonly fdWatch: FdWatch;

  private constructor(
    private config: SiteConfig,
    private readonly opts: RuntimeOptions,
    private readonly identity: RouterIdentity,
    source: ConfigSource,
  ) {
    const site = config.site;
    const id = identity.routerId;
    this.startedAt = new Date((opts.clock ?? systemClock).now());
    this.startedSpec = structuredClone(site.spec);
    this.log = opts.logger.child({ site: site.metadata.name });
    if (site.spec.routerId !== undefined && site.spec.routerId !== id) {
      this.log.warn('spec.routerId is ignored: the router id is derived from the site identity key', {
        configured: site.spec.routerId,
        routerId: id,
      });
    }
    this.router = new Router({
      identity,
      mode: site.spec.mode,
      site: site.metadata.name,
      helloIntervalMs: site.spec.routing.helloIntervalMs,
      deadIntervalMs: site.spec.routing.deadIntervalMs,
      logger: opts.logger,
      ...(site.spec.observe?.flowRecords !== undefined ? { flowRecords: site.spec.observe.flowRecords } : {}),
      limits: routerLimits(site.spec.peerLimits),
      clock: opts.clock ?? systemClock,
    });
    const router = this.router;
    const limits = site.spec.limits;
    this.fdWatch = new FdWatch({ logger: this.log });
    const fdWatch = this.fdWatch;
    this.guards = {
      link: new AcceptGuard({
        server: 'link',
        fdWatch,
        logger: this.log.child({ subsystem: 'link-access' }),
        limits,
        refusedMessage: 'link refused',
        describeError: describeTlsError,
      }),
      grant: new AcceptGuard({
        server: 'grant',
        fdWatch,
        logger: this.log.child({ subsystem: 'grants' }),
        limits,
        refusedMessage: 'grant connection refused',
      }),
      console: new AcceptGuard({
        server: 'console',
        fdWatch,
        logger: this.log.child({ subsystem: 'console' }),
        limits,
        refusedMessage: 'console request refused',
      }),
    };
    this.conditions = new StatusKeeper(opts.clock ?? systemClock);
    const rt = this.context();
    this.access = new LinkAccess(rt, (name) => this.resources.applyLinkTls(name));
    this.resources = new SiteResources(
      rt,
      this.access,
      {
        applySite: (d, changes) => this.applySite(d, changes),
        publishInfo: () => {
          this.publishInfo();
          this.refreshConditions();
        },
      },
      source,
    );
    const listeners = this.resources.listeners;
    const connectors = this.resources.connectors;
    this.metrics = createRouterMetrics({
      routerId: id,
      records: router.records,
      links: () => router.linkStatuses(),
      limits: () => router.limitStats(),
      routing: () => ({
        ...router.engine.stats(),
        version: router.engine.version,
        routers: router.engine.topology().routers.length,
        identityRefusals: router.identityRefusalCount,
      }),
      listeners: () =>
        [...listeners.values()].map(({ l, r }) => ({
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          type: r.spec.type,
          stats: l.stats(),
        })),
      connectors: () =>
        [...connectors.values()].map(({ c, r }) => ({
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          type: r.spec.type,
          stats: c.stats(),
        })),
      guards: () => Object.values(this.guards).map((g) => ({ server: g.server, ...g.stats() })),
      fds: () => ({
        open: openFdCount(),
        max: this.fdWatch.lastSample?.max ?? readFdLimits()?.soft,
        exhaustedEpisodes: this.fdWatch.episodes,
      }),
    });
    this.observer = new NetworkObserver({
      selfId: id,
      records: router.records,
      localReport: () => this.localReport(),
      modelInput: () => ({
        self: {
          id,
          site: this.config.site.metadata.name,
          mode: router.mode,
          version: VERSION,
          platform: PLATFORM,
        },
        topology: router.engine.topology(),
        localLinks: router.linkStatuses(),
      }),
      routers: () => this.knownRouters(),
      request: (routerId, payload, timeoutMs) => router.request(routerId, payload, { timeoutMs }),
    });
    router.setManagementHandler((payload) => this.observer.handle(payload));
  }

  /** What the parts of the runtime share; `config` follows reloads. */
  private context(): RuntimeContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context reads and replaces this runtime's config
    const self = this;
    return {
      router: this.router,
      opts: this.opts,
      log: this.log,
      get config(): SiteConfig {
        return self.config;
      },
      set config(c: SiteConfig) {
        self.config = c;
      },
      muxOptions: () => this.muxOptions(),
      guards: this.guards,
      identity: this.identity,
    };
  }

  /** What this router tells a network-wide query about itself (besides its traffic). */
  private localReport(): {
    linkRtt: Record<string, number>;
    listeners: Record<string, string[]>;
    connectors: Record<string, string[]>;
  } {
    const linkRtt: Record<string, number> = {};
    for (const l of this.router.linkStatuses())
      if (l.neighbor !== undefined && l.rttMs !== undefined && l.state === 'up')
        linkRtt[l.neighbor] = l.rttMs;
    const listeners: Record<string, string[]> = {};
    for (const { r } of this.resources.listeners.values())
      for (const key of serviceKeysOf(r)) (listeners[key] ??= []).push(r.metadata.name);
    const connectors: Record<string, string[]> = {};
    for (const { c, r } of this.resources.connectors.values())
      if (c.healthy) (connectors[c.routingKey] ??= []).push(r.metadata.name);
    return { linkRtt, listeners, connectors };
  }

  /** Routers a network-wide query asks: reachable ones in the link-state database, edges linked here, self. */
  private knownRouters(): string[] {
    const ids = new Set<string>([this.router.id]);
    for (const r of this.router.engine.topology().routers) if (r.reachable) ids.add(r.id);
    for (const l of this.router.linkStatuses()) if (l.state === 'up' && l.neighbor) ids.add(l.neighbor);
    return [...ids].sort();
  }

  /** The network model, built network-wide (GET /v1/network, /api/network). */
  network(): Promise<NetworkModel> {
    return this.observer.network();
  }

  /** Flow records network-wide; `site` may name a site or a router id. */
  flows(q: { service?: string; site?: string; limit?: number }): Promise<FlowsResult> {
    const query = { ...q };
    if (query.site !== undefined) {
      const r = this.router.engine
        .topology()
        .routers.find((x) => x.id === query.site || x.info?.['site'] === query.site);
      if (r) query.site = r.id;
      else if (query.site === this.config.site.metadata.name) query.site = this.router.id;
    }
    return this.observer.flows(query);
  }

  /** Take a traffic sample every TRAFFIC_SAMPLE_MS, aligned to its multiples. */
  private startSampling(): void {
    const clock = this.opts.clock ?? systemClock;
    const tick = (): void => {
      this.router.records.sample();
      const now = clock.now();
      const next = TRAFFIC_SAMPLE_MS - (now % TRAFFIC_SAMPLE_MS);
      this.sampleTimer = clock.setTimeout(tick, next < 200 ? next + TRAFFIC_SAMPLE_MS : next).unref();
    };
    tick();
  }

  /** Site spec.observe.flowLog: every finished flow as one JSON line in logs/flows.log (rotated like router.log). */
  private startFlowLog(): void {
    if (!this.config.site.spec.observe?.flowLog) return;
    const path = join(this.config.dir, 'logs', 'flows.log');
    const sink = rotatingFileSink(path);
    const unwatch = this.router.records.watch((r) => {
      if (r.endedAt !== undefined) sink.write(`${JSON.stringify(r)}\n`);
    });
    this.flowLog = {
      stop: () => {
        unwatch();
        sink.close();
      },
    };
    this.log.info('flow log on', { path });
  }

  /** Starts the console when a port is configured; returns it (undefined when the console is off). */
  private async startConsole(): Promise<ConsoleServer | undefined> {
    const spec = this.config.site.spec.console;
    const port = this.opts.consolePort ?? spec?.port ?? 0;
    if (this.opts.consolePort === undefined && !(port > 0)) return undefined;
    const router = this.router;
    this.console = new ConsoleServer({
      host: spec?.host ?? '127.0.0.1',
      port,
      ...(spec?.username !== undefined ? { username: spec.username } : {}),
      ...(spec?.password !== undefined ? { password: spec.password } : {}),
      staticDir: this.opts.consoleStaticDir ?? defaultConsoleDir(),
      credentialsFile: join(this.config.dir, 'runtime', 'console-credentials'),
      logger: this.opts.logger,
      guard: this.guards.console,
      ...(spec?.hosts !== undefined ? { hosts: spec.hosts } : {}),
      data: {
        network: () => this.network(),
        flows: (q) => this.flows(q),
        traffic: (since) => this.observer.traffic(since),
        metrics: () => this.metrics.expose(),
        watchFlows: (fn) => router.records.watch(fn),
        watchNetwork: (fn) => {
          router.on('routes-changed', fn);
          return () => router.removeListener('routes-changed', fn);
        },
      },
    });
    await this.console.start();
    return this.console;
  }

  static start(dir: string, opts: RuntimeOptions): Promise<SiteRuntime> {
    return SiteRuntime.startFrom(directorySource(dir), opts);
  }

  /** Runs the configuration of `source` (a site directory, or Kubernetes mode's reconcile core). */
  static async startFrom(source: ConfigSource, opts: RuntimeOptions): Promise<SiteRuntime> {
    const { config, rejected } = await source.load();
    const identity = await ensureSiteIdentity(config.dir, config.site.metadata.name);
    const rt = new SiteRuntime(config, opts, identity, source);
    try {
      await rt.startAll(rejected);
    } catch (e) {
      await rt.stop();
      throw e;
    }
    return rt;
  }

  private muxOptions(): Omit<MuxSessionOptions, 'initiator' | 'logger'> {
    return {
      keepaliveIntervalMs: Math.max(1000, this.config.site.spec.routing.helloIntervalMs * 5),
      ...muxLimits(this.config.site.spec.peerLimits),
      onFault: (kind) => this.router.countFault(kind),
    };
  }

  /**
   * Logs the file-descriptor limits the router runs with. Node has already raised the soft limit to the hard
   * one; a low hard limit is the service manager's to raise (systemd: LimitNOFILE=, docs/design/security.md).
   */
  private logFdLimits(): void {
    const l = readFdLimits();
    if (!l) return;
    const fields = { soft: l.soft, hard: l.hard, open: openFdCount() };
    if (l.soft < 4096)
      this.log.warn('file descriptor limit is low; raise the hard limit (LimitNOFILE=)', fields);
    else this.log.info('file descriptor limits', fields);
  }

  private async startAll(rejected: RejectedResource[]): Promise<void> {
    this.logFdLimits();
    this.fdWatch.start();
    const { site } = this.config;
    this.admin = new AdminServer(
      this.opts.adminSocket ?? site.spec.admin?.socket ?? join(this.config.dir, 'runtime', 'admin.sock'),
      {
        status: () => this.status(),
        reload: () => this.reload(),
        revokeLink: (target: string) => this.revokeLink(target),
        network: () => this.network(),
        flows: (q) => this.flows(q),
        metrics: () => this.metrics.expose(),
      },
      this.opts.logger,
    );
    await this.admin.start();

    await this.access.startLinkAccess();

    await this.resources.startAll(rejected);
    this.resources.watchResources();
    this.publishInfo();
    this.startSampling();
    this.startFlowLog();
    await this.startConsole();
    this.watchConditions();
    this.log.info('router ready', {
      router: this.router.id,
      mode: this.router.mode,
      linkAccessPort: this.access.acceptor?.port,
      links: this.resources.dialers.size,
      listeners: this.resources.listeners.size,
      connectors: this.resources.connectors.size,
    });
  }

  /**
   * Applies a changed Site resource (this.config is already the new one): link access and the console restart
   * in place; anything else is reported as needing a router restart.
   */
  private async applySite(d: SiteDiff, changes: string[]): Promise<void> {
    const spec = this.config.site.spec;
    for (const g of Object.values(this.guards))
      if (g.setLimits(spec.limits))
        changes.push(`Site: limits of the ${g.server} port now ${JSON.stringify(g.currentLimits)}`);
    if (d.restart.length > 0) {
      changes.push(`Site: ${d.restart.join(', ')} changed: restart the router to apply`);
      this.log.warn('Site resource changed; restart the router to apply these fields', { fields: d.restart });
    }
    if (d.acceptor) await this.access.stopAcceptor();
    if (d.grants) await this.access.stopGrantServer();
    const la = spec.linkAccess;
    if (la && (d.acceptor || d.grants)) await this.access.loadRevocations();
    if (d.grants) await this.access.startGrantServer();
    if (d.acceptor) {
      try {
        await this.access.startAcceptor();
        changes.push(
          la
            ? `Site: link access on ${la.host}:${this.access.acceptor?.port ?? la.port}`
            : 'Site: link access off',
        );
      } catch (e) {
        await this.access.stopAcceptor();
        changes.push(`Site: link access not started: ${errorMessage(e)}`);
        this.log.error('link access not started after the Site changed', { reason: errorMessage(e) });
      }
    } else if (d.grants && la) changes.push('Site: grant server restarted (link access settings changed)');
    if (d.flowLog) {
      this.flowLog?.stop();
      this.flowLog = undefined;
      this.startFlowLog();
      changes.push(`Site: flow log ${this.flowLog ? 'on' : 'off'}`);
    }
    if (d.console) {
      const old = this.console;
      this.console = undefined;
      await old?.stop();
      try {
        const port = (await this.startConsole())?.port;
        changes.push(
          port !== undefined
            ? `Site: console on ${spec.console?.host ?? '127.0.0.1'}:${port}`
            : 'Site: console off',
        );
      } catch (e) {
        this.console = undefined;
        changes.push(`Site: console not started: ${errorMessage(e)}`);
        this.log.error('console not started after the Site changed', { reason: errorMessage(e) });
      }
    }
  }

  /** Tell the network who we are and which listeners we have (flooded with our routing advertisement). */
  private publishInfo(): void {
    const listeners: Record<string, number> = {};
    for (const { r } of this.resources.listeners.values())
      for (const key of serviceKeysOf(r)) listeners[key] = (listeners[key] ?? 0) + 1;
    const protocols: Record<string, string> = {};
    for (const { r } of this.resources.connectors.values()) protocols[r.spec.routingKey] = r.spec.type;
    for (const { r } of this.resources.listeners.values())
      for (const key of serviceKeysOf(r)) protocols[key] = r.spec.type;
    this.router.setInfo({
      site: this.config.site.metadata.name,
      version: VERSION,
      platform: PLATFORM,
      listeners,
      protocols,
    });
  }

  /** Re-read the configuration and bring the running router in line (see SiteResources.reload). */
  reload(): Promise<ReloadResult> {
    return this.resources.reload();
  }

  /** Revokes the links issued to `target` (site, link or grant name): records it, cuts them, refuses them. */
  revokeLink(target: string): Promise<RevokeResult> {
    return this.access.revokeLink(target);
  }

  private watchConditions(): void {
    this.refreshConditions();
    this.router.on('routes-changed', () => this.refreshConditions());
    const clock = this.opts.clock ?? systemClock;
    this.conditionsTimer = clock.setInterval(() => this.refreshConditions(), CONDITIONS_REFRESH_MS).unref();
  }

  /**
   * Site fields changed since the router started that only a restart applies (its id, mode, timers, admin
   * socket, peer limits), in spec order; empty when the running router has the Site as it is.
   */
  get pendingRestart(): string[] {
    return diffSite(this.startedSpec, this.config.site.spec).restart;
  }

  /** What status() and the conditions are built from. */
  private sources(): StatusSources {
    return {
      router: this.router,
      config: this.config,
      version: VERSION,
      startedAt: this.startedAt,
      dialers: this.resources.dialers,
      listeners: this.resources.listeners,
      connectors: this.resources.connectors,
      acceptor: this.access.acceptor,
      grants: this.access.grants,
      console: this.console,
      linkErrors: this.resources.linkErrors,
      rejected: this.resources.rejected,
      status: this.conditions,
      pendingRestart: this.pendingRestart,
    };
  }

  /** Brings every resource's status conditions up to date (on reads, routing changes, reloads, and every second). */
  private refreshConditions(): void {
    if (this.stopped) return;
    const changed = this.conditions.observe(observe(this.sources()));
    for (const c of changed) {
      const ready = c.conditions.find((x) => x.type === 'Ready');
      this.log.debug('conditions changed', {
        resource: `${c.kind}/${c.name}`,
        ready: ready?.status,
        reason: ready?.reason,
      });
    }
  }

  status(): StatusSnapshot {
    this.refreshConditions();
    return statusSnapshot(this.sources());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.conditionsTimer?.cancel();
    this.sampleTimer?.cancel();
    await this.console?.stop();
    await this.resources.stopWatching();
    this.router.stop();
    await this.resources.stopServices();
    await this.access.stop();
    this.router.destroyLinks();
    this.resources.destroyDialers();
    await this.admin?.stop();
    this.flowLog?.stop();
    for (const g of Object.values(this.guards)) g.close();
    this.fdWatch.stop();
  }
}

/**
 * The routing keys a listener is shown under in the network: its key(s); an amqp listener's address space as
 * `amqp:<routing key>` (the network model lists it with every address under it that has receivers).
 */
function serviceKeysOf(r: ListenerResource): string[] {
  return r.spec.type === 'amqp' ? [`amqp:${r.spec.routingKey}`] : listenerRoutingKeys(r.spec);
}

/** The router's share of Site spec.peerLimits (rates allow a burst of twice the rate). */
function routerLimits(p: PeerLimits | undefined): Partial<RouterLimits> {
  if (!p) return {};
  return {
    ...(p.streams !== undefined ? { streams: p.streams } : {}),
    ...(p.openRate !== undefined ? { openRate: { perSecond: p.openRate, burst: 2 * p.openRate } } : {}),
    ...(p.connectorFlows !== undefined ? { flowsPerConnector: p.connectorFlows } : {}),
    ...(p.helloTimeoutMs !== undefined ? { helloTimeoutMs: p.helloTimeoutMs } : {}),
  };
}

/** Each link's share of Site spec.peerLimits. */
function muxLimits(p: PeerLimits | undefined): Partial<MuxSessionOptions> {
  if (!p) return {};
  return {
    ...(p.linkStreams !== undefined ? { maxPeerStreams: p.linkStreams } : {}),
    ...(p.linkOpenRate !== undefined
      ? { peerOpenRate: { perSecond: p.linkOpenRate, burst: 2 * p.linkOpenRate } }
      : {}),
    ...(p.helloTimeoutMs !== undefined ? { prefaceTimeoutMs: p.helloTimeoutMs } : {}),
  };
}
