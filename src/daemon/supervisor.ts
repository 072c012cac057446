/**
 * The router supervisor (`caravan-router --supervise`, what `caravan site start --detach` runs): runs the router
 * as its child, starts it again when it dies (RestartPolicy decides when), records every change in
 * runtime/supervisor.json, and passes SIGTERM/SIGINT/SIGHUP on. The process-facing parts (spawning, reading
 * the log's tail, writing files) are injected so that the driver runs in unit tests on a ManualClock.
 */
import type { Clock, Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { SupervisorRecord } from '../site/supervision.js';
import { RestartPolicy, type ExitEvent, type PolicyAction, type RestartOptions } from './restart-policy.js';

/** One router process as the supervisor sees it. */
export interface ChildHandle {
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  /** Called once when the child says it is ready. */
  onReady(fn: () => void): void;
  /** Called once when the child ended or could not be started. */
  onExit(fn: (ev: ExitEvent) => void): void;
}

export interface SupervisorDeps {
  clock: Clock;
  logger: Logger;
  /** Starts a router; `restarts` is how many times one was started again before (the router exports it). */
  spawn: (restarts: number) => ChildHandle;
  /** Writes the state file (atomically). */
  writeRecord: (rec: SupervisorRecord) => Promise<void>;
  /** Records the pid of the running router (runtime/router.pid); undefined removes it. */
  writePid: (pid: number | undefined) => Promise<void>;
  /** The last lines the router wrote (its log), read when it died. */
  logTail?: () => Promise<string[]>;
  restart?: Partial<RestartOptions>;
  /** After passing a stop on, SIGKILL a child that is still there after this long (default 10 s). */
  stopGraceMs?: number;
  /** The supervisor's own pid (default process.pid). */
  pid?: number;
}

export class Supervisor {
  readonly done: Promise<number>;
  private readonly policy: RestartPolicy;
  private child: ChildHandle | undefined;
  private timer: Timer | undefined;
  private killTimer: Timer | undefined;
  private writes: Promise<void> = Promise.resolve();
  private readonly startedAt: string;
  private resolveDone!: (code: number) => void;
  private finished = false;

  constructor(private readonly deps: SupervisorDeps) {
    this.policy = new RestartPolicy(deps.clock, deps.restart);
    this.startedAt = new Date(deps.clock.now()).toISOString();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get phase(): RestartPolicy['phase'] {
    return this.policy.phase;
  }

  start(): void {
    this.apply(this.policy.begin());
  }

  /** An intentional stop: the router gets the signal and is not started again. */
  stop(signal: NodeJS.Signals): void {
    const before = this.policy.phase;
    const action = this.policy.stop(signal);
    if (action.do === 'nothing') return;
    this.deps.logger.info('stopping the router', { signal, phase: before });
    this.timer?.cancel();
    this.apply(action);
    this.record();
  }

  /** Passes a signal on without changing the supervision (SIGHUP: reload resources). */
  forward(signal: NodeJS.Signals): void {
    this.killChild(signal);
  }

  private apply(action: PolicyAction): void {
    switch (action.do) {
      case 'spawn':
        this.spawnChild();
        break;
      case 'wait': {
        const last = this.policy.lastExit;
        this.deps.logger.warn('router died; restarting', {
          cause: last?.cause,
          pid: last?.pid,
          uptimeMs: last?.uptimeMs,
          delayMs: action.ms,
          restarts: this.policy.restarts,
          recentCrashes: this.policy.recentCrashes,
        });
        this.timer = this.deps.clock.setTimeout(() => {
          this.timer = undefined;
          this.apply(this.policy.due());
        }, action.ms);
        this.record();
        break;
      }
      case 'signal':
        this.killChild(action.signal);
        this.killTimer = this.deps.clock.setTimeout(() => {
          this.deps.logger.warn('router did not stop in time; killing it', { pid: this.child?.pid });
          this.killChild('SIGKILL');
        }, this.deps.stopGraceMs ?? 10_000);
        break;
      case 'exit':
        this.finish(action.code);
        break;
      case 'nothing':
        break;
    }
  }

  private spawnChild(): void {
    let child: ChildHandle;
    try {
      child = this.deps.spawn(this.policy.restarts);
    } catch (e) {
      this.onExit(undefined, { code: null, signal: null, error: errorMessage(e) });
      return;
    }
    this.child = child;
    if (child.pid !== undefined) this.policy.spawned(child.pid);
    const restarts = this.policy.restarts;
    this.deps.logger.info(restarts === 0 ? 'router starting' : 'router restarting', {
      pid: child.pid,
      restarts,
    });
    child.onReady(() => {
      if (this.child !== child) return;
      this.policy.ready();
      this.deps.logger.info('router ready', { pid: child.pid, restarts: this.policy.restarts });
      this.record();
    });
    child.onExit((ev) => this.onExit(child, ev));
    if (child.pid !== undefined) this.queue(() => this.deps.writePid(child.pid));
    this.record();
  }

  private onExit(child: ChildHandle | undefined, ev: ExitEvent): void {
    if (child !== undefined && this.child !== child) return;
    this.child = undefined;
    this.killTimer?.cancel();
    this.killTimer = undefined;
    const tail = this.deps.logTail ? this.deps.logTail() : Promise.resolve([]);
    void tail
      .catch(() => [] as string[])
      .then((lines) => {
        const action = this.policy.exited(ev, lines);
        if (action.do === 'exit' && action.code !== 0) {
          this.deps.logger.error('router died; giving up', {
            cause: this.policy.lastExit?.cause,
            reason: action.reason,
          });
        } else if (action.do === 'exit') {
          this.deps.logger.info('router stopped', {
            cause: this.policy.lastExit?.cause,
            reason: action.reason,
          });
        }
        this.apply(action);
      });
  }

  private killChild(signal: NodeJS.Signals): void {
    try {
      this.child?.kill(signal);
    } catch {
      // already gone: its exit event follows
    }
  }

  private snapshot(): SupervisorRecord {
    const p = this.policy;
    const next = p.nextRestartAt;
    return {
      pid: this.deps.pid ?? process.pid,
      phase: p.phase,
      startedAt: this.startedAt,
      ...(p.pid !== undefined ? { childPid: p.pid } : {}),
      restarts: p.restarts,
      recentCrashes: p.recentCrashes,
      ...(p.lastExit ? { lastExit: p.lastExit } : {}),
      ...(next !== undefined ? { nextRestartAt: new Date(next).toISOString() } : {}),
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
    };
  }

  private record(): void {
    const rec = this.snapshot();
    this.queue(() => this.deps.writeRecord(rec));
  }

  /** File writes in order, one at a time; a failed write is logged and does not stop supervision. */
  private queue(fn: () => Promise<void>): void {
    this.writes = this.writes.then(fn).catch((e: unknown) => {
      this.deps.logger.warn('cannot write supervisor state', { error: errorMessage(e) });
    });
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.timer?.cancel();
    this.killTimer?.cancel();
    this.record();
    this.queue(() => this.deps.writePid(undefined));
    void this.writes.then(() => this.resolveDone(code));
  }
}
