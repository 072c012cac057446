/**
 * Kubernetes mode of `caravan-router` (`--kube`): the controller (src/kube/controller) watches the namespace and
 * runs the reconcile core; this file is the sink it feeds. The router starts once the core gives a configuration
 * (the namespace has a valid Site and its Secrets exist) and reloads when the configuration or a Secret file
 * changes; it stops when the namespace has no Site, and keeps its configuration while the Site cannot run; the router's status becomes the facts of the next reconcile (Ready, Matched). Before the router runs,
 * the controller still writes statuses. One reconcile core, two sources: the runtime runs the core's SiteConfig
 * through a ConfigSource, as it runs a site directory. The router's view of the network goes into the Site's
 * `status.network` (NetworkStatusWriter), for `caravan network status --kube` outside the pod.
 */
import { mkdir } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import type { KubeApi } from '../kube/api.js';
import type { KubeConnection } from '../kube/config.js';
import { networkView } from '../admin/network-view.js';
import {
  KubeController,
  NetworkStatusWriter,
  registerControllerMetrics,
  routerFacts,
} from '../kube/controller/index.js';
import { SELECTOR } from '../kube/manifests.js';
import { stableJson } from '../kube/reconcile/diff.js';
import type { ReconcileResult, RouterFacts } from '../kube/reconcile/index.js';
import {
  generateSecretData,
  materializeSecretFiles,
  redeemAccessToken,
  SecretMirror,
} from '../kube/state/index.js';
import type { Logger } from '../observe/log.js';
import type { SiteConfig } from '../site/site-dir.js';
import type { ConfigSource, RuntimeOptions } from './context.js';
import { SiteRuntime } from './runtime.js';

export interface KubeSiteOptions {
  /** where the API server is (in-cluster or a kubeconfig) */
  connection: KubeConnection;
  /** default: the namespace the connection names (in-cluster: the pod's) */
  namespace?: string;
  /** the router's working folder (Secret keys as files, admin socket, logs) */
  stateDir: string;
  logger: Logger;
  runtime: Omit<RuntimeOptions, 'logger'>;
  clock?: Clock;
  /** how often the router's facts are compared (default 1 s) */
  factsPollMs?: number;
  /** the API client; default one made by connectKube (loads @kubernetes/client-node) */
  api?: KubeApi;
  /** at most one write of the Site's status.network per this many ms (default 5000) */
  networkStatusIntervalMs?: number;
}

export class KubeSite {
  readonly controller: KubeController;
  /** writes the router's view of the network into the Site's status.network */
  readonly network: NetworkStatusWriter;
  private rt: SiteRuntime | undefined;
  private latest: SiteConfig | undefined;
  private lastApplied = '';
  private readonly log: Logger;

  private constructor(
    private readonly opts: KubeSiteOptions,
    api: KubeApi,
    readonly namespace: string,
  ) {
    this.log = opts.logger.child({ namespace });
    this.controller = new KubeController({
      api,
      namespace,
      stateDir: opts.stateDir,
      routerPodLabels: SELECTOR,
      clock: opts.clock ?? systemClock,
      logger: opts.logger,
      sink: {
        apply: (r, changed) => this.apply(r, changed),
        facts: () => this.facts(),
      },
      ...(opts.factsPollMs !== undefined ? { factsPollMs: opts.factsPollMs } : {}),
      generate: generateSecretData,
      writeFiles: materializeSecretFiles,
      redeem: (o) => redeemAccessToken({ ...o, ...(opts.clock ? { clock: opts.clock } : {}) }),
      mirror: new SecretMirror({
        api,
        namespace,
        stateDir: opts.stateDir,
        logger: opts.logger,
        ...(opts.clock ? { clock: opts.clock } : {}),
      }),
    });
    this.network = new NetworkStatusWriter({
      api,
      namespace,
      clock: opts.clock ?? systemClock,
      logger: this.log,
      read: () => this.networkNow(),
      ...(opts.networkStatusIntervalMs !== undefined ? { minIntervalMs: opts.networkStatusIntervalMs } : {}),
    });
  }

  /** The Site's name and the running router's view of the network (undefined while no router runs). */
  private networkNow(): { site: string; sites: ReturnType<typeof networkView> } | undefined {
    const rt = this.rt;
    const name = this.latest?.site.metadata.name;
    if (!rt || name === undefined) return undefined;
    try {
      return { site: name, sites: networkView(rt.status()) };
    } catch (e) {
      this.log.warn('router status unreadable', { error: errorMessage(e) });
      return undefined;
    }
  }

  static async start(opts: KubeSiteOptions): Promise<KubeSite> {
    let api = opts.api;
    let named: string | undefined;
    if (!api) {
      // loading client-node costs most of a second: only Kubernetes mode pays it
      const { connectKube } = await import('../kube/client-node.js');
      const c = connectKube(opts.connection, { clock: opts.clock ?? systemClock, log: opts.logger });
      api = c.api;
      named = c.namespace;
    }
    const namespace = opts.namespace ?? named;
    if (!namespace)
      throw new CaravanError(
        ErrorCodes.KUBE_CONFIG,
        'no namespace: give --namespace, or a kubeconfig context that names one',
      );
    await mkdir(opts.stateDir, { recursive: true });
    const site = new KubeSite(opts, api, namespace);
    site.controller.start();
    site.network.start();
    return site;
  }

  /** The running router, once the namespace has a runnable site. */
  get runtime(): SiteRuntime | undefined {
    return this.rt;
  }

  private readonly source: ConfigSource = {
    load: () => {
      const c = this.latest;
      if (!c)
        return Promise.reject(new CaravanError(ErrorCodes.CONFIG_IO, 'the namespace has no runnable Site'));
      return Promise.resolve({ config: structuredClone(c), rejected: [] });
    },
    // changes come from the controller, which reloads the runtime itself
    watch: () => () => undefined,
  };

  private async apply(r: ReconcileResult, changedFiles: readonly string[]): Promise<void> {
    if (!r.config) {
      if (this.rt && !r.statuses.some((x) => x.kind === 'Site')) {
        this.log.warn('the namespace has no Site any more; stopping the router');
        const rt = this.rt;
        this.rt = undefined;
        this.lastApplied = '';
        await rt.stop();
      } else if (this.rt && this.latest) {
        // a Site that cannot run right now (a Secret being made, a bad edit): the router keeps what it runs
        this.log.debug('the Site cannot run as it is; the router keeps its configuration');
      }
      return;
    }
    this.latest = r.config;
    const text = stableJson(r.config);
    if (!this.rt) {
      await this.startRuntime(text);
      this.log.info('router started from the namespace', { router: this.rt!.router.id });
      return;
    }
    if (text === this.lastApplied && changedFiles.length === 0) return;
    this.lastApplied = text;
    const res = await this.rt.reload();
    if (!res.applied) throw new CaravanError(ErrorCodes.CONFIG_IO, `reload failed: ${res.error ?? ''}`);
    const fields = this.rt.pendingRestart;
    if (fields.length > 0) {
      // fields fixed for a router's lifetime (mode, timers, peer limits): what a pod restart would do, without
      // one — the router stops (its links and flows end, peers redial) and starts again with the same id and state
      this.log.warn('Site fields changed that need a restart; restarting the router in place', { fields });
      const old = this.rt;
      this.rt = undefined;
      await old.stop();
      await this.startRuntime(text);
      this.log.info('router restarted from the namespace', { router: this.rt!.router.id });
      return;
    }
    this.controller.schedule();
  }

  private async startRuntime(text: string): Promise<void> {
    this.rt = await SiteRuntime.startFrom(this.source, {
      ...this.opts.runtime,
      logger: this.opts.logger,
      grantsFromConfig: true,
    });
    this.lastApplied = text;
    registerControllerMetrics(this.rt.metrics, this.controller);
    this.network.reset();
    this.controller.schedule();
  }

  private facts(): RouterFacts | undefined {
    const rt = this.rt;
    if (!rt) return undefined;
    try {
      return routerFacts(rt.status(), this.latest?.site.spec.linkAccess !== undefined);
    } catch (e) {
      this.log.warn('router status unreadable', { error: errorMessage(e) });
      return undefined;
    }
  }

  /** Stops the controller (watches, timers), then the router. */
  async stop(): Promise<void> {
    await this.network.stop();
    await this.controller.stop();
    const rt = this.rt;
    this.rt = undefined;
    await rt?.stop();
  }
}
