/**
 * The one clock of a router: wall time and timers, injected into every layer that waits or measures (router core,
 * the adapters through `AdapterHost.clock`, link dialer and state, mux sessions, the daemon). Production code uses `systemClock`; unit tests pass a
 * `ManualClock` and move time by hand instead of waiting (docs/design/architecture.md, "Time").
 */

/** A pending timer; `cancel()` is idempotent. `unref()` lets the process exit while it is pending. */
export interface Timer {
  cancel(): void;
  unref(): Timer;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall time; what `Date.now()` gives). */
  now(): number;
  /** Milliseconds from an arbitrary origin that never goes backwards (for intervals and RTTs). */
  monotonic(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Runs `fn` every `ms` milliseconds until cancelled. */
  setInterval(fn: () => void, ms: number): Timer;
}

class NodeTimer implements Timer {
  constructor(
    private readonly handle: NodeJS.Timeout,
    private readonly repeat: boolean,
  ) {}
  cancel(): void {
    if (this.repeat) clearInterval(this.handle);
    else clearTimeout(this.handle);
  }
  unref(): Timer {
    this.handle.unref();
    return this;
  }
}

/** The process's own clock: `Date.now()`, `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => new NodeTimer(setTimeout(fn, ms), false),
  setInterval: (fn, ms) => new NodeTimer(setInterval(fn, ms), true),
};

interface ManualEntry {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer that falls due, in time order (timers a
 * callback sets run too when they fall within the step). For unit tests; deterministic, no real waiting.
 */
export class ManualClock implements Clock {
  private t: number;
  private mono = 0;
  private seq = 0;
  private readonly timers = new Map<number, ManualEntry>();

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Timers not yet run or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running each timer at its due time. */
  advance(ms: number): void {
    const end = this.mono + Math.max(0, ms);
    for (;;) {
      let next: ManualEntry | undefined;
      for (const e of this.timers.values())
        if (e.at <= end && (next === undefined || e.at < next.at || (e.at === next.at && e.id < next.id)))
          next = e;
      if (next === undefined) break;
      this.t += next.at - this.mono;
      this.mono = next.at;
      if (next.every !== undefined) next.at += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.t += end - this.mono;
    this.mono = end;
  }

  /** Sets the wall clock (as if the system clock was changed); monotonic time and timers do not move. */
  setWallTime(ms: number): void {
    this.t = ms;
  }

  private add(fn: () => void, ms: number, every: number | undefined): Timer {
    const id = ++this.seq;
    const entry: ManualEntry = { id, at: this.mono + Math.max(0, ms), every, fn, cancelled: false };
    this.timers.set(id, entry);
    const timers = this.timers;
    const timer: Timer = {
      cancel() {
        entry.cancelled = true;
        timers.delete(id);
      },
      unref() {
        return timer;
      },
    };
    return timer;
  }
}
