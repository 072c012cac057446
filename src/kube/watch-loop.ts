/**
 * The restart-safe list+watch loop behind `KubeApi.watch` (reference/using-api/api-concepts, "Efficient detection
 * of changes"). An explicit state machine:
 *
 *   listing ──ok──▶ watching ──clean end──▶ watching (resume from the last resourceVersion)
 *      ▲               │ 410 (answer or ERROR event)  ──▶ listing (at once)
 *      │               │ network error / 5xx / 401 / 403 ──▶ waiting ──backoff──▶ watching
 *      └── waiting ◀── list failed
 *
 * Bookmarks move the resume point. Every relist is compared with the cache, and only the differences are reported,
 * so a consumer sees each change once. Nothing is thrown to the caller: failures become `error` events and the
 * loop retries with capped exponential backoff on the injected clock. Unlike client-node's informer, which stops on
 * any error other than 410, this loop only stops when told.
 */
import type { Clock, Timer } from '../clock.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../observe/log.js';
import {
  objectKey,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
  type WatchHandle,
  type WatchState,
  type WatchStats,
} from './api.js';
import { Backoff } from '../backoff.js';
import { KubeApiError } from './errors.js';

export interface WatchParams extends ListOptions {
  resourceVersion: string;
  allowWatchBookmarks: boolean;
  timeoutSeconds: number;
}

/** The two requests the loop needs; `client-node.ts` implements them, unit tests may fake them. */
export interface WatchTransport {
  list(opts: ListOptions): Promise<ObjectList<KubeObject>>;
  /**
   * Opens a watch stream. `onEvent` gets each decoded event; `onDone` is called once when the stream ends (with the
   * error, if any; an HTTP error carries `statusCode`). The returned function closes the stream.
   */
  open(
    params: WatchParams,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): () => void;
}

export interface WatchLoopOptions extends ListOptions {
  clock: Clock;
  log?: Logger;
  /** First retry wait (default 500 ms) and cap (default 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  random?: () => number;
  /** Server-side timeout of each watch request, chosen at random in [min, max] s (default 300–600). */
  timeoutSeconds?: { min: number; max: number };
  /** A watch that ends cleanly sooner than this with no event counts as a failure for the backoff (default 1 s). */
  healthyMs?: number;
  onEvent: (ev: WatchEvent<KubeObject>) => void;
}

interface StatusLike {
  code?: number;
  reason?: string;
  message?: string;
}

export class WatchLoop implements WatchHandle {
  private readonly cache = new Map<string, KubeObject>();
  readonly stats: WatchStats = { lists: 0, watches: 0, errors: 0 };
  private rv = '';
  private current: WatchState = 'listing';
  /** Bumped on every request and on stop: callbacks of an older request are ignored. */
  private epoch = 0;
  private closeStream: (() => void) | undefined;
  private timer: Timer | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(
    private readonly transport: WatchTransport,
    private readonly opts: WatchLoopOptions,
  ) {
    this.backoff = new Backoff({
      ...(opts.backoff ?? { initialMs: 500, maxMs: 30_000 }),
      ...(opts.random ? { random: opts.random } : {}),
    });
    this.log = opts.log ?? nullLogger;
  }

  get objects(): ReadonlyMap<string, KubeObject> {
    return this.cache;
  }

  get resourceVersion(): string {
    return this.rv;
  }

  get state(): WatchState {
    return this.current;
  }

  start(): this {
    this.relist();
    return this;
  }

  stop(): void {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    this.epoch++;
    this.timer?.cancel();
    this.timer = undefined;
    const close = this.closeStream;
    this.closeStream = undefined;
    close?.();
  }

  private selectors(): ListOptions {
    return {
      ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    };
  }

  private relist(): void {
    if (this.current === 'stopped') return;
    this.current = 'listing';
    const epoch = ++this.epoch;
    this.transport.list(this.selectors()).then(
      (list) => {
        if (epoch !== this.epoch) return;
        this.stats.lists++;
        this.replace(list);
        this.watch();
      },
      (e: unknown) => {
        if (epoch !== this.epoch) return;
        this.retry(e, 'list', () => this.relist());
      },
    );
  }

  private watch(): void {
    if (this.current === 'stopped') return;
    this.current = 'watching';
    const epoch = ++this.epoch;
    const started = this.opts.clock.monotonic();
    const t = this.opts.timeoutSeconds ?? { min: 300, max: 600 };
    const timeoutSeconds = Math.round(t.min + (t.max - t.min) * (this.opts.random ?? Math.random)());
    let received = 0;
    let ended = false;
    const end = (then: () => void): void => {
      if (ended || epoch !== this.epoch) return;
      ended = true;
      this.epoch++;
      const close = this.closeStream;
      this.closeStream = undefined;
      close?.();
      then();
    };
    const onEvent = (type: string, object: unknown): void => {
      if (ended || epoch !== this.epoch) return;
      received++;
      if (type === 'ERROR') {
        const st = (object ?? {}) as StatusLike;
        if (st.code === 410) {
          this.log.info('watch expired; relisting', { resourceVersion: this.rv, reason: st.reason });
          end(() => this.relist());
        } else end(() => this.retry(statusError(st), 'watch', () => this.watch()));
        return;
      }
      this.apply(type, object as KubeObject);
    };
    const onDone = (err: unknown): void => {
      if (ended || epoch !== this.epoch) return;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (err && status === 410) end(() => this.relist());
      else if (err) end(() => this.retry(err, 'watch', () => this.watch()));
      else if (received > 0 || this.opts.clock.monotonic() - started >= (this.opts.healthyMs ?? 1000)) {
        end(() => {
          this.backoff.reset();
          this.watch();
        });
      } else end(() => this.wait(this.backoff.next(), () => this.watch()));
    };
    this.stats.watches++;
    try {
      this.closeStream = this.transport.open(
        { ...this.selectors(), resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds },
        onEvent,
        onDone,
      );
      if (ended) {
        const close = this.closeStream;
        this.closeStream = undefined;
        close();
      }
    } catch (e) {
      end(() => this.retry(e, 'watch', () => this.watch()));
    }
  }

  private apply(type: string, obj: KubeObject): void {
    const rv = obj?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    if (!obj?.metadata?.name) return;
    const key = objectKey(obj);
    const prev = this.cache.get(key);
    if (type === 'ADDED' || type === 'MODIFIED') {
      if (rv) this.rv = rv;
      if (prev && prev.metadata?.resourceVersion === rv) return; // already reported (replayed after a resume)
      this.cache.set(key, obj);
      this.backoff.reset();
      if (prev) this.emit({ type: 'modified', object: obj, previous: prev });
      else this.emit({ type: 'added', object: obj });
    } else if (type === 'DELETED') {
      if (rv) this.rv = rv;
      if (!prev) return;
      this.cache.delete(key);
      this.emit({ type: 'deleted', object: obj });
    }
  }

  /** Makes the cache equal to a fresh list, reporting only the differences. */
  private replace(list: ObjectList<KubeObject>): void {
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = objectKey(obj);
      seen.add(key);
      const prev = this.cache.get(key);
      if (prev && prev.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.cache.set(key, obj);
      if (prev) this.emit({ type: 'modified', object: obj, previous: prev });
      else this.emit({ type: 'added', object: obj });
    }
    for (const [key, obj] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit({ type: 'deleted', object: obj });
    }
    this.rv = list.resourceVersion;
    this.backoff.reset();
    this.emit({ type: 'synced', resourceVersion: list.resourceVersion });
  }

  private retry(e: unknown, what: 'list' | 'watch', again: () => void): void {
    const error =
      e instanceof CaravanError
        ? e
        : new CaravanError(ErrorCodes.KUBE_API, `${what} failed: ${errorMessage(e)}`, { cause: e });
    const ms = this.backoff.next();
    this.stats.errors++;
    this.log.warn(`${what} failed; retrying`, { code: error.code, error: error.message, retryInMs: ms });
    this.emit({ type: 'error', error, retryInMs: ms });
    this.wait(ms, again);
  }

  private wait(ms: number, then: () => void): void {
    if (this.current === 'stopped') return;
    this.current = 'waiting';
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      then();
    }, ms);
  }

  private emit(ev: WatchEvent<KubeObject>): void {
    if (this.current === 'stopped') return;
    try {
      this.opts.onEvent(ev);
    } catch (e) {
      this.log.error('watch event handler failed', { event: ev.type, error: errorMessage(e) });
      if (ev.type !== 'error')
        this.emit({
          type: 'error',
          error: new CaravanError(
            ErrorCodes.KUBE_API,
            `the handler of a ${ev.type} event failed: ${errorMessage(e)}`,
            { cause: e },
          ),
          retryInMs: 0,
        });
    }
  }
}

function statusError(st: StatusLike): KubeApiError {
  const code = typeof st.code === 'number' ? st.code : 500;
  return new KubeApiError(
    code === 403
      ? ErrorCodes.KUBE_FORBIDDEN
      : code === 401
        ? ErrorCodes.KUBE_UNAUTHORIZED
        : ErrorCodes.KUBE_API,
    `watch: ${st.message ?? 'error event'}`,
    code,
    st.reason ?? '',
  );
}
