/**
 * Rate-limited logging of repeated events (refused connections, accept errors): the first few events of an
 * interval are logged one line each, with their details; the rest are only counted, and when the interval ends
 * one summary line gives the counts by reason. A flood of events therefore writes a bounded number of lines
 * (`detailsPerInterval + 1` per interval) while a rare event still shows up with everything about it.
 */
import type { Clock, Timer } from '../clock.js';
import type { LogFields, Logger, LogLevel } from './log.js';

export interface RateLimitedLogOptions {
  logger: Logger;
  clock: Clock;
  /** the message of every line; the summary line adds " (summary)" */
  message: string;
  level?: LogLevel;
  /** length of one interval; default 10 s */
  intervalMs?: number;
  /** events logged in full per interval before only counting; default 5 */
  detailsPerInterval?: number;
}

export class RateLimitedLog {
  private readonly intervalMs: number;
  private readonly details: number;
  private readonly level: LogLevel;
  private logged = 0;
  private suppressed = new Map<string, number>();
  private timer: Timer | undefined;

  constructor(private readonly opts: RateLimitedLogOptions) {
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.details = opts.detailsPerInterval ?? 5;
    this.level = opts.level ?? 'warn';
  }

  /** One event: logged in full while this interval's budget lasts, else counted under `reason`. */
  event(reason: string, fields: LogFields = {}): void {
    this.timer ??= this.opts.clock.setTimeout(() => this.flush(), this.intervalMs).unref();
    if (this.logged < this.details) {
      this.logged++;
      this.opts.logger[this.level](this.opts.message, { reason, ...fields });
      return;
    }
    this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
  }

  /** Ends the interval: one summary line when events were only counted. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.logged = 0;
    if (this.suppressed.size === 0) return;
    let total = 0;
    const byReason: Record<string, number> = {};
    for (const [reason, n] of [...this.suppressed].sort((a, b) => b[1] - a[1])) {
      byReason[reason] = n;
      total += n;
    }
    this.suppressed = new Map();
    this.opts.logger[this.level](`${this.opts.message} (summary)`, {
      notLogged: total,
      intervalMs: this.intervalMs,
      byReason,
    });
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    this.flush();
  }
}
