/**
 * The services and links of a running site and how they follow resources/: listeners, connectors and link
 * dialers are started from the resources, and a reload (file watch, SIGHUP, admin API) brings them in line
 * with the site directory again.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { ConnectorResource, LinkResource, ListenerResource } from '../api/index.js';
import type { ReloadResult } from '../admin/types.js';
import { errorMessage } from '../errors.js';
import { parseProxyUrl } from '../http-proxy.js';
import { LinkDialer } from '../links/dialer.js';
import { buildSecureContext, readTlsFiles, type TlsMaterial } from '../links/tls.js';
import type { Logger } from '../observe/log.js';
import type { ConnectorAdapter, ListenerAdapter } from '../router/contract.js';
import type { Router } from '../router/router.js';
import { loadSiteDir, type SiteConfig } from '../site/site-dir.js';
import { createConnector, createListener } from './adapters.js';
import type { RuntimeContext, RuntimeOptions } from './context.js';
import type { LinkAccess } from './link-access.js';
import { diffSite, type SiteDiff } from './site-diff.js';

/** What the composition root does when a reload changed the Site or the services. */
export interface ReconcileHooks {
  /** apply a changed Site resource (config is already the new one) */
  applySite(d: SiteDiff, changes: string[]): Promise<void>;
  /** re-advertise this router's info (listeners, protocols) */
  publishInfo(): void;
}

export class SiteResources {
  readonly dialers = new Map<string, { d: LinkDialer; spec: string; tlsHash: string }>();
  private readonly listenerSpecs = new Map<string, string>();
  private readonly connectorSpecs = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  private stopped = false;
  readonly listeners = new Map<string, { l: ListenerAdapter; r: ListenerResource; error?: string }>();
  readonly connectors = new Map<string, { c: ConnectorAdapter; r: ConnectorResource }>();

  constructor(
    private readonly rt: RuntimeContext,
    private readonly access: LinkAccess,
    private readonly hooks: ReconcileHooks,
  ) {}

  private get config(): SiteConfig {
    return this.rt.config;
  }
  private set config(c: SiteConfig) {
    this.rt.config = c;
  }
  private get opts(): RuntimeOptions {
    return this.rt.opts;
  }
  private get router(): Router {
    return this.rt.router;
  }
  private get log(): Logger {
    return this.rt.log;
  }
  private muxOptions(): { keepaliveIntervalMs: number } {
    return this.rt.muxOptions();
  }

  /** The link's certificate files changed: new dials use them; the connection that is up stays up. */
  async applyLinkTls(name: string): Promise<void> {
    const e = this.dialers.get(name);
    const link = this.config.links.find((l) => l.metadata.name === name);
    if (!e || !link) return;
    const material = await readTlsFiles(link.spec.tls);
    e.d.updateSecureContext(buildSecureContext(material));
    e.tlsHash = hashTls(material);
  }

  startConnector(r: ConnectorResource): void {
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

  async startListener(r: ListenerResource): Promise<void> {
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

  async startLink(link: LinkResource): Promise<void> {
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
    await this.access.startRenewer(link);
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
    this.access.stopRenewer(name);
    e.d.destroy();
  }

  // ------------------------------------------------------------------ reconcile

  /** Watch resources/ and reconcile on every change (debounced). */
  watchResources(): void {
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
      await this.hooks.applySite(siteDiff, changes);
      this.hooks.publishInfo();
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

  /** Stops watching resources/ and waits for a reload in progress. */
  async stopWatching(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await this.reloading?.catch(() => undefined);
  }

  /** Stops dialing, closes the listeners and the connectors. */
  async stopServices(): Promise<void> {
    for (const { d } of this.dialers.values()) d.stop();
    await Promise.all([...this.listeners.values()].map(({ l }) => l.stop()));
    for (const { c } of this.connectors.values()) c.stop();
  }

  /** Cuts the connections of the link dialers. */
  destroyDialers(): void {
    for (const { d } of this.dialers.values()) d.destroy();
  }
}

function hashTls(m: TlsMaterial): string {
  return createHash('sha256').update(m.ca).update(m.cert).update(m.key).digest('hex');
}
