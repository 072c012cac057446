/**
 * The network as a Kubernetes-mode router sees it, written into its Site's `status.network` so that
 * `caravan network status --kube` can show it from outside the pod (the admin socket is only inside). The
 * summary is the per-site view `network status` shows on a host (`networkView` of the router's status snapshot),
 * bounded in size (NETWORK_STATUS_LIMITS), and written through the status subresource only when it changes, at
 * most once every `minIntervalMs`, on the injected clock:
 *
 *   idle ──changed──▶ pending (timer until lastWrite + minIntervalMs) ──▶ writing ──▶ idle
 *                       │ back to what is written ──▶ idle (timer cancelled)
 *
 * A failed write is logged and retried at the next change or poll, never sooner than minIntervalMs.
 */
import type { NetworkSite } from '../../admin/network-view.js';
import { NETWORK_STATUS_LIMITS } from '../../api/schema/site.js';
import type { Clock, Timer } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { StateMachine, type TransitionTable } from '../../state-machine.js';
import type { KubeApi } from '../api.js';
import { stableJson } from '../reconcile/diff.js';
import { kindRef } from './refs.js';

export interface SiteNetworkStatus {
  updatedAt: string;
  sites: NetworkSite[];
  /** sites left out by the bound */
  omittedSites?: number;
}

type Limits = { sites: number; links: number; services: number; text: number };

const cut = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s);

/** The view, bounded: this site first, then the others by name; long lists and names cut. Pure. */
export function boundedNetwork(
  sites: readonly NetworkSite[],
  limits: Limits = NETWORK_STATUS_LIMITS,
): { sites: NetworkSite[]; omittedSites?: number } {
  const t = (s: string): string => cut(s, limits.text);
  const ordered = [...sites].sort(
    (a, b) =>
      Number(b.self) - Number(a.self) || a.site.localeCompare(b.site) || a.router.localeCompare(b.router),
  );
  const kept = ordered.slice(0, limits.sites).map((s) => ({
    site: t(s.site),
    router: t(s.router),
    mode: s.mode,
    reachable: s.reachable,
    self: s.self,
    ...(s.platform !== undefined ? { platform: t(s.platform) } : {}),
    ...(s.listeners !== undefined ? { listeners: s.listeners } : {}),
    links: s.links
      .slice(0, limits.links)
      .map((l) => ({ site: t(l.site), router: t(l.router), cost: l.cost })),
    services: s.services.slice(0, limits.services).map((x) => ({ key: t(x.key), connectors: x.connectors })),
  }));
  const omitted = ordered.length - kept.length;
  return { sites: kept, ...(omitted > 0 ? { omittedSites: omitted } : {}) };
}

export interface NetworkStatusOptions {
  api: KubeApi;
  namespace: string;
  clock: Clock;
  logger: Logger;
  /** the Site's name and the router's view now, or undefined while no router runs */
  read: () => { site: string; sites: readonly NetworkSite[] } | undefined;
  /** at most one write per this many ms (default 5000) */
  minIntervalMs?: number;
  /** how often the view is read (default 1000 ms) */
  pollMs?: number;
  limits?: Limits;
}

export type NetworkStatusState = 'idle' | 'pending' | 'writing' | 'stopped';

const MOVES: TransitionTable<NetworkStatusState> = {
  idle: ['pending', 'stopped'],
  pending: ['idle', 'writing', 'stopped'],
  writing: ['idle', 'stopped'],
  stopped: [],
};

export class NetworkStatusWriter {
  private readonly sm: StateMachine<NetworkStatusState>;
  private poll: Timer | undefined;
  private timer: Timer | undefined;
  /** what was last written: site name and summary (without its time) */
  private written = '';
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | undefined;
  /** writes done (for tests and metrics) */
  writes = 0;

  constructor(private readonly opts: NetworkStatusOptions) {
    this.sm = new StateMachine('network-status', opts.namespace, MOVES, 'idle', opts.logger);
  }

  get state(): NetworkStatusState {
    return this.sm.state;
  }

  start(): this {
    this.poll = this.opts.clock.setInterval(() => this.check(), this.opts.pollMs ?? 1000);
    return this;
  }

  private wanted(): { site: string; key: string; body: Omit<SiteNetworkStatus, 'updatedAt'> } | undefined {
    const v = this.opts.read();
    if (!v) return undefined;
    const body = boundedNetwork(v.sites, this.opts.limits);
    return { site: v.site, key: stableJson({ site: v.site, ...body }), body };
  }

  /** Reads the view; schedules a write when it differs from what is written. */
  check(): void {
    if (this.sm.state === 'stopped' || this.sm.state === 'writing') return;
    const w = this.wanted();
    if (!w || w.key === this.written) {
      if (this.sm.state === 'pending') {
        this.timer?.cancel();
        this.timer = undefined;
        this.sm.transition('idle', 'back to what is written');
      }
      return;
    }
    if (this.sm.state === 'pending') return;
    this.sm.transition('pending', 'changed');
    const min = this.opts.minIntervalMs ?? 5000;
    const delay = Math.max(0, this.lastWriteAt + min - this.opts.clock.monotonic());
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.write();
    }, delay);
  }

  private async write(): Promise<void> {
    if (this.sm.state !== 'pending') return;
    const w = this.wanted();
    if (!w || w.key === this.written) {
      this.sm.transition('idle', 'back to what is written');
      return;
    }
    this.sm.transition('writing');
    this.lastWriteAt = this.opts.clock.monotonic();
    const network: SiteNetworkStatus = {
      updatedAt: new Date(this.opts.clock.now()).toISOString(),
      ...w.body,
    };
    try {
      // a merge patch of the status subresource: the router's conditions and other fields stay as they are
      // (null removes a bound's note that no longer applies)
      const patch = { status: { network: { ...network, omittedSites: network.omittedSites ?? null } } };
      await this.opts.api.patch(kindRef('Site'), this.opts.namespace, w.site, patch, {
        type: 'merge',
        status: true,
      });
      this.written = w.key;
      this.writes++;
    } catch (e) {
      this.opts.logger.warn('network summary not written to the Site status; retried', {
        site: w.site,
        error: errorMessage(e),
      });
    }
    // still writing, unless stop() came meanwhile (check() leaves a machine that is writing alone)
    if (this.sm.can('idle')) this.sm.transition('idle');
  }

  /** Forgets what was written (a new router, or a Site made again): the next check writes the summary. */
  reset(): void {
    this.written = '';
  }

  async stop(): Promise<void> {
    if (this.sm.state !== 'stopped') this.sm.transition('stopped');
    this.poll?.cancel();
    this.timer?.cancel();
    await this.inFlight;
  }
}
