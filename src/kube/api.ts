/**
 * The narrow view of the Kubernetes API that the Caravan controller and CLI use: namespaced objects addressed by
 * group/version/plural, the status subresource, and a watch that never gives up. `client-node.ts` implements it
 * with @kubernetes/client-node; tests run it against the API stand-in in test/support/kube-apiserver.
 */
import type { CaravanError } from '../errors.js';

/** A kind's REST address: `{group: '', version: 'v1', plural: 'services'}`, `{group: 'caravan.dev', …}`. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ListOptions {
  /** e.g. `app=redis,tier in (cache)` */
  labelSelector?: string;
  /** e.g. `status.phase=Running` */
  fieldSelector?: string;
}

export interface ObjectList<T> {
  /** The collection's resourceVersion at the time of the list: where a watch starts. */
  resourceVersion: string;
  items: T[];
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'merge' | 'json';

export interface PatchOptions {
  /** 'merge' (RFC 7386, the default) or 'json' (RFC 6902). */
  type?: PatchType;
  /** Patch the status subresource instead of the object. */
  status?: boolean;
}

/**
 * What a watch reports. After every (re)list the watch compares the list with what it reported before and sends
 * the differences as added/modified/deleted, then `synced`: a consumer that applies the events in order always
 * holds the server's state, with no event lost or repeated across relists and reconnects.
 */
export type WatchEvent<T> =
  | { type: 'added'; object: T }
  | { type: 'modified'; object: T; previous: T }
  | { type: 'deleted'; object: T }
  /** The cache matches a fresh list (after start, a 410 or a server that lost its history). */
  | { type: 'synced'; resourceVersion: string }
  /** A problem the watch recovers from by itself (it retries with backoff); never fatal. */
  | { type: 'error'; error: CaravanError; retryInMs: number };

export interface WatchOptions extends ListOptions {
  /** Called for every event, in order; an exception it throws is caught and reported as an `error` event. */
  onEvent: (ev: WatchEvent<KubeObject>) => void;
}

export interface WatchHandle {
  /** The objects as last reported (namespace/name → object). */
  readonly objects: ReadonlyMap<string, KubeObject>;
  /** The resourceVersion the watch would resume from. */
  readonly resourceVersion: string;
  /** `listing`, `watching`, `waiting` (backoff) or `stopped`. */
  readonly state: WatchState;
  /** Counters for metrics: lists done, watch requests opened, failures retried. */
  readonly stats: Readonly<WatchStats>;
  /** Stops the watch; no event is reported after it returns. */
  stop(): void;
}

export type WatchState = 'listing' | 'watching' | 'waiting' | 'stopped';

export interface WatchStats {
  /** Successful lists (the first one, and every relist after a 410 or a server that lost its history). */
  lists: number;
  /** Watch requests opened. */
  watches: number;
  /** Failed requests (each followed by a backoff wait). */
  errors: number;
}

export interface KubeApi {
  get<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string): Promise<T>;
  list<T extends KubeObject>(ref: ResourceRef, namespace: string, opts?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T>;
  /** PUT: fails with KUBE_CONFLICT when `obj.metadata.resourceVersion` is stale. */
  update<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T>;
  /** PUT on the status subresource: only `obj.status` is written. */
  updateStatus<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T>;
  patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    opts?: PatchOptions,
  ): Promise<T>;
  delete(ref: ResourceRef, namespace: string, name: string, opts?: DeleteOptions): Promise<void>;
  /** List then watch, forever, until `stop()`; see WatchEvent. */
  watch(ref: ResourceRef, namespace: string, opts: WatchOptions): WatchHandle;
}

/** `namespace/name`, the key of an object in a watch's cache. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The REST path of a collection or of one object (and its subresource). */
export function resourcePath(
  ref: ResourceRef,
  namespace: string,
  name?: string,
  subresource?: string,
): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = namespace === '' ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  let p = `${base}${ns}/${ref.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}
