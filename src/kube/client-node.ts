/**
 * `KubeApi` over @kubernetes/client-node: its `KubeConfig` authenticates and secures every request (bearer and
 * rotated token files, client certificates, exec and OIDC plugins, the cluster CA), its HTTP library sends the
 * generic REST calls, and its `Watch` decodes watch streams. Our own `WatchLoop` drives list+watch.
 */
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  Watch,
  type KubeConfig,
} from '@kubernetes/client-node';
import { systemClock, type Clock } from '../clock.js';
import { CaravanError, ErrorCodes } from '../errors.js';
import { nullLogger, type Logger } from '../observe/log.js';
import {
  resourcePath,
  type DeleteOptions,
  type KubeApi,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type ResourceRef,
  type WatchHandle,
  type WatchOptions,
} from './api.js';
import { loadKubeConfig, type KubeConnection } from './config.js';
import { errorFromResponse, networkError } from './errors.js';
import { WatchLoop, type WatchParams, type WatchTransport } from './watch-loop.js';

export interface ClientNodeKubeApiOptions {
  clock?: Clock;
  log?: Logger;
  /** Deadline of one non-watch request (default 30 s). */
  requestTimeoutMs?: number;
  /** Backoff of the watch loop (default 500 ms doubling to 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** Server-side timeout of each watch request, in seconds (default 300–600, random). */
  watchTimeoutSeconds?: { min: number; max: number };
  random?: () => number;
}

const http = new IsomorphicFetchHttpLibrary();

export class ClientNodeKubeApi implements KubeApi {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly server: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: ClientNodeKubeApiOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? nullLogger;
    const cluster = kc.getCurrentCluster();
    if (!cluster)
      throw new CaravanError(ErrorCodes.KUBE_CONFIG, 'the Kubernetes configuration names no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  private async request<T>(
    method: HttpMethod,
    path: string,
    what: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    let text: string;
    let status: number;
    try {
      await this.kc.applySecurityAuthentication(ctx);
      ctx.setSignal(AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000));
      const res = await http.send(ctx).toPromise();
      status = res.httpStatusCode;
      text = await res.body.text();
    } catch (e) {
      throw networkError(what, e);
    }
    if (status >= 400) throw errorFromResponse(status, text, what);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new CaravanError(ErrorCodes.KUBE_API, `${what}: the answer is not JSON`, { cause: e });
    }
  }

  get<T extends KubeObject>(ref: ResourceRef, namespace: string, name: string): Promise<T> {
    return this.request<T>(HttpMethod.GET, resourcePath(ref, namespace, name), `get ${ref.plural} ${name}`);
  }

  async list<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string,
    opts: ListOptions = {},
  ): Promise<ObjectList<T>> {
    const list = await this.request<{
      apiVersion?: string;
      kind?: string;
      metadata?: { resourceVersion?: string };
      items?: T[];
    }>(HttpMethod.GET, resourcePath(ref, namespace), `list ${ref.plural}`, {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
    // Items of built-in kinds come without apiVersion and kind; fill them in from the list.
    const kind = list.kind?.replace(/List$/, '');
    const items = (list.items ?? []).map((o) => ({ apiVersion: list.apiVersion, kind, ...o }) as T);
    return { resourceVersion: list.metadata?.resourceVersion ?? '', items };
  }

  create<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T> {
    return this.request<T>(
      HttpMethod.POST,
      resourcePath(ref, namespace),
      `create ${ref.plural} ${obj.metadata?.name ?? ''}`,
      {
        body: obj,
      },
    );
  }

  update<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T> {
    const name = nameOf(obj, 'update');
    return this.request<T>(
      HttpMethod.PUT,
      resourcePath(ref, namespace, name),
      `update ${ref.plural} ${name}`,
      { body: obj },
    );
  }

  updateStatus<T extends KubeObject>(ref: ResourceRef, namespace: string, obj: T): Promise<T> {
    const name = nameOf(obj, 'update the status of');
    return this.request<T>(
      HttpMethod.PUT,
      resourcePath(ref, namespace, name, 'status'),
      `update ${ref.plural} ${name} status`,
      {
        body: obj,
      },
    );
  }

  patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    opts: PatchOptions = {},
  ): Promise<T> {
    const type = opts.type ?? 'merge';
    return this.request<T>(
      HttpMethod.PATCH,
      resourcePath(ref, namespace, name, opts.status ? 'status' : undefined),
      `patch ${ref.plural} ${name}${opts.status ? ' status' : ''}`,
      {
        body: patch,
        contentType: type === 'json' ? 'application/json-patch+json' : 'application/merge-patch+json',
      },
    );
  }

  async delete(ref: ResourceRef, namespace: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...opts };
    await this.request<unknown>(
      HttpMethod.DELETE,
      resourcePath(ref, namespace, name),
      `delete ${ref.plural} ${name}`,
      { body },
    );
  }

  watch(ref: ResourceRef, namespace: string, opts: WatchOptions): WatchHandle {
    const transport: WatchTransport = {
      list: (sel) => this.list(ref, namespace, sel),
      open: (params, onEvent, onDone) => this.openWatch(ref, namespace, params, onEvent, onDone),
    };
    return new WatchLoop(transport, {
      clock: this.clock,
      log: this.log.child({ watch: `${ref.plural}${ref.group ? '.' + ref.group : ''}`, namespace }),
      onEvent: opts.onEvent,
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
      ...(this.opts.watchTimeoutSeconds ? { timeoutSeconds: this.opts.watchTimeoutSeconds } : {}),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    }).start();
  }

  private openWatch(
    ref: ResourceRef,
    namespace: string,
    params: WatchParams,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): () => void {
    const w = new Watch(this.kc);
    let controller: AbortController | undefined;
    let closed = false;
    const query: Record<string, string> = {
      allowWatchBookmarks: String(params.allowWatchBookmarks),
      timeoutSeconds: String(params.timeoutSeconds),
    };
    if (params.resourceVersion) query['resourceVersion'] = params.resourceVersion;
    if (params.labelSelector) query['labelSelector'] = params.labelSelector;
    if (params.fieldSelector) query['fieldSelector'] = params.fieldSelector;
    // client-node cuts a stream that sends nothing for 30 s; that is a quiet watch, not a failure: resume at once.
    const done = (err: unknown): void =>
      onDone(err instanceof Error && err.name === 'TimeoutError' ? null : err);
    w.watch(resourcePath(ref, namespace), query, (type, obj) => onEvent(type, obj), done).then(
      (c) => {
        controller = c;
        if (closed) c.abort();
      },
      (e: unknown) => onDone(e),
    );
    return () => {
      closed = true;
      controller?.abort();
    };
  }
}

function nameOf(obj: KubeObject, verb: string): string {
  const name = obj.metadata?.name;
  if (!name)
    throw new CaravanError(ErrorCodes.KUBE_INVALID, `cannot ${verb} an object without metadata.name`);
  return name;
}

/** A `KubeApi` for a connection (in-cluster, kubeconfig or explicit), and the namespace the connection names. */
export function connectKube(
  c: KubeConnection,
  opts: ClientNodeKubeApiOptions = {},
): { api: ClientNodeKubeApi; namespace: string | undefined } {
  const { kc, namespace } = loadKubeConfig(c);
  return { api: new ClientNodeKubeApi(kc, opts), namespace };
}
