import { createHash } from 'node:crypto';
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
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
import { LinkAcceptor } from '../links/acceptor.js';
import { LinkDialer } from '../links/dialer.js';
import { parseProxyUrl } from '../http-proxy.js';
import type { MuxSession, MuxSessionOptions } from '../links/mux/session.js';
import { buildSecureContext, readTlsFiles, type TlsMaterial } from '../links/tls.js';
import { rotatingFileSink, type Logger } from '../observe/log.js';
import { openFdCount, readFdLimits } from '../observe/fd-limits.js';
import { AcceptGuard } from '../net/accept-guard.js';
import { FdWatch } from '../net/fd-watch.js';
import { describeTlsError } from '../links/tls.js';
import type { ConnectorAdapter, ListenerAdapter } from '../router/contract.js';
import { Router, type RouterLimits } from '../router/router.js';
import { createConnector, createListener } from './adapters.js';
import {
  listenerKeys,
  listenerRoutingKeys,
  type ConnectorResource,
  type LinkResource,
  type ListenerResource,
  type PeerLimits,
} from '../api/index.js';
import { loadSiteDir, type SiteConfig } from '../site/site-dir.js';
import { diffSite, type SiteDiff } from './site-diff.js';
import type { ReloadResult, RevokeResult } from '../admin/types.js';
// Import the router-side grant modules directly (not the index): the token/redeem side would load the X.509
// library at start-up, which costs ~22 MB of heap a router only needs when it signs or renews a certificate.
import { LinkRenewer } from '../site/grants/renew.js';
import { revokeLink } from '../site/grants/revoke.js';
import { GrantServer } from '../site/grants/server.js';
import { RevocationSet, fileExists, sitePaths } from '../site/grants/state.js';

export const VERSION = '0.1.0';
const PLATFORM = `${process.platform}/${process.arch} node ${process.version}`;

export interface RuntimeOptions {
  logger: Logger;
  /** override the admin socket path (default `<dir>/runtime/admin.sock`) */
  adminSocket?: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** enable the console HTTP server on this port (overrides Site spec.console.port; 0 = ephemeral) */
  consolePort?: number;
  /** where the built web console lives (default: dist/console of this package) */
  consoleStaticDir?: string;
}

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
  private acceptor: LinkAcceptor | undefined;
  private readonly dialers = new Map<string, { d: LinkDialer; spec: string; tlsHash: string }>();
  private readonly listenerSpecs = new Map<string, string>();
  private readonly connectorSpecs = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  private stopped = false;
  private readonly listeners = new Map<string, { l: ListenerAdapter; r: ListenerResource; error?: string }>();
  private readonly connectors = new Map<string, { c: ConnectorAdapter; r: ConnectorResource }>();
  private admin: AdminServer | undefined;
  private readonly startedAt = new Date();
  private readonly log: Logger;
  private grants: GrantServer | undefined;
  private revocations = new RevocationSet([], []);
  private readonly renewers = new Map<string, LinkRenewer>();
  private grantsWatcher: FSWatcher | undefined;
  private revocationTimer: NodeJS.Timeout | undefined;
  readonly metrics: MetricsRegistry;
  readonly observer: NetworkObserver;
  private console: ConsoleServer | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  /** the flow access log (Site spec.observe.flowLog): stops watching and closes the file */
  private flowLog: { stop(): void } | undefined;
  /** the guards of the public ports; they outlive restarts of their servers, so their counts do too */
  private readonly guards: { link: AcceptGuard; grant: AcceptGuard; console: AcceptGuard };
  private readonly fdWatch: FdWatch;

  private constructor(
    private config: SiteConfig,
    private readonly opts: RuntimeOptions,
  ) {
    const site = config.site;
    const id = site.spec.routerId ?? site.metadata.name;
    this.log = opts.logger.child({ site: site.metadata.name });
    this.router = new Router({
      id,
      mode: site.spec.mode,
      site: site.metadata.name,
      helloIntervalMs: site.spec.routing.helloIntervalMs,
      deadIntervalMs: site.spec.routing.deadIntervalMs,
      logger: opts.logger,
      ...(site.spec.observe?.flowRecords !== undefined ? { flowRecords: site.spec.observe.flowRecords } : {}),
      limits: routerLimits(site.spec.peerLimits),
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
    this.metrics = createRouterMetrics({
      routerId: id,
      records: router.records,
      links: () => router.linkStatuses(),
      limits: () => router.limitStats(),
      routing: () => ({
        ...router.engine.stats(),
        version: router.engine.version,
        routers: router.engine.topology().routers.length,
      }),
      listeners: () =>
        [...this.listeners.values()].map(({ l, r }) => ({
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          type: r.spec.type,
          stats: l.stats(),
        })),
      connectors: () =>
        [...this.connectors.values()].map(({ c, r }) => ({
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
    for (const { r } of this.listeners.values())
      for (const key of serviceKeysOf(r)) (listeners[key] ??= []).push(r.metadata.name);
    const connectors: Record<string, string[]> = {};
    for (const { c, r } of this.connectors.values())
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
    const tick = (): void => {
      this.router.records.sample();
      const now = Date.now();
      const next = TRAFFIC_SAMPLE_MS - (now % TRAFFIC_SAMPLE_MS);
      this.sampleTimer = setTimeout(tick, next < 200 ? next + TRAFFIC_SAMPLE_MS : next);
      this.sampleTimer.unref?.();
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

  static async start(dir: string, opts: RuntimeOptions): Promise<SiteRuntime> {
    const config = await loadSiteDir(dir);
    const rt = new SiteRuntime(config, opts);
    try {
      await rt.startAll();
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

  private async startAll(): Promise<void> {
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

    await this.startLinkAccess();

    for (const c of this.config.connectors) this.startConnector(c);
    for (const l of this.config.listeners) await this.startListener(l);
    for (const link of this.config.links) await this.startLink(link);
    this.watchResources();
    this.publishInfo();
    this.startSampling();
    this.startFlowLog();
    await this.startConsole();
    this.log.info('router ready', {
      router: this.router.id,
      mode: this.router.mode,
      linkAccessPort: this.acceptor?.port,
      links: this.dialers.size,
      listeners: this.listeners.size,
      connectors: this.connectors.size,
    });
  }

  /**
   * Link access of an interior site: revocations, the grant server (token redemption) and the link acceptor.
   * Nothing when the Site has no linkAccess.
   */
  private async startLinkAccess(): Promise<void> {
    if (!this.config.site.spec.linkAccess) return;
    await this.loadRevocations();
    await this.startGrantServer();
    await this.startAcceptor();
  }

  private async startAcceptor(): Promise<void> {
    const { site } = this.config;
    if (!site.spec.linkAccess || !site.spec.tls) return;
    const acceptor = new LinkAcceptor({
      host: site.spec.linkAccess.host,
      port: site.spec.linkAccess.port,
      tls: await readTlsFiles(site.spec.tls),
      onSession: (
        session: MuxSession,
        info: { id: string; name: string; direction: 'in' | 'out'; cost?: number },
      ) => this.router.addLink(session, info),
      logger: this.opts.logger,
      mux: this.muxOptions(),
      refuse: (cert) => this.revocations.refusal(cert.serialNumber ?? ''),
      guard: this.guards.link,
    });
    await acceptor.start();
    this.acceptor = acceptor;
    this.watchRevocations();
  }

  /** Stops the link acceptor; links accepted by it are cut (their peers redial). */
  private async stopAcceptor(): Promise<void> {
    const acceptor = this.acceptor;
    this.acceptor = undefined;
    await acceptor?.stop();
    this.grantsWatcher?.close();
    this.grantsWatcher = undefined;
    if (this.revocationTimer) clearTimeout(this.revocationTimer);
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
    if (d.acceptor) await this.stopAcceptor();
    if (d.grants) {
      const grants = this.grants;
      this.grants = undefined;
      await grants?.stop();
    }
    const la = spec.linkAccess;
    if (la && (d.acceptor || d.grants)) await this.loadRevocations();
    if (d.grants) await this.startGrantServer();
    if (d.acceptor) {
      try {
        await this.startAcceptor();
        changes.push(
          la ? `Site: link access on ${la.host}:${this.acceptor?.port ?? la.port}` : 'Site: link access off',
        );
      } catch (e) {
        await this.stopAcceptor();
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

  // ------------------------------------------------------------------ grants, revocation, renewal

  /** The grant server (token redemption, certificate renewal); a failure to start it does not stop the site. */
  private async startGrantServer(): Promise<void> {
    const { site } = this.config;
    const la = site.spec.linkAccess;
    if (!la || !site.spec.tls) return;
    if (!(await fileExists(sitePaths(this.config.dir).caKey))) {
      this.log.warn(
        'grant server not started: the site has no CA key (runtime/ca.key); tokens cannot be redeemed',
      );
      return;
    }
    const lifetime = Number(process.env.CARAVAN_LINK_CERT_LIFETIME_MS);
    const grants = new GrantServer({
      dir: this.config.dir,
      siteName: site.metadata.name,
      host: la.host,
      port: la.grantPort,
      linkAccess: la,
      linkPort: () => this.acceptor?.port,
      tls: site.spec.tls,
      logger: this.opts.logger,
      ...(Number.isFinite(lifetime) && lifetime > 0 ? { defaultLifetimeMs: lifetime } : {}),
      onChange: () => void this.loadRevocations(),
      guard: this.guards.grant,
    });
    try {
      await grants.start();
      this.grants = grants;
    } catch (e) {
      this.log.error('grant server not started; tokens cannot be redeemed', { reason: errorMessage(e) });
    }
  }

  private async loadRevocations(): Promise<void> {
    try {
      this.revocations = await RevocationSet.load(this.config.dir);
    } catch (e) {
      this.log.error('revocations unreadable; keeping the previous list', { reason: errorMessage(e) });
    }
  }

  /** Re-read revocations and cut the accepted links whose certificate is now refused. */
  private async applyRevocations(): Promise<number> {
    await this.loadRevocations();
    const cut = this.acceptor?.disconnect((cert) => this.revocations.refusal(cert.serialNumber ?? '')) ?? 0;
    if (cut > 0) this.log.warn('revoked links cut', { count: cut });
    return cut;
  }

  /** runtime/grants/revoked.json may also be written by `caravan link revoke` while the router runs. */
  private watchRevocations(): void {
    const dir = sitePaths(this.config.dir).grantsDir;
    try {
      mkdirSync(dir, { recursive: true });
      this.grantsWatcher = watch(dir, (_event, file) => {
        if (file !== null && file !== 'revoked.json') return;
        if (this.revocationTimer) clearTimeout(this.revocationTimer);
        this.revocationTimer = setTimeout(() => void this.applyRevocations(), 100);
      });
      this.grantsWatcher.on('error', () => undefined);
    } catch {
      // runtime/grants/ does not exist yet: nothing was issued, so nothing can be revoked before the next start
      // except through the admin API, which applies revocations itself
    }
  }

  /** Revokes the links issued to `target` (site, link or grant name): records it, cuts them, refuses them. */
  async revokeLink(target: string): Promise<RevokeResult> {
    const run = (): Promise<Awaited<ReturnType<typeof revokeLink>>> => revokeLink(this.config.dir, target);
    const r = await (this.grants ? this.grants.lock.run(run) : run());
    const cut = await this.applyRevocations();
    this.log.warn('link revoked', { target, sites: r.sites, serials: r.revoked, cut });
    if (!this.grantsWatcher) this.watchRevocations();
    return { ...r, cut };
  }

  private async startRenewer(link: LinkResource): Promise<void> {
    const name = link.metadata.name;
    const renewer = await LinkRenewer.create({
      link: name,
      tls: link.spec.tls,
      ...(link.spec.proxy !== undefined ? { proxy: link.spec.proxy } : {}),
      logger: this.opts.logger,
      onRenewed: () => this.applyLinkTls(name),
    });
    if (!renewer) return;
    this.renewers.set(name, renewer);
    renewer.start();
  }

  /** The link's certificate files changed: new dials use them; the connection that is up stays up. */
  private async applyLinkTls(name: string): Promise<void> {
    const e = this.dialers.get(name);
    const link = this.config.links.find((l) => l.metadata.name === name);
    if (!e || !link) return;
    const material = await readTlsFiles(link.spec.tls);
    e.d.updateSecureContext(buildSecureContext(material));
    e.tlsHash = hashTls(material);
  }

  // ------------------------------------------------------------------ services and links

  private startConnector(r: ConnectorResource): void {
    const c = createConnector(this.router, r, this.opts.logger);
    this.connectors.set(r.metadata.name, { c, r });
    this.connectorSpecs.set(r.metadata.name, JSON.stringify(r.spec));
    this.router.addConnector(c);
  }

  private stopConnector(name: string): void {
    const e = this.connectors.get(name);
    if (!e) return;
    this.connectors.delete(name);
    this.connectorSpecs.delete(name);
    this.router.removeConnector(name);
    e.c.stop();
  }

  private async startListener(r: ListenerResource): Promise<void> {
    const l = createListener(this.router, r, this.opts.logger);
    const entry: { l: ListenerAdapter; r: ListenerResource; error?: string } = { l, r };
    this.listeners.set(r.metadata.name, entry);
    this.listenerSpecs.set(r.metadata.name, JSON.stringify(r.spec));
    try {
      await l.start();
    } catch (e) {
      // A port conflict on one listener must not take the site down: report it and keep serving the rest.
      entry.error = errorMessage(e);
      this.log.error('listener not started', { listener: r.metadata.name, reason: entry.error });
    }
  }

  private async stopListener(name: string): Promise<void> {
    const e = this.listeners.get(name);
    if (!e) return;
    this.listeners.delete(name);
    this.listenerSpecs.delete(name);
    await e.l.stop();
  }

  private async startLink(link: LinkResource): Promise<void> {
    const material = await readTlsFiles(link.spec.tls);
    const dialer = new LinkDialer({
      name: link.metadata.name,
      endpoints: link.spec.endpoints,
      cost: link.spec.cost,
      secureContext: buildSecureContext(material),
      ...(link.spec.proxy !== undefined ? { proxy: parseProxyUrl(link.spec.proxy) } : {}),
      onSession: (session, info) => this.router.addLink(session, info),
      logger: this.opts.logger,
      mux: this.muxOptions(),
      ...(this.opts.backoffInitialMs !== undefined ? { backoffInitialMs: this.opts.backoffInitialMs } : {}),
      ...(this.opts.backoffMaxMs !== undefined ? { backoffMaxMs: this.opts.backoffMaxMs } : {}),
    });
    this.dialers.set(link.metadata.name, {
      d: dialer,
      spec: JSON.stringify(link.spec),
      tlsHash: hashTls(material),
    });
    dialer.start();
    await this.startRenewer(link);
  }

  /**
   * Links whose resource changed only in cost: the new cost applies to the running link (and the peer takes it
   * over), so the link and its flows stay up. Any other change restarts the link (reconcileSet).
   */
  private applyLinkCosts(links: LinkResource[], changes: string[]): void {
    for (const link of links) {
      const e = this.dialers.get(link.metadata.name);
      if (!e) continue;
      const cur = JSON.parse(e.spec) as LinkResource['spec'];
      if (
        cur.cost === link.spec.cost ||
        JSON.stringify({ ...cur, cost: link.spec.cost }) !== JSON.stringify(link.spec)
      )
        continue;
      e.d.setCost(link.spec.cost);
      this.router.setLinkCost(link.metadata.name, link.spec.cost);
      e.spec = JSON.stringify(link.spec);
      changes.push(`Link/${link.metadata.name}: cost ${cur.cost} -> ${link.spec.cost}`);
    }
  }

  private stopLink(name: string): void {
    const e = this.dialers.get(name);
    if (!e) return;
    this.dialers.delete(name);
    this.renewers.get(name)?.stop();
    this.renewers.delete(name);
    e.d.destroy();
  }

  // ------------------------------------------------------------------ reconcile

  /** Watch resources/ and reconcile on every change (debounced). */
  private watchResources(): void {
    try {
      this.watcher = watch(join(this.config.dir, 'resources'), () => this.scheduleReload());
      this.watcher.on('error', (err) => this.log.warn('resource watch failed', { error: err.message }));
    } catch (e) {
      this.log.warn('cannot watch resources/; changes apply on SIGHUP or admin reload', {
        error: errorMessage(e),
      });
    }
  }

  private scheduleReload(): void {
    if (this.stopped) return;
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(), 150);
  }

  /**
   * Re-read the site directory and bring the running router in line: start, stop or replace listeners,
   * connectors and links whose resources changed. Invalid resources leave everything as it is (and say why).
   */
  reload(): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      let next: SiteConfig;
      try {
        next = await loadSiteDir(this.config.dir);
      } catch (e) {
        this.log.error(
          'resources not applied: the site directory is invalid; the router keeps its configuration',
          {
            reason: errorMessage(e),
          },
        );
        return { applied: false, error: errorMessage(e), changes: [] };
      }
      const changes: string[] = [];
      const siteDiff = diffSite(this.config.site.spec, next.site.spec);
      await this.reconcileSet(
        next.connectors,
        this.connectorSpecs,
        (c) => this.startConnector(c),
        (n) => this.stopConnector(n),
        'Connector',
        changes,
      );
      await this.reconcileSet(
        next.listeners,
        this.listenerSpecs,
        (l) => this.startListener(l),
        (n) => this.stopListener(n),
        'Listener',
        changes,
      );
      this.applyLinkCosts(next.links, changes);
      const linkSpecs = new Map([...this.dialers].map(([k, v]) => [k, v.spec]));
      await this.reconcileSet(
        next.links,
        linkSpecs,
        (l) => this.startLink(l),
        (n) => this.stopLink(n),
        'Link',
        changes,
      );
      // same Link spec, new certificate files (renewal): new dials use them, the link stays up
      for (const link of next.links) {
        const e = this.dialers.get(link.metadata.name);
        if (!e) continue;
        let material: TlsMaterial;
        try {
          material = await readTlsFiles(link.spec.tls);
        } catch (err) {
          this.log.error('link certificate files unreadable', {
            link: link.metadata.name,
            reason: errorMessage(err),
          });
          continue;
        }
        const h = hashTls(material);
        if (h !== e.tlsHash) {
          e.d.updateSecureContext(buildSecureContext(material));
          e.tlsHash = h;
          changes.push(`Link/${link.metadata.name}: certificate updated`);
        }
      }
      this.config = next;
      await this.applySite(siteDiff, changes);
      this.publishInfo();
      if (changes.length) this.log.info('resources applied', { changes });
      return { applied: true, changes };
    };
    const p = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = p;
    return p;
  }

  private async reconcileSet<R extends { metadata: { name: string }; spec: unknown }>(
    desired: R[],
    running: Map<string, string>,
    start: (r: R) => unknown,
    stop: (name: string) => unknown,
    kind: string,
    changes: string[],
  ): Promise<void> {
    const want = new Map(desired.map((r) => [r.metadata.name, r]));
    for (const name of [...running.keys()]) {
      const r = want.get(name);
      if (!r) {
        await stop(name);
        changes.push(`${kind}/${name} removed`);
      } else if (JSON.stringify(r.spec) !== running.get(name)) {
        await stop(name);
        await start(r);
        changes.push(`${kind}/${name} updated`);
      }
    }
    for (const [name, r] of want) {
      if (!running.has(name)) {
        await start(r);
        changes.push(`${kind}/${name} added`);
      }
    }
  }

  /** Tell the network who we are and which listeners we have (flooded with our routing advertisement). */
  private publishInfo(): void {
    const listeners: Record<string, number> = {};
    for (const { r } of this.listeners.values())
      for (const key of serviceKeysOf(r)) listeners[key] = (listeners[key] ?? 0) + 1;
    const protocols: Record<string, string> = {};
    for (const { r } of this.connectors.values()) protocols[r.spec.routingKey] = r.spec.type;
    for (const { r } of this.listeners.values())
      for (const key of serviceKeysOf(r)) protocols[key] = r.spec.type;
    this.router.setInfo({
      site: this.config.site.metadata.name,
      version: VERSION,
      platform: PLATFORM,
      listeners,
      protocols,
    });
  }

  status(): StatusSnapshot {
    const r = this.router;
    const engine = r.engine;
    const sessions = r.linkStatuses();
    const links: StatusSnapshot['links'] = sessions.map((s) => ({
      id: s.id,
      name: s.name,
      direction: s.direction,
      state: s.state,
      ...(s.neighbor !== undefined ? { neighbor: s.neighbor } : {}),
      ...(s.neighborMode !== undefined ? { neighborMode: s.neighborMode } : {}),
      cost: s.cost,
      ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}),
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      upSince: new Date(s.upSinceMs).toISOString(),
      activeFlows: s.activeFlows,
      ...proxyOf(s.direction === 'out' ? this.dialers.get(s.id)?.d : undefined),
    }));
    for (const [name, { d }] of this.dialers) {
      if (sessions.some((s) => s.id === name)) continue;
      const ep = d.endpoint;
      links.push({
        id: name,
        name,
        direction: 'out',
        state: d.state,
        cost: 0,
        bytesIn: 0,
        bytesOut: 0,
        activeFlows: 0,
        ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
        ...(ep ? { endpoint: `${ep.host}:${ep.port}` } : {}),
        ...proxyOf(d),
      });
    }
    const routes = [...engine.routes().values()].map((rt) => ({
      dest: rt.dest,
      cost: rt.cost,
      nextHop: rt.nextHop,
      links: [...rt.links],
    }));
    const addresses = engine
      .addressKeys()
      .map((key: string) => ({ key, destinations: engine.addressDestinations(key) }));
    const stats = engine.stats();
    const flows = r.flows.toJSON();
    return {
      router: {
        id: r.id,
        site: r.site,
        mode: r.mode,
        pid: process.pid,
        version: VERSION,
        startedAt: this.startedAt.toISOString(),
        ...(this.acceptor?.port !== undefined && this.config.site.spec.linkAccess
          ? { linkAccess: { host: this.config.site.spec.linkAccess.host, port: this.acceptor.port } }
          : {}),
        ...(this.grants?.port !== undefined && this.config.site.spec.linkAccess
          ? { grantServer: { host: this.config.site.spec.linkAccess.host, port: this.grants.port } }
          : {}),
        ...(this.console?.url !== undefined
          ? { console: { url: this.console.url, auth: this.console.requiresAuth } }
          : {}),
      },
      links,
      routes,
      addresses,
      listeners: [...this.listeners.values()].map(({ l, r, error }) => {
        const multi = listenerKeys(r.spec);
        const routed = l.routedByKey?.() ?? {};
        const keys = multi?.keys.map((k) => ({
          routingKey: k.routingKey,
          weight: k.weight,
          matched: engine.addressDestinations(k.routingKey).length > 0,
          routed: routed[k.routingKey] ?? 0,
        }));
        return {
          name: r.metadata.name,
          type: r.spec.type,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: l.port,
          distribution: r.spec.distribution,
          matched: keys
            ? keys.some((k) => k.matched)
            : r.spec.type === 'amqp'
              ? amqpMatched(engine.addressKeys(), r.spec.routingKey)
              : engine.addressDestinations(r.spec.routingKey).length > 0,
          ...(multi && keys ? { strategy: multi.strategy, keys } : {}),
          ...(error !== undefined ? { error } : {}),
          stats: l.stats(),
        };
      }),
      connectors: [...this.connectors.values()].map(({ c, r }) => ({
        name: r.metadata.name,
        type: r.spec.type,
        routingKey: r.spec.routingKey,
        target: c.target,
        healthy: c.healthy,
        stats: c.stats(),
      })),
      flows: { byKey: flows.byKey, failuresByCode: flows.failuresByCode },
      routing: {
        version: engine.version,
        messagesIn: stats.messagesIn,
        messagesOut: stats.messagesOut,
        spfRuns: stats.spfRuns,
        malformed: stats.malformed,
      },
      topology: engine.topology(),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sampleTimer) clearTimeout(this.sampleTimer);
    await this.console?.stop();
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await this.reloading?.catch(() => undefined);
    this.router.stop();
    for (const { d } of this.dialers.values()) d.stop();
    await Promise.all([...this.listeners.values()].map(({ l }) => l.stop()));
    for (const { c } of this.connectors.values()) c.stop();
    await this.acceptor?.stop();
    this.grantsWatcher?.close();
    if (this.revocationTimer) clearTimeout(this.revocationTimer);
    for (const r of this.renewers.values()) r.stop();
    await this.grants?.stop();
    this.router.destroyLinks();
    for (const { d } of this.dialers.values()) d.destroy();
    await this.admin?.stop();
    this.flowLog?.stop();
    for (const g of Object.values(this.guards)) g.close();
    this.fdWatch.stop();
  }
}

/** `{proxy}` for a link status view when the dialer goes through one. */
/**
 * The routing keys a listener is shown under in the network: its key(s); an amqp listener's address space as
 * `amqp:<routing key>` (the network model lists it with every address under it that has receivers).
 */
function serviceKeysOf(r: ListenerResource): string[] {
  return r.spec.type === 'amqp' ? [`amqp:${r.spec.routingKey}`] : listenerRoutingKeys(r.spec);
}

/** an amqp listener is matched when a receiver for some address under its routing key is reachable */
function amqpMatched(keys: string[], routingKey: string): boolean {
  return keys.some((k) => {
    if (!k.startsWith('amqp:')) return false;
    const a = k.slice(5);
    return a === routingKey || a.startsWith(`${routingKey}.`) || a.startsWith(`${routingKey}/`);
  });
}

function proxyOf(d: LinkDialer | undefined): { proxy?: string } {
  return d?.proxy !== undefined ? { proxy: d.proxy } : {};
}

function hashTls(m: TlsMaterial): string {
  return createHash('sha256').update(m.ca).update(m.cert).update(m.key).digest('hex');
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
