/**
 * Gives memory back after a burst. Under connection churn V8 promotes short-lived per-connection objects to the old
 * generation and lets it grow (RSS +25–30 MB for 10,000 connections); it only shrinks it again once its own memory
 * reducer runs, 10–20 s after the router went quiet. This compactor watches the router's CPU time and resident
 * memory: once the process has been quiet for `quietMs` and its RSS grew by at least `minGrowthBytes` since start-up
 * or the last compaction, it runs one full garbage collection, which returns the pages at once
 * (docs/design/performance.md, "Memory after a burst").
 *
 * It needs `gc` exposed (`--expose-gc`, part of ROUTER_NODE_FLAGS); without it the compactor does nothing. It never
 * runs while the router is busy, so it cannot pause traffic that is flowing.
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import type { Logger } from '../observe/log.js';

export interface IdleCompactorProbes {
  /** process CPU time used so far, in microseconds */
  cpuMicros(): number;
  /** resident set size of the process, bytes */
  residentBytes(): number;
  /** a full, synchronous garbage collection; undefined when not available */
  gc: (() => void) | undefined;
  now(): number;
}

export interface IdleCompactorOptions {
  logger: Logger;
  /** how often to look; default 500 ms */
  intervalMs?: number;
  /** quiet = less CPU than this fraction of one core between two looks; default 0.05 */
  quietCpuFraction?: number;
  /** collect after this long quiet; default 1000 ms */
  quietMs?: number;
  /** only when RSS grew at least this much since start-up or the last collection; default 6 MiB */
  minGrowthBytes?: number;
  probes?: IdleCompactorProbes;
  /** the timer of the looks, and `now` of the default probes (monotonic); default systemClock */
  clock?: Clock;
}

export interface CompactionRecord {
  rssBefore: number;
  rssAfter: number;
  ms: number;
}

function defaultProbes(clock: Clock): IdleCompactorProbes {
  const g = (globalThis as { gc?: () => void }).gc;
  return {
    cpuMicros: () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    // reading the RSS opens /proc/self/stat: out of file descriptors (EMFILE) it throws; NaN skips that look
    residentBytes: () => {
      try {
        return process.memoryUsage.rss();
      } catch {
        return NaN;
      }
    },
    gc: typeof g === 'function' ? () => g() : undefined,
    now: () => clock.monotonic(),
  };
}

export class IdleCompactor {
  readonly compactions: CompactionRecord[] = [];
  private readonly probes: IdleCompactorProbes;
  private readonly intervalMs: number;
  private readonly quietCpuFraction: number;
  private readonly quietMs: number;
  private readonly minGrowthBytes: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private lastCpu: number;
  private lastAt: number;
  private quietSince: number | undefined;
  private baseline: number;
  /** collections in the current quiet period (at most 2: V8 returns pages after sweeping, which may finish later) */
  private collectionsThisQuiet = 0;

  constructor(opts: IdleCompactorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.probes = opts.probes ?? defaultProbes(this.clock);
    this.intervalMs = opts.intervalMs ?? 500;
    this.quietCpuFraction = opts.quietCpuFraction ?? 0.05;
    this.quietMs = opts.quietMs ?? 1000;
    this.minGrowthBytes = opts.minGrowthBytes ?? 6 * 1024 * 1024;
    this.log = opts.logger.child({ subsystem: 'memory' });
    this.lastCpu = this.probes.cpuMicros();
    this.lastAt = this.probes.now();
    this.baseline = this.probes.residentBytes();
  }

  /** true when a collection can be run (gc is exposed) */
  get available(): boolean {
    return this.probes.gc !== undefined;
  }

  start(): void {
    if (this.timer || !this.available) {
      if (!this.available) this.log.debug('idle compaction off: gc is not exposed (--expose-gc)');
      return;
    }
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** One look (public for tests). Returns true if it collected. */
  tick(): boolean {
    const now = this.probes.now();
    const cpu = this.probes.cpuMicros();
    const elapsedMs = Math.max(1, now - this.lastAt);
    const busy = (cpu - this.lastCpu) / 1000 / elapsedMs;
    this.lastCpu = cpu;
    this.lastAt = now;
    if (busy >= this.quietCpuFraction) {
      this.quietSince = undefined;
      this.collectionsThisQuiet = 0;
      return false;
    }
    this.quietSince ??= now;
    if (now - this.quietSince < this.quietMs) return false;
    const rss = this.probes.residentBytes();
    if (!Number.isFinite(rss)) return false;
    // Memory may also have come back on its own (V8's memory reducer): follow it down.
    if (rss < this.baseline || !Number.isFinite(this.baseline)) this.baseline = rss;
    if (rss - this.baseline < this.minGrowthBytes || this.collectionsThisQuiet >= 2) return false;
    const gc = this.probes.gc;
    if (gc === undefined) return false;
    const t0 = this.probes.now();
    gc();
    const ms = this.probes.now() - t0;
    const measured = this.probes.residentBytes();
    const after = Number.isFinite(measured) ? measured : rss;
    this.collectionsThisQuiet++;
    // Growth that two collections could not give back (e.g. malloc high water) becomes the new baseline, so an idle
    // router does not collect again and again.
    if (this.collectionsThisQuiet >= 2) this.baseline = after;
    // the collection's own CPU must not count as activity at the next look
    this.lastCpu = this.probes.cpuMicros();
    this.lastAt = this.probes.now();
    const rec = { rssBefore: rss, rssAfter: after, ms };
    this.compactions.push(rec);
    if (this.compactions.length > 16) this.compactions.shift();
    this.log.debug('heap compacted after a burst', {
      rssBeforeMiB: Math.round(rss / 1048576),
      rssAfterMiB: Math.round(after / 1048576),
      ms: Math.round(ms * 10) / 10,
    });
    return true;
  }
}
