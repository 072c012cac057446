/**
 * Watches how many file descriptors the process has open against its limit, so that the public ports stop
 * admitting connections *before* the process runs out: past the high-water mark (limit minus a reserve of
 * max(16, 5 %)) the accept guards close new connections at accept, until the count is back under the low-water
 * mark (limit minus twice the reserve). The reserve keeps descriptors for what is already running: established
 * links and flows, dials, log and resource files.
 *
 * libuv already survives EMFILE on accept by itself (it keeps a spare descriptor, and when accept fails it
 * accepts and closes the waiting connections), so a server rarely sees the error; what fails instead is whatever
 * else opens a descriptor next. Sampling the count is what lets the router notice and say so.
 *
 * A sample reads /proc/self/fd (Linux); it runs every `intervalMs` and, at most every `minGapMs`, when a guard
 * asks. A failing sample (EMFILE itself) counts as exhausted. Without /proc the watch never reports exhaustion.
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import { openFdCount, readFdLimits } from '../observe/fd-limits.js';
import type { Logger } from '../observe/log.js';

export interface FdSample {
  open: number;
  max: number;
}

export interface FdWatchOptions {
  logger: Logger;
  clock?: Clock;
  /** default: /proc/self/fd and the soft limit from /proc/self/limits (read once) */
  probe?: () => FdSample | undefined;
  intervalMs?: number;
  minGapMs?: number;
}

function defaultProbe(): () => FdSample | undefined {
  const limits = readFdLimits();
  if (!limits || !Number.isFinite(limits.soft)) return () => undefined;
  const max = limits.soft;
  return () => {
    const open = openFdCount();
    return { open: open ?? max, max };
  };
}

export class FdWatch {
  private readonly clock: Clock;
  private readonly probe: () => FdSample | undefined;
  private readonly intervalMs: number;
  private readonly minGapMs: number;
  private readonly log: Logger;
  private timer: Timer | undefined;
  private lastSampleAt = -Infinity;
  private state: 'ok' | 'exhausted' = 'ok';
  private last: FdSample | undefined;
  /** connections the guards closed while exhausted (for the line that ends the episode) */
  closedWhileExhausted = 0;
  /** times the count crossed the high-water mark since start */
  episodes = 0;

  constructor(opts: FdWatchOptions) {
    this.clock = opts.clock ?? systemClock;
    this.probe = opts.probe ?? defaultProbe();
    this.intervalMs = opts.intervalMs ?? 1000;
    this.minGapMs = opts.minGapMs ?? 250;
    this.log = opts.logger.child({ subsystem: 'fd-watch' });
  }

  start(): void {
    this.timer ??= this.clock.setInterval(() => this.sample(), this.intervalMs).unref();
    this.sample();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The latest sample. */
  get lastSample(): FdSample | undefined {
    return this.last;
  }

  /** True while new connections should be closed at accept; samples when the last sample is stale. */
  get exhausted(): boolean {
    if (this.clock.monotonic() - this.lastSampleAt >= this.minGapMs) this.sample();
    return this.state === 'exhausted';
  }

  /** The state of the last sample (no new sample). */
  get exhaustedAtLastSample(): boolean {
    return this.state === 'exhausted';
  }

  /** The reserve kept free: max(16, 5 % of the limit). */
  static reserve(max: number): number {
    return Math.max(16, Math.floor(max * 0.05));
  }

  private sample(): void {
    this.lastSampleAt = this.clock.monotonic();
    let s: FdSample | undefined;
    try {
      s = this.probe();
    } catch {
      s = this.last ? { open: this.last.max, max: this.last.max } : undefined;
    }
    if (!s) return;
    this.last = s;
    const reserve = FdWatch.reserve(s.max);
    if (this.state === 'ok' && s.open >= s.max - reserve) {
      this.state = 'exhausted';
      this.closedWhileExhausted = 0;
      this.episodes++;
      this.log.error('out of file descriptors: public ports close new connections at accept', {
        open: s.open,
        limit: s.max,
        resumeBelow: s.max - 2 * reserve,
      });
    } else if (this.state === 'exhausted' && s.open < s.max - 2 * reserve) {
      this.state = 'ok';
      this.log.info('file descriptors available again: accepting connections again', {
        open: s.open,
        limit: s.max,
        closedWhileExhausted: this.closedWhileExhausted,
      });
    }
  }
}
