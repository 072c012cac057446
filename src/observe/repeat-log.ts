/**
 * Logging of faults that a peer can repeat at will (malformed frames, refused streams, ...): the first occurrence
 * of each kind in an interval is logged as it happens, the rest are counted, and when the interval ends one
 * summary line gives the count. A flood of bad input then costs one line per kind per interval instead of one per
 * fault, so it can neither fill the disk nor rotate the useful history out of the log.
 */
import type { Clock, Timer } from '../clock.js';
import { systemClock } from '../clock.js';
import type { LogFields, Logger } from './log.js';

export interface RepeatLogOptions {
  /** length of one interval; default 10 s */
  intervalMs?: number;
  clock?: Clock;
  /** at most this many kinds are tracked at once; further kinds share one entry (default 64) */
  maxKinds?: number;
}

type Level = 'info' | 'warn';

interface Entry {
  level: Level;
  msg: string;
  fields: LogFields | undefined;
  suppressed: number;
}

const OTHER = '(other)';

export class RepeatLog {
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly maxKinds: number;
  private readonly entries = new Map<string, Entry>();
  private timer: Timer | undefined;

  constructor(
    private readonly log: Logger,
    opts: RepeatLogOptions = {},
  ) {
    this.intervalMs = Math.max(1, opts.intervalMs ?? 10_000);
    this.clock = opts.clock ?? systemClock;
    this.maxKinds = Math.max(1, opts.maxKinds ?? 64);
  }

  warn(kind: string, msg: string, fields?: LogFields): void {
    this.event('warn', kind, msg, fields);
  }

  info(kind: string, msg: string, fields?: LogFields): void {
    this.event('info', kind, msg, fields);
  }

  /** Occurrences counted but not yet reported, per kind. */
  get pending(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, e] of this.entries) if (e.suppressed > 0) out[k] = e.suppressed;
    return out;
  }

  /** Writes the summary lines now and starts a new interval. */
  flush(): void {
    for (const [kind, e] of this.entries) {
      if (e.suppressed === 0) {
        // quiet for a whole interval: the next occurrence is logged at once again
        this.entries.delete(kind);
        continue;
      }
      this.log[e.level](`${e.msg} (repeated)`, {
        ...e.fields,
        repeated: e.suppressed,
        intervalS: this.intervalMs / 1000,
      });
      e.suppressed = 0;
    }
    if (this.entries.size === 0) this.stopTimer();
  }

  /** Reports what is pending and stops the timer (the owner is closing). */
  close(): void {
    this.flush();
    this.entries.clear();
    this.stopTimer();
  }

  private event(level: Level, kind: string, msg: string, fields: LogFields | undefined): void {
    if (!this.log.enabled(level)) return;
    let key = kind;
    if (!this.entries.has(key) && this.entries.size >= this.maxKinds) key = OTHER;
    const e = this.entries.get(key);
    if (e === undefined) {
      this.entries.set(key, { level, msg, fields, suppressed: 0 });
      this.log[level](msg, fields);
      this.startTimer();
      return;
    }
    e.suppressed++;
    e.fields = fields;
    e.msg = msg;
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = this.clock
      .setInterval(() => {
        this.flush();
      }, this.intervalMs)
      .unref();
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
