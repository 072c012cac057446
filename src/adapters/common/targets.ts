import net from 'node:net';
import type { Clock, Timer } from '../../clock.js';
import type { Logger } from '../../observe/log.js';
import type { AdapterHost } from '../../router/contract.js';

/**
 * The targets of a connector (one or several host:port): flows go to the healthy target with the fewest active
 * flows; a target that refused or could not be reached is skipped until a probe connection succeeds again.
 */
export interface Target {
  host: string;
  port: number;
  active: number;
  failed: boolean;
}

export interface TargetPoolOptions {
  /** the router's clock: probe intervals and the default probe's connect timeout run on it */
  clock: Clock;
  probeIntervalMs: number;
  connectTimeoutMs: number;
  /** called when the pool as a whole becomes healthy or unhealthy (some target up ↔ none up) */
  onHealthChange: (healthy: boolean) => void;
  /** called when one target changes state */
  onTargetChange?: (t: Target) => void;
  /** whether a failed target answers again (default: a TCP connection within connectTimeoutMs) */
  probe?: (t: Target, timeoutMs: number) => Promise<boolean>;
}

/** The default probe: the target accepts a TCP connection within `timeoutMs` (on `clock`). */
export function tcpProbe(
  t: { host: string; port: number },
  timeoutMs: number,
  clock: Clock,
): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: t.host, port: t.port });
    const timer = clock.setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      timer.cancel();
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      timer.cancel();
      resolve(false);
    });
  });
}

/**
 * The usual `onHealthChange` of a connector: log the change and have the router re-advertise (withdraw the
 * connector while no target answers).
 */
export function withdrawWhileDown(
  log: Logger,
  host: Pick<AdapterHost, 'refreshAddresses'>,
  target: () => string,
  stopped: () => boolean,
): (healthy: boolean) => void {
  return (healthy) => {
    if (stopped()) return;
    if (healthy) log.info('target answers again: connector advertised', { target: target() });
    else log.warn('target down: connector withdrawn until it answers again', { target: target() });
    host.refreshAddresses();
  };
}

export function targetName(t: { host: string; port: number }): string {
  return net.isIPv6(t.host) ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

export class TargetPool {
  readonly targets: Target[];
  private readonly timers = new Set<Timer>();
  private stopped = false;

  constructor(
    targets: ReadonlyArray<{ host: string; port: number }>,
    private readonly opts: TargetPoolOptions,
  ) {
    if (targets.length === 0) throw new Error('a connector needs at least one target');
    this.targets = targets.map((t) => ({ host: t.host, port: t.port, active: 0, failed: false }));
  }

  get healthy(): boolean {
    return this.targets.some((t) => !t.failed);
  }

  get description(): string {
    return this.targets.map(targetName).join(',');
  }

  /** The healthy target with the fewest active flows (ties: the first listed), not in `tried`. */
  pick(tried: ReadonlySet<Target> = new Set()): Target | undefined {
    let best: Target | undefined;
    for (const t of this.targets) {
      if (t.failed || tried.has(t)) continue;
      if (!best || t.active < best.active) best = t;
    }
    return best;
  }

  /**
   * Takes a new list of targets while running: a target already in the pool (same host and port) keeps its
   * counts and state, new ones start healthy, removed ones get no new flows (flows already on them go on).
   */
  setTargets(targets: ReadonlyArray<{ host: string; port: number }>): void {
    if (targets.length === 0) throw new Error('a connector needs at least one target');
    const wasHealthy = this.healthy;
    const byName = new Map(this.targets.map((t) => [targetName(t), t]));
    const next = targets.map(
      (t) => byName.get(targetName(t)) ?? { host: t.host, port: t.port, active: 0, failed: false },
    );
    this.targets.splice(0, this.targets.length, ...next);
    // a removed target that was failed is probed no more (probe() checks membership)
    if (wasHealthy !== this.healthy && !this.stopped) this.opts.onHealthChange(this.healthy);
  }

  markFailed(t: Target): void {
    if (t.failed || this.stopped) return;
    const wasHealthy = this.healthy;
    t.failed = true;
    this.opts.onTargetChange?.(t);
    if (wasHealthy && !this.healthy) this.opts.onHealthChange(false);
    this.scheduleProbe(t);
  }

  private scheduleProbe(t: Target): void {
    if (this.stopped) return;
    const timer = this.opts.clock
      .setTimeout(() => {
        this.timers.delete(timer);
        this.probe(t);
      }, this.opts.probeIntervalMs)
      .unref();
    this.timers.add(timer);
  }

  private probe(t: Target): void {
    const probe = this.opts.probe ?? ((target, ms) => tcpProbe(target, ms, this.opts.clock));
    void probe(t, this.opts.connectTimeoutMs).then((up) => {
      if (this.stopped || !t.failed || !this.targets.includes(t)) return;
      if (!up) {
        this.scheduleProbe(t);
        return;
      }
      const wasHealthy = this.healthy;
      t.failed = false;
      this.opts.onTargetChange?.(t);
      if (!wasHealthy) this.opts.onHealthChange(true);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}

/** Socket errors that say a target is down or unreachable (not a refusal of one request): the target is marked failed. */
const TARGET_DOWN_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function isTargetDownError(code: string | undefined): boolean {
  return code !== undefined && TARGET_DOWN_ERRORS.has(code);
}
