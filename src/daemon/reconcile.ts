/**
 * The services and links of a running site and how they follow resources/: listeners, connectors and link
 * dialers are started from the resources, and a reload (file watch, SIGHUP, admin API) brings them in line
 * with the site directory again.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import {
  formatIssue,
  type ConnectorResource,
  type Kind,
  type LinkResource,
  type ListenerResource,
} from '../api/index.js';
import type { ReloadResult } from '../admin/types.js';
import type { Timer } from '../clock.js';
import { errorMessage, isCaravanError } from '../errors.js';
import { parseProxyUrl } from '../http-proxy.js';
import { LinkDialer } from '../links/dialer.js';
import { buildSecureContext, readTlsFiles, type TlsMaterial } from '../links/tls.js';
import type { ConnectorAdapter, ListenerAdapter } from '../router/contract.js';
import { loadSite, type LoadedSite, type RejectedResource } from '../site/site-dir.js';
import { readJson, type LinkGrantInfo } from '../site/grants/state.js';
import { LinkRenewer } from '../site/grants/renew.js';
import {
  createConnector,
  createListener,
  loadAdapters,
  updateConnector,
  updateListener,
} from './adapters.js';
import { RuntimePart, type ConfigSource, type RuntimeContext } from './context.js';
import type { LinkAccess } from './link-access.js';
import {
  describeChange,
  connectorInPlace,
  diffResources,
  linkInPlace,
  listenerInPlace,
  type ResourceChange,
} from './resource-diff.js';
import { diffSite, type SiteDiff } from './site-diff.js';

/** Today's behaviour: the configuration is the site directory `dir`, re-read on every reload. */
export function directorySource(dir: string): ConfigSource {
  return { load: () => loadSite(dir) };
}

/** A running listener: its adapter, the resource it runs, and why it does not serve (its port is taken, ...). */
export interface ListenerEntry {
  l: ListenerAdapter;
  r: ListenerResource;
  error?: string;
  /** the error's code (PORT_IN_USE, CONFIG_IO) */
  errorCode?: string;
}

/** What the composition root does when a reload changed the Site or the services. */
export interface ReconcileHooks {
  /** apply a changed Site resource (config is already the new one) */
  applySite(d: SiteDiff, changes: string[]): Promise<void>;
  /** re-advertise this router's info (listeners, protocols) */
  publishInfo(): void;
}

export class SiteResources extends RuntimePart {
  readonly dialers = new Map<string, { d: LinkDialer; r: LinkResource; tlsHash: string }>();
  /** links that could not start (their certificate files are unreadable): why */
  readonly linkErrors = new Map<string, string>();
  /** resources of the site directory left out because they are invalid */
  rejected: RejectedResource[] = [];
  private watcher: FSWatcher | undefined;
  private unwatch: (() => void) | undefined;
  private reloadTimer: Timer | undefined;
  private reloading: Promise<ReloadResult> | undefined;
  private stopped = false;
  readonly listeners = new Map<string, ListenerEntry>();
  readonly connectors = new Map<string, { c: ConnectorAdapter; r: ConnectorResource }>();

  constructor(
    rt: RuntimeContext,
    private readonly access: LinkAccess,
    private readonly hooks: ReconcileHooks,
    private readonly source: ConfigSource = directorySource(rt.config.dir),
  ) {
    super(rt);
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
    this.router.addConnector(c);
  }

  private stopConnector(name: string): void {
    const e = this.connectors.get(name);
    if (!e) return;
    this.connectors.delete(name);
    this.router.removeConnector(name);
    e.c.stop();
  }

  async startListener(r: ListenerResource): Promise<void> {
    const l = createListener(this.router, r, this.opts.logger);
    const entry: ListenerEntry = { l, r };
    this.listeners.set(r.metadata.name, entry);
    try {
      await l.start();
    } catch (e) {
      // A port conflict on one listener must not take the site down: report it and keep serving the rest.
      entry.error = errorMessage(e);
      if (isCaravanError(e)) entry.errorCode = e.code;
      this.log.error('listener not started', { listener: r.metadata.name, reason: entry.error });
    }
  }

  private async stopListener(name: string): Promise<void> {
    const e = this.listeners.get(name);
    if (!e) return;
    this.listeners.delete(name);
    await e.l.stop();
  }

  /** Starts dialing a link; a link whose certificate files cannot be read is reported, the others go on. */
  async startLink(link: LinkResource): Promise<void> {
    let material: TlsMaterial;
    try {
      material = await readTlsFiles(link.spec.tls);
    } catch (e) {
      this.linkErrors.set(link.metadata.name, errorMessage(e));
      this.log.error('link not started: its certificate files are unreadable', {
        link: link.metadata.name,
        reason: errorMessage(e),
      });
      return;
    }
    this.linkErrors.delete(link.metadata.name);
    const grant = await readJson<LinkGrantInfo>(LinkRenewer.grantFileOf(link.spec.tls)).catch(
      () => undefined,
    );
    const dialer = new LinkDialer({
      ...(typeof grant?.peerRouterId === 'string' ? { expectedPeer: grant.peerRouterId } : {}),
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
      ...(this.opts.clock !== undefined ? { clock: this.opts.clock } : {}),
    });
    this.dialers.set(link.metadata.name, {
      d: dialer,
      r: link,
      tlsHash: hashTls(material),
    });
    dialer.start();
    await this.access.startRenewer(link);
  }

  private stopLink(name: string): void {
    this.linkErrors.delete(name);
    const e = this.dialers.get(name);
    if (!e) return;
    this.dialers.delete(name);
    this.access.stopRenewer(name);
    e.d.destroy();
  }

  // ------------------------------------------------------------------ reconcile

  /** Watch resources/ and reconcile on every change (debounced). */
  watchResources(): void {
    if (this.source.watch) {
      this.unwatch = this.source.watch(() => this.scheduleReload());
      return;
    }
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
    this.reloadTimer?.cancel();
    this.reloadTimer = this.clock.setTimeout(() => void this.reload(), 150);
  }

  /** Starts the services and links of the configuration the site was started with. */
  async startAll(rejected: RejectedResource[]): Promise<void> {
    this.setRejected(rejected);
    await loadAdapters([...this.config.connectors, ...this.config.listeners].map((r) => r.spec.type));
    for (const c of this.config.connectors) this.startConnector(c);
    for (const l of this.config.listeners) await this.startListener(l);
    for (const link of this.config.links) await this.startLink(link);
  }

  private setRejected(rejected: RejectedResource[]): void {
    this.rejected = rejected;
    for (const r of rejected)
      this.log.error('resource not applied: its spec is invalid; the rest of the site runs', {
        resource: `${r.kind}/${r.name}`,
        reason: r.issues.map(formatIssue).join('; '),
      });
  }

  /**
   * Re-read the configuration (the site directory, or another source) and bring the running router in line: the typed changes of each kind
   * (resource-diff.ts) are applied in place where the running resource can take them, else by stopping and
   * starting it. A resource whose new spec is invalid keeps running with its previous spec (its Configured
   * condition says why); problems of the site as a whole (the Site resource, YAML syntax, duplicates) leave
   * everything as it is.
   */
  reload(): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      let loaded: LoadedSite;
      try {
        loaded = await this.source.load();
      } catch (e) {
        this.log.error(
          'resources not applied: the site directory is invalid; the router keeps its configuration',
          {
            reason: errorMessage(e),
          },
        );
        return { applied: false, error: errorMessage(e), changes: [] };
      }
      const next = loaded.config;
      const isRejected = (kind: Kind, name: string): boolean =>
        loaded.rejected.some((r) => r.kind === kind && r.name === name);
      /** the desired set, plus the running resources whose new spec was rejected (they keep their old spec) */
      const desired = <R extends { kind: Kind; metadata: { name: string } }>(
        want: R[],
        running: R[],
      ): R[] => [
        ...want,
        ...running.filter(
          (r) =>
            isRejected(r.kind, r.metadata.name) && !want.some((w) => w.metadata.name === r.metadata.name),
        ),
      ];
      next.connectors = desired(next.connectors, this.runningConnectors());
      next.listeners = desired(next.listeners, this.runningListeners());
      next.links = desired(next.links, this.runningLinks());
      const changes: string[] = [];
      const siteDiff = diffSite(this.config.site.spec, next.site.spec);
      await loadAdapters([...next.connectors, ...next.listeners].map((r) => r.spec.type));
      this.applyConnectors(
        diffResources(this.runningConnectors(), next.connectors, connectorInPlace),
        changes,
      );
      await this.applyListeners(
        diffResources(this.runningListeners(), next.listeners, listenerInPlace),
        changes,
      );
      await this.applyLinks(diffResources(this.runningLinks(), next.links, linkInPlace), changes);
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
      this.setRejected(loaded.rejected);
      await this.hooks.applySite(siteDiff, changes);
      this.hooks.publishInfo();
      if (changes.length) this.log.info('resources applied', { changes });
      return { applied: true, changes };
    };
    const p = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = p;
    return p;
  }

  private runningConnectors(): ConnectorResource[] {
    return [...this.connectors.values()].map((e) => e.r);
  }
  private runningListeners(): ListenerResource[] {
    return [...this.listeners.values()].map((e) => e.r);
  }
  private runningLinks(): LinkResource[] {
    return [...this.dialers.values()].map((e) => e.r);
  }

  private applyConnectors(list: ResourceChange<ConnectorResource>[], changes: string[]): void {
    for (const c of list) {
      const e = this.connectors.get(c.name);
      if (c.op === 'updated' && c.fields.length === 0 && e) {
        // metadata only (e.g. a new generation of the same spec): the connector goes on as it is
        e.r = c.resource;
        changes.push(describeChange(c));
        continue;
      }
      if (c.op === 'updated' && c.inPlace && e && updateConnector(e.c, c.resource)) {
        // new targets for new flows; established flows go on
        e.r = c.resource;
        changes.push(describeChange(c));
        continue;
      }
      if (c.op !== 'added') this.stopConnector(c.name);
      if (c.op !== 'removed') this.startConnector(c.resource);
      changes.push(describeChange({ ...c, ...(c.op === 'updated' ? { inPlace: false } : {}) }));
    }
  }

  private async applyListeners(list: ResourceChange<ListenerResource>[], changes: string[]): Promise<void> {
    for (const c of list) {
      const e = this.listeners.get(c.name);
      if (
        c.op === 'updated' &&
        e &&
        (c.fields.length === 0 || (c.inPlace && e.error === undefined && updateListener(e.l, c.resource)))
      ) {
        e.r = c.resource;
        changes.push(describeChange(c));
        continue;
      }
      if (c.op !== 'added') await this.stopListener(c.name);
      if (c.op !== 'removed') await this.startListener(c.resource);
      changes.push(describeChange({ ...c, ...(c.op === 'updated' ? { inPlace: false } : {}) }));
    }
  }

  private async applyLinks(list: ResourceChange<LinkResource>[], changes: string[]): Promise<void> {
    for (const c of list) {
      const e = this.dialers.get(c.name);
      if (c.op === 'updated' && c.inPlace && e) {
        const from = e.r.spec.cost;
        e.r = c.resource;
        if (from !== c.resource.spec.cost) {
          // the new cost applies to the running link (and the peer takes it over): the link and its flows stay up
          e.d.setCost(c.resource.spec.cost);
          this.router.setLinkCost(c.name, c.resource.spec.cost);
          changes.push(`Link/${c.name}: cost ${from} -> ${c.resource.spec.cost}`);
        } else changes.push(describeChange(c));
        continue;
      }
      if (c.op !== 'added') this.stopLink(c.name);
      if (c.op !== 'removed') await this.startLink(c.resource);
      changes.push(describeChange({ ...c, ...(c.op === 'updated' ? { inPlace: false } : {}) }));
    }
  }

  /** Stops watching resources/ and waits for a reload in progress. */
  async stopWatching(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.unwatch?.();
    this.reloadTimer?.cancel();
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
