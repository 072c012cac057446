// An in-memory stand-in for a Kubernetes API server, for tests: real HTTP(S) on 127.0.0.1 (or a given address), the REST paths,
// verbs, status codes and Status bodies of the published API conventions, so the real client library can talk to
// it exactly as to a cluster. What it does and does not model is said in each file of this folder; what only a real
// cluster proves (RBAC escalation, admission, the real garbage collector, Service IPs and load balancers,
// EndpointSlices, scheduling, server-side apply, version skew) is listed in the tests that use it.

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { allowed, forbiddenMessage, ungranted, type Attributes, type Rule, type User } from './rbac.js';
import { jsonPatch, mergePatch, patchTypeOf } from './patch.js';
import { builtinTypes, typeFromCrd, VERBS, type ResourceType } from './resources.js';
import { fieldSelector, labelSelector, labelsOf } from './selectors.js';
import { ApiStatusError, badRequest, invalid, successStatus, type Json, type JsonObject } from './status.js';
import { meta, Store, typeKeyOf, type StoreOptions } from './store.js';
import { WatchStream } from './watch.js';

export interface KubeApiServerOptions extends StoreOptions {
  /** token → user. Requests without a known token answer 401. */
  tokens?: Record<string, User>;
  /** Serve HTTPS with this key and certificate (PEM; `ca` is the issuing CA clients should pin); HTTP otherwise. */
  tls?: { key: string; cert: string; ca?: string };
  /** Interval of BOOKMARK events on watches that allow them; 0 = only when `bookmark()` is called. Default 0. */
  bookmarkIntervalMs?: number;
  /** The address to listen on (default 127.0.0.1); the TLS certificate must name it. */
  host?: string;
}

export interface Fault {
  /** Which requests fail (default: all); `path` includes the query string. */
  match?: (method: string, path: string) => boolean;
  /** 'drop' destroys the connection without an answer; a number answers that status. */
  kind: 'drop' | number;
  /** How many matching requests fail (default 1). */
  count?: number;
}

interface Route {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string;
  subresource: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  user: string;
  code: number;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export class KubeApiServer {
  readonly store: Store;
  readonly tokens = new Map<string, User>();
  /** Every request answered, in order (for assertions on what a client did). */
  readonly requests: RequestRecord[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<WatchStream>();
  private readonly faults: Fault[] = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private portNumber = 0;

  constructor(private readonly opts: KubeApiServerOptions = {}) {
    this.store = new Store(opts);
    for (const t of builtinTypes()) this.store.addType(t);
    for (const [token, user] of Object.entries(opts.tokens ?? {})) this.tokens.set(token, user);
    this.store.onCrdDeleted = (crd) => {
      const t = this.crdType(crd);
      if (t) this.store.removeType(t);
    };
  }

  static async start(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const s = new KubeApiServer(opts);
    await s.listen();
    return s;
  }

  get port(): number {
    return this.portNumber;
  }

  /** The CA that issued the server certificate (HTTPS only). */
  get caPem(): string | undefined {
    return this.opts.tls?.ca;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.host}:${this.portNumber}`;
  }

  /** The address the server listens on. */
  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  /** Number of watch streams open now. */
  get watchCount(): number {
    return this.watches.size;
  }

  private async listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    const server = this.opts.tls
      ? createHttpsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler)
      : createHttpServer(handler);
    server.on(this.opts.tls ? 'secureConnection' : 'connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, this.host, () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
    if (this.opts.bookmarkIntervalMs)
      this.bookmarkTimer = setInterval(() => this.bookmark(), this.opts.bookmarkIntervalMs);
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
    for (const w of [...this.watches]) w.destroy();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- test hooks ----

  /**
   * Stops and starts the server on the same port: every connection and watch is cut. With `keepState: false` the
   * objects and the history are gone too (watchers resuming from an old resourceVersion get 410).
   */
  async restart(opts: { keepState: boolean }): Promise<void> {
    await this.close();
    if (!opts.keepState) this.store.wipe();
    await this.listen();
  }

  /** Makes the next matching request(s) fail. */
  injectFault(f: Fault): void {
    this.faults.push({ count: 1, ...f });
  }

  /** Cancels the faults not yet used up. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Sends a BOOKMARK to every watch that allows them. */
  bookmark(): void {
    for (const w of this.watches) w.bookmark();
  }

  /** Ends every watch stream cleanly, as a server does when their timeout passes. */
  endWatches(): void {
    for (const w of [...this.watches]) w.close();
  }

  /** Forgets the watch history: resuming from any resourceVersion so far answers 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  setHistoryLimit(n: number): void {
    this.store.historyLimit = n;
  }

  type(group: string, plural: string): ResourceType {
    const t = this.store.types.get(`${group}/${plural}`);
    if (!t) throw new Error(`no resource ${plural}.${group}`);
    return t;
  }

  /** The stored object (a copy), or undefined. */
  object(group: string, plural: string, namespace: string, name: string): JsonObject | undefined {
    const o = this.store.peek(this.type(group, plural), namespace, name);
    return o ? (JSON.parse(JSON.stringify(o)) as JsonObject) : undefined;
  }

  /** Writes directly, bypassing authentication (for fixtures): create, or replace keeping the stored status. */
  put(group: string, plural: string, obj: JsonObject): JsonObject {
    const t = this.type(group, plural);
    const md = meta(obj);
    const ns = String(md['namespace'] ?? '');
    const name = String(md['name']);
    const version = t.versions[0]!;
    const res = this.store.peek(t, ns, name)
      ? this.store.update(t, ns, name, obj, version, undefined, { requireResourceVersion: false })
      : this.store.create(t, ns, obj, version);
    if (typeKeyOf(t) === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(res);
    return res;
  }

  /** Merges `status` into an object's status (as a kubelet or controller would). */
  patchStatus(
    group: string,
    plural: string,
    namespace: string,
    name: string,
    status: JsonObject,
  ): JsonObject {
    const t = this.type(group, plural);
    return this.store.patch(t, namespace, name, 'merge', { status }, t.versions[0]!, 'status');
  }

  /** A pod Running with `podIP`, and its Ready condition True or False. */
  setPodReady(namespace: string, name: string, ready: boolean, podIP?: string): JsonObject {
    const cond = (type: string): JsonObject => ({
      type,
      status: ready ? 'True' : 'False',
      lastTransitionTime: new Date().toISOString(),
    });
    const pod = this.object('', 'pods', namespace, name);
    const ip = podIP ?? ((pod?.['status'] as JsonObject | undefined)?.['podIP'] as string | undefined);
    return this.patchStatus('', 'pods', namespace, name, {
      phase: 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      conditions: [
        cond('Initialized'),
        cond('ContainersReady'),
        cond('Ready'),
        { type: 'PodScheduled', status: 'True' },
      ],
    });
  }

  /** Sets status.loadBalancer.ingress of a Service (as a cloud load-balancer controller would). */
  setLoadBalancerIngress(
    namespace: string,
    name: string,
    ingress: Array<{ ip?: string; hostname?: string }>,
  ): JsonObject {
    return this.patchStatus('', 'services', namespace, name, { loadBalancer: { ingress: ingress as Json } });
  }

  /** Waits until the garbage collector has handled every delete so far. */
  settled(): Promise<void> {
    return this.store.settled();
  }

  // ---- request handling ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    let user: User | undefined;
    const fault = this.faults.find(
      (f) => (f.count ?? 1) > 0 && (!f.match || f.match(method, url.pathname + url.search)),
    );
    if (fault) {
      fault.count = (fault.count ?? 1) - 1;
      if (fault.count <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      this.requests.push({
        method,
        path: url.pathname,
        user: '',
        code: fault.kind === 'drop' ? 0 : fault.kind,
      });
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      this.sendStatus(
        res,
        new ApiStatusError(
          fault.kind,
          fault.kind === 503 ? 'ServiceUnavailable' : 'InternalError',
          'injected failure',
        ),
      );
      return;
    }
    let code = 200;
    try {
      const body = await readBody(req);
      user = this.authenticate(req, url.pathname);
      code = await this.dispatch(method, url, req, res, body, user);
    } catch (e) {
      const err =
        e instanceof ApiStatusError
          ? e
          : new ApiStatusError(500, 'InternalError', e instanceof Error ? e.message : String(e));
      code = err.code;
      this.sendStatus(res, err);
    }
    this.requests.push({ method, path: url.pathname + url.search, user: user?.name ?? '', code });
  }

  private authenticate(req: IncomingMessage, path: string): User | undefined {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const user = m ? this.tokens.get(m[1]!) : undefined;
    if (user) return user;
    if (['/version', '/healthz', '/readyz', '/livez'].includes(path)) return undefined;
    throw new ApiStatusError(401, 'Unauthorized', 'Unauthorized');
  }

  private sendJson(res: ServerResponse, code: number, body: Json): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendStatus(res: ServerResponse, err: ApiStatusError): void {
    this.sendJson(res, err.code, err.toStatus());
  }

  private async dispatch(
    method: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    raw: string,
    user: User | undefined,
  ): Promise<number> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const discovery = this.discovery(path);
    if (discovery !== undefined) {
      if (method !== 'GET')
        throw new ApiStatusError(
          405,
          'MethodNotAllowed',
          `the server does not allow this method on the requested resource`,
        );
      this.sendJson(res, 200, discovery);
      return 200;
    }
    if (!user) throw new ApiStatusError(401, 'Unauthorized', 'Unauthorized');
    const route = this.route(path);
    const q = url.searchParams;
    const isWatch =
      method === 'GET' && route.name === '' && (q.get('watch') === 'true' || q.get('watch') === '1');
    const verb = verbOf(method, route, isWatch);
    const attrs: Attributes = {
      verb,
      group: route.type.group,
      resource: route.type.plural,
      subresource: route.subresource,
      namespace: route.namespace ?? '',
      name: route.name,
    };
    const rbac = (group: string, plural: string): JsonObject[] =>
      this.store.list(this.type(group, plural), undefined);
    if (
      !allowed(
        user,
        attrs,
        rbac('rbac.authorization.k8s.io', 'roles'),
        rbac('rbac.authorization.k8s.io', 'rolebindings'),
      )
    )
      throw new ApiStatusError(403, 'Forbidden', forbiddenMessage(user, attrs), {
        ...(route.name ? { name: route.name } : {}),
        group: route.type.group,
        kind: route.type.plural,
      });
    const body = (): Json => {
      try {
        return JSON.parse(raw) as Json;
      } catch {
        throw badRequest('the request body is not valid JSON');
      }
    };
    const { type: t, version } = route;
    const ns = route.namespace ?? '';
    if (t.group === 'rbac.authorization.k8s.io' && ['create', 'update', 'patch'].includes(verb)) {
      let next: Json = body();
      if (verb === 'patch') {
        const old = this.store.get(t, ns, route.name);
        next =
          patchTypeOf(req.headers['content-type']) === 'json' ? jsonPatch(old, next) : mergePatch(old, next);
      }
      this.checkEscalation(user, t, ns, isObject(next) ? next : {});
    }
    if (route.subresource !== '' && route.subresource !== 'status')
      throw new ApiStatusError(
        404,
        'NotFound',
        `the server could not find the requested resource (${route.subresource})`,
      );
    if (route.subresource === 'status' && !t.statusSubresource)
      throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    const sub = route.subresource === 'status' ? 'status' : undefined;
    const output = (o: JsonObject): JsonObject => withVersion(o, t, version);
    switch (verb) {
      case 'watch': {
        const labels = labelSelector(q.get('labelSelector') ?? undefined);
        const fields = fieldSelector(q.get('fieldSelector') ?? undefined, [
          'metadata.name',
          'metadata.namespace',
          ...t.selectableFields,
        ]);
        const timeout = q.get('timeoutSeconds');
        const rv = q.get('resourceVersion') ?? undefined;
        if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv))
          throw badRequest(`invalid resource version: ${rv}`);
        const w = new WatchStream(
          this.store,
          res,
          {
            type: t,
            version,
            namespace: route.namespace,
            filter: (o) => labels(labelsOf(o)) && fields(o),
            resourceVersion: rv,
            bookmarks: q.get('allowWatchBookmarks') === 'true',
            timeoutMs: timeout !== null ? Number(timeout) * 1000 : undefined,
          },
          (s) => this.watches.delete(s),
        );
        this.watches.add(w);
        w.start();
        return 200;
      }
      case 'list': {
        const labels = labelSelector(q.get('labelSelector') ?? undefined);
        const fields = fieldSelector(q.get('fieldSelector') ?? undefined, [
          'metadata.name',
          'metadata.namespace',
          ...t.selectableFields,
        ]);
        const rv = q.get('resourceVersion');
        if (q.get('resourceVersionMatch') === 'Exact' && rv !== String(this.store.rv))
          throw new ApiStatusError(
            410,
            'Expired',
            `the stand-in serves only the latest resourceVersion (${this.store.rv}) for Exact lists`,
          );
        if (rv !== null && rv !== '' && Number(rv) > this.store.rv)
          throw new ApiStatusError(
            504,
            'Timeout',
            `Too large resource version: ${rv}, current: ${this.store.rv}`,
          );
        const items = this.store
          .list(t, route.namespace)
          .filter((o) => labels(labelsOf(o)) && fields(o))
          .map((o) => {
            // Items of built-in kinds carry no apiVersion/kind in a list; custom resources do.
            if (t.custom) return output(o);
            const { apiVersion: _a, kind: _k, ...rest } = o;
            return rest as JsonObject;
          });
        this.sendJson(res, 200, {
          kind: `${t.kind}List`,
          apiVersion: t.group ? `${t.group}/${version}` : version,
          metadata: { resourceVersion: String(this.store.rv) },
          items,
        });
        return 200;
      }
      case 'get':
        this.sendJson(res, 200, output(this.store.get(t, ns, route.name)));
        return 200;
      case 'create': {
        const created = this.store.create(t, ns, body(), version);
        if (typeKeyOf(t) === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(created);
        this.sendJson(res, 201, output(created));
        return 201;
      }
      case 'update': {
        const updated = this.store.update(t, ns, route.name, body(), version, sub);
        if (typeKeyOf(t) === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(updated);
        this.sendJson(res, 200, output(updated));
        return 200;
      }
      case 'patch': {
        const patched = this.store.patch(
          t,
          ns,
          route.name,
          patchTypeOf(req.headers['content-type']),
          body(),
          version,
          sub,
        );
        if (typeKeyOf(t) === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(patched);
        this.sendJson(res, 200, output(patched));
        return 200;
      }
      case 'delete': {
        const opts = raw.trim() ? body() : {};
        const o = isObject(opts) ? opts : {};
        const pre = isObject(o['preconditions'])
          ? (o['preconditions'] as { uid?: string; resourceVersion?: string })
          : undefined;
        const policy =
          q.get('propagationPolicy') ??
          (typeof o['propagationPolicy'] === 'string' ? o['propagationPolicy'] : undefined) ??
          undefined;
        const gone = this.store.delete(t, ns, route.name, {
          ...(policy ? { propagationPolicy: policy } : {}),
          ...(pre ? { preconditions: pre } : {}),
        });
        this.sendJson(res, 200, output(gone));
        return 200;
      }
      case 'deletecollection': {
        const labels = labelSelector(q.get('labelSelector') ?? undefined);
        for (const o of this.store.list(t, route.namespace).filter((x) => labels(labelsOf(x)))) {
          const md = meta(o);
          this.store.delete(t, String(md['namespace'] ?? ''), String(md['name']));
        }
        this.sendJson(res, 200, successStatus({ group: t.group, kind: t.plural }));
        return 200;
      }
      default:
        throw new ApiStatusError(405, 'MethodNotAllowed', `${method} is not supported here`);
    }
  }

  /** Refuses a Role or RoleBinding that would grant `user` more than it holds (see rbac.ts). */
  private checkEscalation(user: User, t: ResourceType, ns: string, obj: JsonObject): void {
    const roles = this.store.list(this.type('rbac.authorization.k8s.io', 'roles'), undefined);
    const bindings = this.store.list(this.type('rbac.authorization.k8s.io', 'rolebindings'), undefined);
    const name = String((obj['metadata'] as JsonObject | undefined)?.['name'] ?? '');
    const holds = (verb: string, roleName: string): boolean =>
      allowed(
        user,
        {
          verb,
          group: 'rbac.authorization.k8s.io',
          resource: 'roles',
          subresource: '',
          namespace: ns,
          name: roleName,
        },
        roles,
        bindings,
      );
    let rules: Rule[];
    if (t.plural === 'roles') {
      if (holds('escalate', name)) return;
      rules = Array.isArray(obj['rules']) ? (obj['rules'] as Rule[]) : [];
    } else {
      const ref = (obj['roleRef'] ?? {}) as JsonObject;
      const roleName = String(ref['name'] ?? '');
      if (holds('bind', roleName)) return;
      const role = this.store.peek(this.type('rbac.authorization.k8s.io', 'roles'), ns, roleName);
      if (ref['kind'] !== 'Role' || !role)
        throw new ApiStatusError(
          403,
          'Forbidden',
          `${t.plural}.${t.group} "${name}" is forbidden: the stand-in binds only existing Roles of the namespace`,
        );
      rules = Array.isArray(role['rules']) ? (role['rules'] as Rule[]) : [];
    }
    const missing = ungranted(user, ns, rules, roles, bindings);
    if (missing.length)
      throw new ApiStatusError(
        403,
        'Forbidden',
        `${t.plural}.${t.group} "${name}" is forbidden: user "${user.name}" is attempting to grant RBAC permissions not currently held:\n${missing.join('\n')}`,
        { name, group: t.group, kind: t.plural },
      );
  }

  private crdType(crd: JsonObject): ResourceType | undefined {
    const spec = crd['spec'] as JsonObject | undefined;
    const names = spec?.['names'] as JsonObject | undefined;
    return this.store.types.get(`${String(spec?.['group'])}/${String(names?.['plural'])}`);
  }

  /** A stored CRD becomes a served kind (its status reports Established, as the apiextensions controller does). */
  private registerCrd(crd: JsonObject): void {
    let t: ResourceType;
    try {
      t = typeFromCrd(crd as { metadata?: { name?: string } });
    } catch (e) {
      const name = String(meta(crd)['name']);
      this.store.delete(this.type('apiextensions.k8s.io', 'customresourcedefinitions'), '', name);
      throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', name, [
        { reason: 'FieldValueInvalid', message: e instanceof Error ? e.message : String(e) },
      ]);
    }
    const known = this.store.types.get(typeKeyOf(t));
    if (known && !known.custom) throw badRequest(`${t.plural}.${t.group} is a built-in resource`);
    this.store.addType(t);
    const spec = crd['spec'] as JsonObject;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status = {
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: now,
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: now,
        },
      ],
      acceptedNames: spec['names'] ?? {},
      storedVersions: t.versions.slice(0, 1),
    };
    const crdType = this.type('apiextensions.k8s.io', 'customresourcedefinitions');
    this.store.patch(crdType, '', String(meta(crd)['name']), 'merge', { status }, 'v1', 'status');
  }

  private route(path: string): Route {
    const segs = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
    const [plural, name = '', subresource = '', ...extra] = rest;
    const type = this.store.types.get(`${group}/${plural}`);
    if (!type || !type.versions.includes(version) || extra.length > 0)
      throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (namespace !== undefined && !type.namespaced)
      throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (namespace === undefined && type.namespaced && name !== '')
      throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    return { type, version, namespace, name, subresource };
  }

  private apiResources(group: string, version: string): JsonObject | undefined {
    const types = [...this.store.types.values()].filter(
      (t) => t.group === group && t.versions.includes(version),
    );
    if (types.length === 0) return undefined;
    const resources: Json[] = [];
    for (const t of types) {
      resources.push({
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
        ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
      });
      if (t.statusSubresource)
        resources.push({
          name: `${t.plural}/status`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }

  private groups(): Map<string, string[]> {
    const g = new Map<string, string[]>();
    for (const t of this.store.types.values())
      if (t.group !== '') g.set(t.group, [...new Set([...(g.get(t.group) ?? []), ...t.versions])]);
    return g;
  }

  private discovery(path: string): Json | undefined {
    if (path === '/version')
      return { major: '1', minor: '34', gitVersion: 'v1.34.0-caravan-standin', platform: 'linux/amd64' };
    if (path === '/healthz' || path === '/readyz' || path === '/livez') return 'ok';
    if (path === '/api')
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.portNumber}` },
        ],
      };
    if (path === '/api/v1') return this.apiResources('', 'v1');
    const group = (name: string, versions: string[]): JsonObject => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0]! },
    });
    if (path === '/apis')
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...this.groups()].map(([n, v]) => group(n, v)),
      };
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const versions = this.groups().get(m[1]!);
      if (!versions) return undefined;
      if (m[2] === undefined) return { kind: 'APIGroup', apiVersion: 'v1', ...group(m[1]!, versions) };
      return this.apiResources(m[1]!, m[2]);
    }
    return undefined;
  }
}

function verbOf(method: string, r: Route, watch: boolean): string {
  const collection = r.name === '';
  switch (method) {
    case 'GET':
      return watch ? 'watch' : collection ? 'list' : 'get';
    case 'POST':
      if (!collection)
        throw new ApiStatusError(405, 'MethodNotAllowed', 'POST is allowed on collections only');
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      throw new ApiStatusError(405, 'MethodNotAllowed', `${method} is not supported`);
  }
}

function withVersion(o: JsonObject, t: ResourceType, version: string): JsonObject {
  return { ...o, apiVersion: t.group ? `${t.group}/${version}` : version, kind: t.kind };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
