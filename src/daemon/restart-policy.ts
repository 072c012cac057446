/**
 * When the supervisor starts the router again: a pure state machine over the events of one child process at a
 * time (spawned, ready, exited, restart timer due, stop requested). It returns what to do next and never touches
 * a process, a file or a timer itself; time comes from the injected Clock.
 *
 *   starting ──ready──▶ running
 *      │                   │ exit (signal, or code ≠ 0)
 *      │                   ▼
 *      └──exit─────────▶ backoff ──due──▶ starting        (delay = initial·2^n, capped; n resets after a
 *                          │                               child ran `stableMs` after it was ready)
 *                          └──too many crashes in the window──▶ gave-up
 *   any ──stop──▶ stopping ──exit──▶ stopped                (an intentional stop never restarts)
 *   running ──exit code 0──▶ stopped                        (the router stopped on its own, cleanly)
 *   first child exits before it was ever ready ──▶ gave-up  (it cannot start: restarting would not help)
 */
import type { Clock } from '../clock.js';
import { describeExit, type ChildExit, type SupervisorPhase } from '../site/supervision.js';

export interface RestartOptions {
  /** Delay before the first restart (default 1 s); doubles with every crash. */
  initialDelayMs: number;
  /** Longest delay between restarts (default 60 s). */
  maxDelayMs: number;
  /** A child that ran this long after it was ready resets the delay to `initialDelayMs` (default 60 s). */
  stableMs: number;
  /** Give up after this many crashes within `windowMs` (default 10 in 10 minutes). */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_OPTIONS: RestartOptions = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  stableMs: 60_000,
  maxCrashes: 10,
  windowMs: 10 * 60_000,
};

export interface ExitEvent {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

export type PolicyAction =
  | { do: 'spawn' }
  | { do: 'wait'; ms: number }
  | { do: 'signal'; signal: NodeJS.Signals }
  | { do: 'exit'; code: number; reason: string }
  | { do: 'nothing' };

export class RestartPolicy {
  private state: SupervisorPhase = 'stopped';
  private readonly opts: RestartOptions;
  private attempt = 0;
  private everReady = false;
  private spawnedAt = 0;
  private readyAt: number | undefined;
  private crashes: number[] = [];
  private restartCount = 0;
  private childPid: number | undefined;
  private last: ChildExit | undefined;
  private dueAt: number | undefined;
  private why: string | undefined;

  constructor(
    private readonly clock: Clock,
    opts: Partial<RestartOptions> = {},
  ) {
    this.opts = { ...DEFAULT_RESTART_OPTIONS, ...opts };
  }

  get phase(): SupervisorPhase {
    return this.state;
  }
  get restarts(): number {
    return this.restartCount;
  }
  get pid(): number | undefined {
    return this.childPid;
  }
  get lastExit(): ChildExit | undefined {
    return this.last;
  }
  /** Crashes within the window as of now. */
  get recentCrashes(): number {
    this.prune();
    return this.crashes.length;
  }
  /** Wall time (ms) when the pending restart is due. */
  get nextRestartAt(): number | undefined {
    return this.dueAt === undefined ? undefined : this.clock.now() + (this.dueAt - this.clock.monotonic());
  }
  get reason(): string | undefined {
    return this.why;
  }

  /** The supervisor begins: start the first child. */
  begin(): PolicyAction {
    this.state = 'starting';
    return { do: 'spawn' };
  }

  /** A child was started with this pid. */
  spawned(pid: number): void {
    this.childPid = pid;
    this.spawnedAt = this.clock.monotonic();
    this.readyAt = undefined;
  }

  /** The child said it is ready (its admin socket and links are up). */
  ready(): void {
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.everReady = true;
    this.readyAt = this.clock.monotonic();
  }

  /** The child ended (or could not be started). `logTail` is what it wrote last. */
  exited(ev: ExitEvent, logTail?: string[]): PolicyAction {
    const now = this.clock.monotonic();
    const cause = ev.error !== undefined ? `could not start: ${ev.error}` : describeExit(ev.code, ev.signal);
    this.last = {
      at: new Date(this.clock.now()).toISOString(),
      ...(this.childPid !== undefined ? { pid: this.childPid } : {}),
      code: ev.code,
      signal: ev.signal,
      cause,
      uptimeMs: Math.max(0, Math.round(now - this.spawnedAt)),
      ...(logTail && logTail.length > 0 ? { logTail } : {}),
    };
    this.childPid = undefined;
    if (this.state === 'stopping') return this.finish('stopped', 0, this.why ?? 'stopped on request');
    if (this.state !== 'starting' && this.state !== 'running') return { do: 'nothing' };
    if (ev.error === undefined && ev.code === 0 && ev.signal === null) {
      return this.finish('stopped', 0, 'the router exited on its own (code 0)');
    }
    if (!this.everReady) {
      return this.finish('gave-up', 1, `the router failed to start (${cause})`);
    }
    if (this.readyAt !== undefined && now - this.readyAt >= this.opts.stableMs) this.attempt = 0;
    this.crashes.push(now);
    this.prune();
    if (this.crashes.length >= this.opts.maxCrashes) {
      const mins = Math.round(this.opts.windowMs / 60_000);
      return this.finish(
        'gave-up',
        1,
        `the router crashed ${this.crashes.length} times within ${mins >= 1 ? `${mins} min` : `${this.opts.windowMs} ms`}; last: ${cause}`,
      );
    }
    const ms = Math.min(this.opts.maxDelayMs, this.opts.initialDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    this.state = 'backoff';
    this.dueAt = now + ms;
    return { do: 'wait', ms };
  }

  /** The restart delay has passed. */
  due(): PolicyAction {
    if (this.state !== 'backoff') return { do: 'nothing' };
    this.dueAt = undefined;
    this.restartCount++;
    this.state = 'starting';
    return { do: 'spawn' };
  }

  /** An intentional stop (SIGTERM/SIGINT to the supervisor): pass it on; never restart after it. */
  stop(signal: NodeJS.Signals): PolicyAction {
    switch (this.state) {
      case 'starting':
      case 'running':
        this.state = 'stopping';
        this.why = `stopped by ${signal}`;
        return { do: 'signal', signal };
      case 'backoff':
        this.dueAt = undefined;
        return this.finish('stopped', 0, `stopped by ${signal} while waiting to restart`);
      default:
        return { do: 'nothing' };
    }
  }

  private finish(phase: 'stopped' | 'gave-up', code: number, reason: string): PolicyAction {
    this.state = phase;
    this.why = reason;
    this.dueAt = undefined;
    return { do: 'exit', code, reason };
  }

  private prune(): void {
    const from = this.clock.monotonic() - this.opts.windowMs;
    this.crashes = this.crashes.filter((t) => t > from);
  }
}
