/**
 * The way back: state the running router writes under stateDir (grant redemptions, issued certificates,
 * revocations, renewed link certificates and their grant info) is copied into its Secret, so a pod deleted and
 * recreated starts from what the last one had. A folder watch notices writes at once; a periodic scan on the
 * injected clock catches what a watch misses (and folders made after start). Content hashes skip no-ops; updates
 * carry the resourceVersion, and a 409 re-reads the Secret and tries again. Nothing is thrown: failures are logged
 * and retried with capped backoff.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Backoff } from '../../backoff.js';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { KubeApi, ResourceRef } from '../api.js';
import type { SecretFile, SecretObject } from '../reconcile/index.js';
import {
  checkFiles,
  expand,
  readLocal,
  readManifest,
  secretValue,
  sha256,
  withStateLock,
  writeManifest,
  type Target,
} from './files.js';

export const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets' };
/** The API server refuses Secrets larger than 1 MiB (all of the object; the data is most of it). */
export const MAX_SECRET_BYTES = 1024 * 1024;
const DEBOUNCE_MS = 100;
const MAX_CONFLICT_RETRIES = 5;

export interface SecretMirrorOptions {
  api: KubeApi;
  namespace: string;
  stateDir: string;
  logger: Logger;
  clock?: Clock;
  /** How often every mirrored file is compared with its Secret even without a folder event; default 10 s. */
  scanIntervalMs?: number;
  /** Backoff of a failed Secret write; default 1 s doubling to 5 min. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface SecretMirrorStats {
  /** scans done */
  scans: number;
  /** Secret updates written */
  writes: number;
  /** 409s answered by a re-read and another try */
  conflicts: number;
  /** writes that failed (retried later) */
  failures: number;
}

interface Push {
  target: Target;
  data: Buffer;
}

export class SecretMirror {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dir: string;
  private files: readonly SecretFile[] = [];
  private readonly secrets = new Map<string, SecretObject>();
  /** Secret name → the resourceVersion it had before our last write (a watch still reporting it is stale). */
  private readonly replaced = new Map<string, string>();
  private readonly watchers = new Map<string, FSWatcher>();
  private interval: Timer | undefined;
  private debounce: Timer | undefined;
  private retry: Timer | undefined;
  private readonly backoff: Backoff;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopped = false;
  readonly stats: SecretMirrorStats = { scans: 0, writes: 0, conflicts: 0, failures: 0 };

  constructor(private readonly opts: SecretMirrorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ subsystem: 'secret-mirror', namespace: opts.namespace });
    this.dir = resolve(opts.stateDir);
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 1000, maxMs: 5 * 60_000 });
  }

  /** The files to mirror (the reconcile core's secretFiles; only `mirror` ones are copied) and the Secrets as seen. */
  setFiles(files: readonly SecretFile[], secrets: readonly SecretObject[]): void {
    try {
      checkFiles(files);
    } catch (e) {
      this.log.error('secret files refused', { error: errorMessage(e) });
      return;
    }
    this.files = files.filter((f) => f.mirror === true);
    const names = new Set(this.files.map((f) => f.secret));
    for (const s of secrets) {
      const name = s.metadata.name;
      if (!names.has(name)) continue;
      if (s.metadata.resourceVersion !== undefined && this.replaced.get(name) === s.metadata.resourceVersion)
        continue; // the watch has not seen our write yet
      this.secrets.set(name, s);
    }
    for (const n of [...this.secrets.keys()]) if (!names.has(n)) this.secrets.delete(n);
    if (this.started) {
      this.watchFolders();
      this.schedule(0);
    }
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.interval = this.clock
      .setInterval(() => this.schedule(0), this.opts.scanIntervalMs ?? 10_000)
      .unref();
    this.watchFolders();
    this.schedule(0);
  }

  /** Compares every mirrored file with its Secret now and writes what differs; resolves when done (never rejects). */
  async flush(): Promise<void> {
    if (this.stopped) return;
    await this.running;
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interval?.cancel();
    this.debounce?.cancel();
    this.retry?.cancel();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.running;
  }

  // ---- scheduling ----------------------------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.stopped || !this.started) return;
    this.debounce?.cancel();
    this.debounce = this.clock.setTimeout(() => void this.run(), ms).unref();
  }

  /** One scan at a time; a request during a scan runs another right after. */
  private run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const p = (async () => {
      do {
        this.again = false;
        await this.scan();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private watchFolders(): void {
    const folders = new Set<string>();
    for (const f of this.files) folders.add(join(this.dir, f.dir === true ? f.path : dirname(f.path)));
    for (const [d, w] of this.watchers)
      if (!folders.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    for (const d of folders) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, () => this.schedule(DEBOUNCE_MS));
        w.on('error', () => {
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch {
        // the folder does not exist yet: the periodic scan covers it and watches it once it exists
      }
    }
  }

  // ---- the work ------------------------------------------------------------------------------------------

  private async scan(): Promise<void> {
    if (this.stopped) return;
    let failed = false;
    try {
      this.watchFolders();
      const pending = await this.pending();
      const bySecret = new Map<string, Push[]>();
      for (const p of pending) bySecret.set(p.target.secret, [...(bySecret.get(p.target.secret) ?? []), p]);
      for (const [name, pushes] of bySecret) {
        if (this.stopped) return;
        if (!(await this.write(name, pushes))) failed = true;
      }
    } catch (e) {
      failed = true;
      this.log.error('secret mirror scan failed', { error: errorMessage(e) });
    }
    this.stats.scans++;
    if (failed) {
      const ms = this.backoff.next();
      this.retry?.cancel();
      this.retry = this.clock.setTimeout(() => void this.run(), ms).unref();
    } else this.backoff.reset();
  }

  /**
   * What must go to the Secrets: every mirrored file that the router changed since it last agreed with its
   * Secret, and every one whose key is missing from the Secret (put back, e.g. into a Secret recreated empty).
   * A file unchanged since the last agreement whose Secret holds something else is left for materialize: that
   * is a change made to the Secret by someone else.
   */
  private pending(): Promise<Push[]> {
    return withStateLock(this.dir, async () => {
      const manifest = await readManifest(this.dir);
      const { targets } = await expand(this.dir, this.files, this.secrets, true);
      const out: Push[] = [];
      for (const t of targets) {
        const have = await readLocal(join(this.dir, t.rel));
        if (have === undefined) continue;
        const inSecret = secretValue(this.secrets, t);
        if (inSecret?.equals(have)) continue;
        const synced = manifest.files[t.rel]?.synced;
        if (inSecret !== undefined && synced === sha256(have)) continue;
        out.push({ target: t, data: have });
      }
      return out;
    });
  }

  /** Writes `pushes` into Secret `name`; true when done (or nothing was left to do). */
  private async write(name: string, pushes: Push[]): Promise<boolean> {
    const { api, namespace } = this.opts;
    for (let attempt = 0; ; attempt++) {
      let cur = this.secrets.get(name);
      try {
        if (!cur) {
          cur = await api.get<SecretObject>(SECRETS, namespace, name);
          this.secrets.set(name, cur);
        }
        const data = { ...cur.data };
        const todo = pushes.filter((p) => data[p.target.key] !== p.data.toString('base64'));
        if (todo.length === 0) {
          await this.agreed(pushes);
          return true;
        }
        for (const p of todo) data[p.target.key] = p.data.toString('base64');
        const size = Object.entries(data).reduce((n, [k, v]) => n + k.length + v.length, 0);
        if (size > MAX_SECRET_BYTES) {
          this.stats.failures++;
          this.log.error('secret too large to hold the router state; the change is kept only in the pod', {
            secret: name,
            bytes: size,
            maxBytes: MAX_SECRET_BYTES,
            keys: todo.map((p) => p.target.key),
          });
          return false;
        }
        const before = cur.metadata.resourceVersion;
        const updated = await api.update<SecretObject>(SECRETS, namespace, { ...cur, data });
        if (before !== undefined) this.replaced.set(name, before);
        this.secrets.set(name, updated);
        this.stats.writes++;
        await this.agreed(todo);
        this.log.info('router state copied into secret', {
          secret: name,
          keys: todo.map((p) => p.target.key),
          resourceVersion: updated.metadata.resourceVersion,
        });
        return true;
      } catch (e) {
        const code = isCaravanError(e) ? e.code : undefined;
        if (code === ErrorCodes.KUBE_CONFLICT && attempt < MAX_CONFLICT_RETRIES) {
          this.stats.conflicts++;
          this.secrets.delete(name); // re-read, then decide again
          continue;
        }
        this.stats.failures++;
        this.secrets.delete(name);
        if (code === ErrorCodes.KUBE_NOT_FOUND)
          this.log.warn('secret not found; the router state waits for it to be recreated', {
            secret: name,
            keys: pushes.map((p) => p.target.key),
          });
        else
          this.log.error('cannot copy router state into secret', {
            secret: name,
            code,
            error: errorMessage(e),
          });
        return false;
      }
    }
  }

  /** Records that these files and their Secret now agree. */
  private agreed(pushes: readonly Push[]): Promise<void> {
    return withStateLock(this.dir, async () => {
      const m = await readManifest(this.dir);
      for (const p of pushes) {
        m.files[p.target.rel] = {
          secret: p.target.secret,
          key: p.target.key,
          mirror: true,
          synced: sha256(p.data),
        };
      }
      await writeManifest(this.dir, m);
    });
  }
}
