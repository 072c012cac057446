/**
 * What the controller knows of its namespace: one restart-safe list+watch per watched kind (KubeApi.watch), read
 * as the reconcile core's input. The watches' own caches hold the objects; this class adds which watches have
 * listed at least once (nothing is reconciled before all have, so a half-read namespace never deletes anything)
 * and counts watch errors for metrics. Any event calls `onChange`; the loop coalesces them.
 */
import type { Kind } from '../../api/index.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { KubeApi, KubeObject, WatchEvent, WatchHandle } from '../api.js';
import type { CaravanObject, PodObject, SecretObject, ServiceObject } from '../reconcile/index.js';
import { WATCHED, type WatchName } from './refs.js';

export interface ObservedObjects {
  resources: CaravanObject[];
  services: ServiceObject[];
  secrets: SecretObject[];
  pods: PodObject[];
}

export class ObservedCache {
  private readonly handles = new Map<WatchName, WatchHandle>();
  private readonly synced = new Set<WatchName>();
  /** watch failures by watch (each retried by the watch itself) */
  readonly watchErrors = new Map<WatchName, number>();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly onChange: (what: WatchName, ev: WatchEvent<KubeObject>['type']) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const { name, ref } of WATCHED) {
      if (this.handles.has(name)) continue;
      const h = this.api.watch(ref, this.namespace, { onEvent: (ev) => this.event(name, ev) });
      this.handles.set(name, h);
    }
  }

  private event(name: WatchName, ev: WatchEvent<KubeObject>): void {
    if (ev.type === 'error') {
      this.watchErrors.set(name, (this.watchErrors.get(name) ?? 0) + 1);
      this.log.debug('watch failed; it retries by itself', {
        watch: name,
        code: ev.error.code,
        error: errorMessage(ev.error),
        retryInMs: ev.retryInMs,
      });
      return;
    }
    if (ev.type === 'synced') {
      if (!this.synced.has(name)) this.log.debug('watch listed', { watch: name });
      this.synced.add(name);
    }
    this.onChange(name, ev.type);
  }

  /** Every watch has listed at least once. */
  get ready(): boolean {
    return this.synced.size === WATCHED.length;
  }

  /** Watches not listed yet (for logs). */
  get pending(): WatchName[] {
    return WATCHED.map((w) => w.name).filter((n) => !this.synced.has(n));
  }

  private items(name: WatchName): KubeObject[] {
    return [...(this.handles.get(name)?.objects.values() ?? [])];
  }

  snapshot(): ObservedObjects {
    const resources: CaravanObject[] = [];
    for (const { name } of WATCHED) {
      if (name === 'Service' || name === 'Secret' || name === 'Pod') continue;
      for (const o of this.items(name)) resources.push({ ...(o as CaravanObject), kind: name as Kind });
    }
    return {
      resources,
      services: this.items('Service') as ServiceObject[],
      secrets: this.items('Secret') as SecretObject[],
      pods: this.items('Pod') as PodObject[],
    };
  }

  stop(): void {
    for (const h of this.handles.values()) h.stop();
    this.handles.clear();
  }
}
