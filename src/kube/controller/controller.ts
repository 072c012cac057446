/**
 * The controller of a Kubernetes site: watches the namespace (cache.ts), runs the pure reconcile core on what it
 * saw plus the running router's facts, writes the Secret keys the router needs as files, hands the core's
 * configuration to the router (the sink), and applies the core's actions (apply.ts).
 *
 * Reconciles are coalesced and run one at a time on the injected clock:
 *
 *   idle ──event──▶ scheduled ──debounce──▶ running ──▶ idle
 *                                             │ events meanwhile ──▶ scheduled (again, after it)
 *                                             │ failure or conflict ──▶ scheduled after a backoff
 *
 * Nothing runs before every watch has listed once. The router's facts are polled; a change schedules a reconcile,
 * so Ready and Matched follow the router without any Kubernetes event. Nothing an event carries can throw out of
 * the loop: a failed reconcile is logged, counted and retried with capped exponential backoff.
 */
import { Backoff } from '../../backoff.js';
import type { Clock, Timer } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { KubeApi } from '../api.js';
import { stableJson } from '../reconcile/diff.js';
import {
  reconcile,
  type ReconcileResult,
  type RouterFacts,
  type SecretFile,
  type SecretObject,
} from '../reconcile/index.js';
import { ActionApplier, type SecretGenerator } from './apply.js';
import { ObservedCache } from './cache.js';
import { writeSecretFiles } from './files.js';
import { TokenRedeemer, type Redeem } from './redeem.js';

/** Where the core's results go: the composition root starts or reloads the router on them. */
export interface ControllerSink {
  /**
   * The result of one reconcile, after its actions and Secret files were written (`changedFiles`: paths under
   * stateDir rewritten this time). Called one at a time; a rejection is retried with backoff.
   */
  apply(result: ReconcileResult, changedFiles: readonly string[]): Promise<void>;
  /** What the running router reports now, or undefined while none runs. */
  facts(): RouterFacts | undefined;
}

export interface KubeControllerOptions {
  api: KubeApi;
  namespace: string;
  /** the router's working folder: Secret keys become files here (the `runtime/` layout) */
  stateDir: string;
  /** labels of the router pods; Services select them */
  routerPodLabels: Readonly<Record<string, string>>;
  clock: Clock;
  logger: Logger;
  sink: ControllerSink;
  /** makes keys and certificates for Secrets the core asks to generate */
  generate?: SecretGenerator;
  /** writes Secret keys as files (default writeSecretFiles) */
  writeFiles?: (
    stateDir: string,
    files: readonly SecretFile[],
    secrets: readonly SecretObject[],
  ) => Promise<string[]>;
  /** redeems an AccessToken into a Link and its Secret (absent: tokens stay Pending) */
  redeem?: Redeem;
  /** copies what the router writes under stateDir back into its Secrets (grant state, renewed certificates) */
  mirror?: StateMirror;
  /** wait after an event before reconciling, so a burst of events gives one reconcile (default 50 ms) */
  debounceMs?: number;
  /** how often the router's facts are compared with the last reconcile's (default 1000 ms) */
  factsPollMs?: number;
  /** retry of a failed reconcile (default 500 ms doubling to 30 s) */
  backoff?: { initialMs: number; maxMs: number };
}

/** The way back for router-written state (SecretMirror of src/kube/state). */
export interface StateMirror {
  setFiles(files: readonly SecretFile[], secrets: readonly SecretObject[]): void;
  start(): void;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerStats {
  reconciles: number;
  reconcileErrors: number;
  actionsApplied: number;
  actionsFailed: number;
}

export type ControllerState = 'idle' | 'scheduled' | 'running' | 'stopped';

export class KubeController {
  readonly stats: ControllerStats = {
    reconciles: 0,
    reconcileErrors: 0,
    actionsApplied: 0,
    actionsFailed: 0,
  };
  readonly cache: ObservedCache;
  private readonly applier: ActionApplier;
  private readonly redeemer: TokenRedeemer | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private current: ControllerState = 'idle';
  private dirty = false;
  private timer: Timer | undefined;
  private poll: Timer | undefined;
  private running: Promise<void> | undefined;
  private lastFacts = '';
  private lastResult: ReconcileResult | undefined;

  constructor(private readonly opts: KubeControllerOptions) {
    this.log = opts.logger.child({ subsystem: 'kube', namespace: opts.namespace });
    this.cache = new ObservedCache(opts.api, opts.namespace, () => this.schedule(), this.log);
    this.applier = new ActionApplier(opts.api, opts.namespace, this.log, opts.generate);
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    this.redeemer = opts.redeem
      ? new TokenRedeemer(opts.api, opts.namespace, opts.redeem, this.log)
      : undefined;
  }

  private get stopped(): boolean {
    return this.current === 'stopped';
  }

  get state(): ControllerState {
    return this.current;
  }

  /** The result of the last reconcile (undefined before the first). */
  get result(): ReconcileResult | undefined {
    return this.lastResult;
  }

  start(): this {
    this.log.info('controller starting', { stateDir: this.opts.stateDir });
    this.cache.start();
    this.opts.mirror?.start();
    this.poll = this.opts.clock.setInterval(() => this.pollFacts(), this.opts.factsPollMs ?? 1000);
    return this;
  }

  /** Asks for a reconcile (coalesced with any already asked for). */
  schedule(delayMs = this.opts.debounceMs ?? 50): void {
    if (this.current === 'stopped') return;
    if (this.current === 'running') {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    this.current = 'scheduled';
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.run();
    }, delayMs);
  }

  private pollFacts(): void {
    if (this.current !== 'idle' || !this.cache.ready) return;
    if (stableJson(this.opts.sink.facts() ?? null) !== this.lastFacts) this.schedule();
  }

  private async run(): Promise<void> {
    if (this.current === 'stopped') return;
    if (!this.cache.ready) {
      // the last watch to list schedules again
      this.current = 'idle';
      this.log.debug('waiting for the watches to list', { pending: this.cache.pending });
      return;
    }
    this.current = 'running';
    this.dirty = false;
    let retryIn: number | undefined;
    const n = this.stats.reconciles + 1;
    try {
      const outcome = await this.once(n);
      if (outcome.failed > 0) retryIn = this.backoff.next();
      else if (outcome.stale) retryIn = Math.min(this.backoff.next(), 1000);
      else this.backoff.reset();
    } catch (e) {
      this.stats.reconcileErrors++;
      retryIn = this.backoff.next();
      this.log.error('reconcile failed; retrying', {
        reconcile: n,
        error: errorMessage(e),
        retryInMs: retryIn,
      });
    }
    if (this.stopped) return;
    this.current = 'idle';
    if (this.dirty) this.schedule();
    else if (retryIn !== undefined) this.schedule(retryIn);
  }

  private async once(n: number): Promise<{ failed: number; stale: boolean }> {
    const facts = this.facts();
    this.lastFacts = stableJson(this.opts.sink.facts() ?? null);
    const seen = this.cache.snapshot();
    const result = reconcile({
      ...seen,
      namespace: this.opts.namespace,
      routerPodLabels: this.opts.routerPodLabels,
      stateDir: this.opts.stateDir,
      ...(facts ? { facts } : {}),
      now: new Date(this.opts.clock.now()),
    });
    this.stats.reconciles++;
    this.lastResult = result;
    const applied = await this.applier.applyAll(result.actions, seen.secrets);
    this.stats.actionsApplied += applied.applied;
    this.stats.actionsFailed += applied.failed;
    if (result.actions.length > 0)
      this.log.info('reconciled', {
        reconcile: n,
        actions: result.actions.length,
        applied: applied.applied,
        failed: applied.failed,
        runnable: result.config !== undefined,
      });
    else
      this.log.debug('reconciled; nothing to change', {
        reconcile: n,
        runnable: result.config !== undefined,
      });
    if (result.config && this.redeemer) {
      const name = result.config.site.metadata.name;
      const site = seen.resources.find((r) => r.kind === 'Site' && r.metadata.name === name);
      const before = stableJson(this.redeemer.failures());
      if (site) await this.redeemer.run(site, seen.resources, seen.secrets);
      // a new failure goes into the token's status at the next reconcile (a new Link comes back as an event)
      if (stableJson(this.redeemer.failures()) !== before) this.dirty = true;
    }
    const write = this.opts.writeFiles ?? writeSecretFiles;
    const changed = await write(this.opts.stateDir, result.secretFiles, seen.secrets);
    this.opts.mirror?.setFiles(result.secretFiles, seen.secrets);
    await this.opts.sink.apply(result, changed);
    return applied;
  }

  /** The router's facts, with the redemption failures the controller itself saw. */
  private facts(): RouterFacts | undefined {
    const facts = this.opts.sink.facts();
    const tokenFailures = this.redeemer?.failures() ?? {};
    if (Object.keys(tokenFailures).length === 0) return facts;
    return { ...facts, tokenFailures };
  }

  /** Stops the watches and the timers; waits for a reconcile in progress; writes back what the router wrote. */
  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    this.timer?.cancel();
    this.timer = undefined;
    this.poll?.cancel();
    this.cache.stop();
    await this.running?.catch(() => undefined);
    if (this.opts.mirror) {
      await this.opts.mirror
        .flush()
        .catch((e: unknown) => this.log.warn('state not written back on stop', { error: errorMessage(e) }));
      await this.opts.mirror.stop();
    }
    this.log.info('controller stopped', { reconciles: this.stats.reconciles });
  }
}
