/**
 * Link access of an interior site and the credentials of its links: the link acceptor, the grant server (token
 * redemption, certificate renewal), the revocation list that refuses revoked peers, and the renewers that renew
 * the client certificates of this site's own links before they expire.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import type { LinkResource } from '../api/index.js';
import type { RevokeResult } from '../admin/types.js';
import type { Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import { LinkAcceptor } from '../links/acceptor.js';
import type { MuxSession } from '../links/mux/session.js';
import { readTlsFiles } from '../links/tls.js';
// Import the router-side grant modules directly (not the index): the token/redeem side would load the X.509
// library at start-up, which costs ~22 MB of heap a router only needs when it signs or renews a certificate.
import { LinkRenewer } from '../site/grants/renew.js';
import { revokeLink } from '../site/grants/revoke.js';
import { GrantServer } from '../site/grants/server.js';
import { ServerCertRenewal } from '../site/server-cert-renewal.js';
import { ensureServerCertificate } from '../site/server-identity.js';
import { RevocationSet, fileExists, sitePaths } from '../site/grants/state.js';
import { RuntimePart, type RuntimeContext } from './context.js';

export class LinkAccess extends RuntimePart {
  acceptor: LinkAcceptor | undefined;
  grants: GrantServer | undefined;
  private revocations = new RevocationSet([], []);
  private readonly renewers = new Map<string, LinkRenewer>();
  private grantsWatcher: FSWatcher | undefined;
  private revocationTimer: Timer | undefined;
  private serverRenewal: ServerCertRenewal | undefined;

  constructor(
    rt: RuntimeContext,
    /** a link's certificate was renewed (its files are rewritten) */
    private readonly onRenewed: (link: string) => Promise<void>,
  ) {
    super(rt);
  }

  /**
   * Link access of an interior site: revocations, the grant server (token redemption) and the link acceptor.
   * Nothing when the Site has no linkAccess.
   */
  async startLinkAccess(): Promise<void> {
    if (!this.config.site.spec.linkAccess) return;
    try {
      if (await ensureServerCertificate(this.config.dir, this.router.id, this.config.site.metadata.name)) {
        this.log.info('server certificate reissued to name the router id', { routerId: this.router.id });
      }
    } catch (e) {
      this.log.error('server certificate could not be reissued for the router id; links to this site fail', {
        reason: errorMessage(e),
      });
    }
    await this.loadRevocations();
    await this.startGrantServer();
    await this.startAcceptor();
    await this.startServerRenewal();
  }

  /** Renews the site's server certificate before it expires and loads it into the acceptor and grant server. */
  private async startServerRenewal(): Promise<void> {
    this.serverRenewal?.stop();
    const renewal = new ServerCertRenewal({
      dir: this.config.dir,
      clock: this.clock,
      logger: this.opts.logger,
      onRenewed: () => this.reloadServerTls(),
    });
    this.serverRenewal = renewal;
    await renewal.start();
  }

  private async reloadServerTls(): Promise<void> {
    const tlsFiles = this.config.site.spec.tls;
    if (!tlsFiles) return;
    try {
      if (this.acceptor) this.acceptor.setTls(await readTlsFiles(tlsFiles));
      await this.grants?.reloadTls();
    } catch (e) {
      this.log.error('renewed server certificate could not be loaded; the old one is served until restart', {
        reason: errorMessage(e),
      });
    }
  }

  async startAcceptor(): Promise<void> {
    const { site } = this.config;
    if (!site.spec.linkAccess || !site.spec.tls) return;
    const acceptor = new LinkAcceptor({
      host: site.spec.linkAccess.host,
      port: site.spec.linkAccess.port,
      tls: await readTlsFiles(site.spec.tls),
      onSession: (session: MuxSession, info) => this.router.addLink(session, info),
      logger: this.opts.logger,
      mux: this.muxOptions(),
      refuse: (cert) => this.revocations.refusal(cert.serialNumber ?? ''),
      guard: this.rt.guards.link,
    });
    await acceptor.start();
    this.acceptor = acceptor;
    this.watchRevocations();
  }

  /** Stops the link acceptor; links accepted by it are cut (their peers redial). */
  async stopAcceptor(): Promise<void> {
    const acceptor = this.acceptor;
    this.acceptor = undefined;
    await acceptor?.stop();
    this.grantsWatcher?.close();
    this.grantsWatcher = undefined;
    this.revocationTimer?.cancel();
  }

  /** The grant server (token redemption, certificate renewal); a failure to start it does not stop the site. */
  async startGrantServer(): Promise<void> {
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
      routerId: this.router.id,
      host: la.host,
      port: la.grantPort,
      linkAccess: la,
      linkPort: () => this.acceptor?.port,
      tls: site.spec.tls,
      logger: this.opts.logger,
      ...(Number.isFinite(lifetime) && lifetime > 0 ? { defaultLifetimeMs: lifetime } : {}),
      onChange: () => void this.loadRevocations(),
      guard: this.rt.guards.grant,
      ...(this.opts.grantsFromConfig
        ? {
            findGrant: (name: string) => {
              const grant = this.config.grants.find((g) => g.metadata.name === name);
              return Promise.resolve(grant ? { grant } : undefined);
            },
          }
        : {}),
    });
    try {
      await grants.start();
      this.grants = grants;
    } catch (e) {
      this.log.error('grant server not started; tokens cannot be redeemed', { reason: errorMessage(e) });
    }
  }

  async loadRevocations(): Promise<void> {
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
        this.revocationTimer?.cancel();
        this.revocationTimer = this.clock.setTimeout(() => void this.applyRevocations(), 100);
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

  async startRenewer(link: LinkResource): Promise<void> {
    const name = link.metadata.name;
    const renewer = await LinkRenewer.create({
      link: name,
      tls: link.spec.tls,
      ...(link.spec.proxy !== undefined ? { proxy: link.spec.proxy } : {}),
      logger: this.opts.logger,
      identity: this.rt.identity,
      onRenewed: () => this.onRenewed(name),
    });
    if (!renewer) return;
    this.renewers.set(name, renewer);
    renewer.start();
  }

  stopRenewer(name: string): void {
    this.renewers.get(name)?.stop();
    this.renewers.delete(name);
  }

  /** Stops the grant server (a Site change restarts it). */
  async stopGrantServer(): Promise<void> {
    const grants = this.grants;
    this.grants = undefined;
    await grants?.stop();
  }

  async stop(): Promise<void> {
    this.serverRenewal?.stop();
    await this.acceptor?.stop();
    this.grantsWatcher?.close();
    this.revocationTimer?.cancel();
    for (const r of this.renewers.values()) r.stop();
    await this.grants?.stop();
  }
}
