/**
 * Resource validation: checks a parsed document against the schema of its kind, rejects unknown fields and bad
 * values (collecting every problem, each naming its field path) and returns the typed resource with defaults
 * applied. Pure: no I/O.
 */
import { isIP } from 'node:net';
import { tryParseDuration, DURATION_SYNTAX } from './duration.js';
import { ResourceError, type ResourceIssue } from './errors.js';
import {
  AFFINITIES,
  API_VERSION,
  CONDITION_STATUSES,
  DEFAULTS,
  DISTRIBUTIONS,
  KINDS,
  NAME_PATTERN,
  ROUTING_KEY_PATTERN,
  SERVICE_TYPES,
  SITE_MODES,
  defaultLinkTls,
  type AccessGrantResource,
  type AccessGrantStatus,
  type AccessTokenResource,
  type Condition,
  type ConnectorResource,
  type ConnectorTls,
  type HostPort,
  type Kind,
  type LinkResource,
  type ListenerKeys,
  type ListenerResource,
  type ListenerUser,
  type ListenerTls,
  type ObjectMeta,
  type Resource,
  type ResourceStatus,
  type SiteResource,
  type SiteSpec,
  type TlsFiles,
} from './types.js';

type Obj = Record<string, unknown>;

const ROUTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const LABEL_KEY_PATTERN =
  /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const MAX_INT32 = 2 ** 31 - 1;

/** Describes a value for `(got ...)` in messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** Optimal string alignment distance (edits and adjacent transpositions), case-insensitive. */
function editDistance(x: string, y: string): number {
  const a = x.toLowerCase();
  const b = y.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3))
    ? `; did you mean "${best}"?`
    : '';
}

/** Collects issues while walking a document. */
class Checker {
  readonly issues: ResourceIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** `value` must be a mapping with only `known` keys. Null/undefined → undefined (absent) unless required. */
  object(value: unknown, path: string, known: readonly string[], required = false): Obj | undefined {
    if (value === undefined || value === null) {
      if (required) this.add(path, 'is required');
      return undefined;
    }
    if (!isPlainObject(value)) {
      this.add(path, `must be a mapping (got ${describeValue(value)})`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        const knownList = known.length
          ? ` (known fields: ${known.join(', ')})`
          : ' (no fields are allowed here)';
        this.add(joinPath(path, key), `unknown field${suggestion(key, known)}${knownList}`);
      }
    }
    return value;
  }

  string(
    o: Obj | undefined,
    key: string,
    path: string,
    opts: {
      default?: string;
      required?: boolean;
      pattern?: RegExp;
      patternHelp?: string;
      maxLength?: number;
    } = {},
  ): string | undefined {
    const p = joinPath(path, key);
    const v = o?.[key];
    if (v === undefined || v === null) {
      if (opts.required) this.add(p, 'is required');
      return opts.default;
    }
    if (typeof v !== 'string') {
      this.add(p, `must be a string (got ${describeValue(v)})`);
      return opts.default;
    }
    if (v.length === 0) {
      this.add(p, 'must not be empty');
      return opts.default;
    }
    if (opts.maxLength !== undefined && v.length > opts.maxLength) {
      this.add(p, `must be at most ${opts.maxLength} characters (got ${v.length})`);
      return opts.default;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      this.add(p, `${opts.patternHelp ?? `must match ${opts.pattern.source}`} (got ${describeValue(v)})`);
      return opts.default;
    }
    return v;
  }

  integer(
    o: Obj | undefined,
    key: string,
    path: string,
    opts: { min: number; max: number; default?: number; required?: boolean },
  ): number | undefined {
    const p = joinPath(path, key);
    const v = o?.[key];
    if (v === undefined || v === null) {
      if (opts.required) this.add(p, 'is required');
      return opts.default;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < opts.min || v > opts.max) {
      const range = opts.max >= Number.MAX_SAFE_INTEGER ? `>= ${opts.min}` : `${opts.min}-${opts.max}`;
      this.add(p, `must be an integer ${range} (got ${describeValue(v)})`);
      return opts.default;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj | undefined, key: string, path: string, values: readonly T[], def: T): T;
  oneOf<T extends string>(o: Obj | undefined, key: string, path: string, values: readonly T[]): T | undefined;
  oneOf<T extends string>(
    o: Obj | undefined,
    key: string,
    path: string,
    values: readonly T[],
    def?: T,
  ): T | undefined {
    const p = joinPath(path, key);
    const v = o?.[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.add(p, 'is required');
      return def;
    }
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.add(p, `must be one of: ${values.join(', ')} (got ${describeValue(v)})`);
      return def;
    }
    return v as T;
  }

  host(o: Obj | undefined, key: string, path: string, def?: string): string | undefined {
    return this.string(o, key, path, {
      default: def,
      required: def === undefined,
      maxLength: 253,
      pattern: /^[^\s/]+$/,
      patternHelp: 'must be a host name or IP address (no spaces, scheme or path)',
    });
  }
}

// --- pieces shared by several kinds ---------------------------------------------------------------------------

function checkTls(c: Checker, value: unknown, path: string, defaults: TlsFiles): TlsFiles {
  const o = c.object(value, path, ['ca', 'cert', 'key']);
  return {
    ca: c.string(o, 'ca', path, { default: defaults.ca }) ?? defaults.ca,
    cert: c.string(o, 'cert', path, { default: defaults.cert }) ?? defaults.cert,
    key: c.string(o, 'key', path, { default: defaults.key }) ?? defaults.key,
  };
}

function checkMetadata(c: Checker, value: unknown): ObjectMeta {
  const o = c.object(value, 'metadata', ['name', 'labels', 'generation'], true);
  const name =
    c.string(o, 'name', 'metadata', {
      required: o !== undefined,
      pattern: NAME_PATTERN,
      patternHelp:
        "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
    }) ?? '';
  const meta: ObjectMeta = { name };
  const generation = c.integer(o, 'generation', 'metadata', { min: 1, max: Number.MAX_SAFE_INTEGER });
  if (generation !== undefined) meta.generation = generation;
  const labels = o?.['labels'];
  if (labels !== undefined && labels !== null && !isPlainObject(labels)) {
    c.add('metadata.labels', `must be a mapping of strings (got ${describeValue(labels)})`);
  } else if (labels) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
      const p = `metadata.labels.${k}`;
      if (!LABEL_KEY_PATTERN.test(k)) {
        c.add(
          p,
          'invalid label key: an optional DNS prefix and "/", then at most 63 letters, digits, ".", "_" or "-"',
        );
      } else if (typeof v !== 'string') {
        c.add(p, `label values must be strings (got ${describeValue(v)}); quote it`);
      } else if (!LABEL_VALUE_PATTERN.test(v)) {
        c.add(
          p,
          `invalid label value: at most 63 letters, digits, ".", "_" or "-" (got ${describeValue(v)})`,
        );
      } else {
        out[k] = v;
      }
    }
    meta.labels = out;
  }
  return meta;
}

function checkConditions(c: Checker, value: unknown, path: string): Condition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    c.add(path, `must be a list (got ${describeValue(value)})`);
    return undefined;
  }
  const out: Condition[] = [];
  value.forEach((item, i) => {
    const p = joinPath(path, i);
    const o = c.object(
      item,
      p,
      ['type', 'status', 'reason', 'message', 'observedGeneration', 'lastTransitionTime'],
      true,
    );
    if (!o) return;
    const type = c.string(o, 'type', p, { required: true });
    const status = c.oneOf(o, 'status', p, CONDITION_STATUSES);
    const cond: Condition = { type: type ?? '', status: status ?? 'Unknown' };
    const reason = c.string(o, 'reason', p);
    if (reason !== undefined) cond.reason = reason;
    const v = o['message'];
    if (v !== undefined && v !== null) {
      if (typeof v !== 'string') c.add(joinPath(p, 'message'), `must be a string (got ${describeValue(v)})`);
      else cond.message = v;
    }
    const gen = c.integer(o, 'observedGeneration', p, { min: 0, max: Number.MAX_SAFE_INTEGER });
    if (gen !== undefined) cond.observedGeneration = gen;
    const t = c.string(o, 'lastTransitionTime', p);
    if (t !== undefined) {
      if (Number.isNaN(Date.parse(t))) {
        c.add(joinPath(p, 'lastTransitionTime'), `must be an RFC 3339 time (got ${describeValue(t)})`);
      } else cond.lastTransitionTime = t;
    }
    out.push(cond);
  });
  return out;
}

function checkStatus(
  c: Checker,
  value: unknown,
  extra: readonly string[] = [],
): { o?: Obj; status?: ResourceStatus } {
  const o = c.object(value, 'status', ['conditions', ...extra]);
  if (!o) return {};
  const status: ResourceStatus = {};
  const conditions = checkConditions(c, o['conditions'], 'status.conditions');
  if (conditions) status.conditions = conditions;
  return { o, status };
}

function checkEndpoint(c: Checker, value: unknown, path: string): HostPort | undefined {
  const o = c.object(value, path, ['host', 'port'], true);
  if (!o) return undefined;
  const host = c.host(o, 'host', path);
  const port = c.integer(o, 'port', path, { min: 1, max: 65535, required: true });
  return host !== undefined && port !== undefined ? { host, port } : undefined;
}

// --- kinds ----------------------------------------------------------------------------------------------------

function checkSite(c: Checker, meta: ObjectMeta, specValue: unknown, statusValue: unknown): SiteResource {
  const s = c.object(specValue, 'spec', [
    'mode',
    'routerId',
    'linkAccess',
    'routing',
    'admin',
    'tls',
    'console',
    'observe',
  ]);
  const mode = c.oneOf(s, 'mode', 'spec', SITE_MODES, 'interior');
  const routerId = c.string(s, 'routerId', 'spec', {
    pattern: ROUTER_ID_PATTERN,
    patternHelp: 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  });

  const routingObj = c.object(s?.['routing'], 'spec.routing', ['helloIntervalMs', 'deadIntervalMs']);
  const hello =
    c.integer(routingObj, 'helloIntervalMs', 'spec.routing', {
      min: DEFAULTS.minHelloIntervalMs,
      max: MAX_INT32,
      default: DEFAULTS.helloIntervalMs,
    }) ?? DEFAULTS.helloIntervalMs;
  const deadDefault = hello * DEFAULTS.deadIntervalHellos;
  let dead =
    c.integer(routingObj, 'deadIntervalMs', 'spec.routing', {
      min: 1,
      max: MAX_INT32,
      default: deadDefault,
    }) ?? deadDefault;
  if (dead <= hello) {
    c.add('spec.routing.deadIntervalMs', `must be greater than helloIntervalMs (${hello}) (got ${dead})`);
    dead = deadDefault;
  }
  const spec = { mode } as SiteSpec;
  if (routerId !== undefined) spec.routerId = routerId;

  const la = s?.['linkAccess'];
  if (la !== undefined && la !== null) {
    if (mode === 'edge') {
      c.add(
        'spec.linkAccess',
        'only interior sites accept links; remove linkAccess or set spec.mode to interior',
      );
    }
    const o = c.object(la, 'spec.linkAccess', ['host', 'port', 'grantPort', 'hosts']);
    if (o) {
      spec.linkAccess = {
        host: c.host(o, 'host', 'spec.linkAccess', DEFAULTS.linkAccessHost) ?? DEFAULTS.linkAccessHost,
        port:
          c.integer(o, 'port', 'spec.linkAccess', { min: 0, max: 65535, default: DEFAULTS.linkAccessPort }) ??
          DEFAULTS.linkAccessPort,
        grantPort:
          c.integer(o, 'grantPort', 'spec.linkAccess', { min: 0, max: 65535, default: DEFAULTS.grantPort }) ??
          DEFAULTS.grantPort,
      };
      if (spec.linkAccess.port !== 0 && spec.linkAccess.port === spec.linkAccess.grantPort) {
        c.add(
          'spec.linkAccess.grantPort',
          `must differ from spec.linkAccess.port (both ${spec.linkAccess.port})`,
        );
      }
      const hosts = o['hosts'];
      if (hosts !== undefined && hosts !== null) {
        if (!Array.isArray(hosts) || hosts.length === 0) {
          c.add(
            'spec.linkAccess.hosts',
            `must be a non-empty list of host names or addresses (got ${describeValue(hosts)})`,
          );
        } else {
          const list: string[] = [];
          hosts.forEach((v: unknown, i) => {
            const key = `hosts[${i}]`;
            const h = c.host({ [key]: v }, key, 'spec.linkAccess');
            if (h !== undefined) list.push(h);
          });
          spec.linkAccess.hosts = list;
        }
      }
    }
  }

  spec.routing = { helloIntervalMs: hello, deadIntervalMs: dead };
  const admin = c.object(s?.['admin'], 'spec.admin', ['socket']);
  if (admin) {
    spec.admin = {};
    const socket = c.string(admin, 'socket', 'spec.admin');
    if (socket !== undefined) spec.admin.socket = socket;
  }

  const con = c.object(s?.['console'], 'spec.console', ['host', 'port', 'username', 'password']);
  if (con) {
    spec.console = {
      host: c.host(con, 'host', 'spec.console', '127.0.0.1') ?? '127.0.0.1',
      port: c.integer(con, 'port', 'spec.console', { min: 0, max: 65535, default: 0 }) ?? 0,
    };
    const username = c.string(con, 'username', 'spec.console');
    const password = c.string(con, 'password', 'spec.console');
    if (username !== undefined) spec.console.username = username;
    if (password !== undefined) spec.console.password = password;
    if (username !== undefined && password === undefined)
      c.add('spec.console.password', 'is required when spec.console.username is set');
  }
  const obs = c.object(s?.['observe'], 'spec.observe', ['flowRecords', 'flowLog']);
  if (obs) {
    spec.observe = {};
    const n = c.integer(obs, 'flowRecords', 'spec.observe', { min: 1, max: 10_000_000 });
    if (n !== undefined) spec.observe.flowRecords = n;
    const log = obs['flowLog'];
    if (log !== undefined && log !== null) {
      if (typeof log !== 'boolean')
        c.add('spec.observe.flowLog', `must be true or false (got ${describeValue(log)})`);
      else spec.observe.flowLog = log;
    }
  }

  const tls = s?.['tls'];
  if ((tls !== undefined && tls !== null) || spec.linkAccess) {
    spec.tls = checkTls(c, tls, 'spec.tls', DEFAULTS.siteTls);
  }

  const res: SiteResource = { apiVersion: API_VERSION, kind: 'Site', metadata: meta, spec };
  const { status } = checkStatus(c, statusValue);
  if (status) res.status = status;
  return res;
}

/** `http://[user[:password]@]host[:port]`, nothing else (the link's own TLS runs through the tunnel). */
function checkProxyUrl(c: Checker, v: string): void {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    c.add('spec.proxy', `must be a URL like http://proxy.example:3128 (got ${describeValue(v)})`);
    return;
  }
  if (u.protocol !== 'http:') c.add('spec.proxy', `must be an http:// proxy URL (got ${u.protocol}//)`);
  else if (!u.hostname) c.add('spec.proxy', 'must name the proxy host');
  else if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    c.add('spec.proxy', 'must be http://[user:password@]host[:port] without a path');
}

function checkLink(c: Checker, meta: ObjectMeta, specValue: unknown, statusValue: unknown): LinkResource {
  const s = c.object(specValue, 'spec', ['endpoints', 'cost', 'tls', 'proxy'], true);
  const endpoints: HostPort[] = [];
  const eps = s?.['endpoints'];
  if (s) {
    if (eps === undefined || eps === null) c.add('spec.endpoints', 'is required (a list of {host, port})');
    else if (!Array.isArray(eps))
      c.add('spec.endpoints', `must be a list of {host, port} (got ${describeValue(eps)})`);
    else if (eps.length === 0) c.add('spec.endpoints', 'must list at least one endpoint');
    else
      eps.forEach((e, i) => {
        const ep = checkEndpoint(c, e, `spec.endpoints[${i}]`);
        if (ep) endpoints.push(ep);
      });
  }
  const cost =
    c.integer(s, 'cost', 'spec', { min: 1, max: DEFAULTS.maxCost, default: DEFAULTS.linkCost }) ??
    DEFAULTS.linkCost;
  const tls = checkTls(c, s?.['tls'], 'spec.tls', defaultLinkTls(meta.name));
  const proxy = c.string(s, 'proxy', 'spec', { maxLength: 2048 });
  if (proxy !== undefined) checkProxyUrl(c, proxy);
  const res: LinkResource = {
    apiVersion: API_VERSION,
    kind: 'Link',
    metadata: meta,
    spec: { endpoints, cost, tls, ...(proxy !== undefined ? { proxy } : {}) },
  };
  const { status } = checkStatus(c, statusValue);
  if (status) res.status = status;
  return res;
}

const ROUTING_KEY_HELP =
  'must be a routing key: 1-252 letters, digits, ".", "_" or "-", starting with a letter or digit (a service name, never a host:port)';

function checkListener(
  c: Checker,
  meta: ObjectMeta,
  specValue: unknown,
  statusValue: unknown,
): ListenerResource {
  const s = c.object(
    specValue,
    'spec',
    [
      'routingKey',
      'host',
      'port',
      'type',
      'distribution',
      'affinity',
      'earlyData',
      'allow',
      'priority',
      'weighted',
      'multicast',
      'users',
      ...ADAPTER_OPTIONS.filter((o) => o !== 'targets'),
    ],
    true,
  );
  const keys = checkKeyStrategy(c, s);
  const primary = keys?.keys[0]?.routingKey;
  const routingKey =
    c.string(s, 'routingKey', 'spec', {
      default: primary ?? meta.name,
      pattern: ROUTING_KEY_PATTERN,
      patternHelp: ROUTING_KEY_HELP,
    }) ?? meta.name;
  if (primary !== undefined && routingKey !== primary)
    c.add(
      'spec.routingKey',
      `leave it out with ${keys?.strategy}: the listener's routing key is then its first key, '${primary}'`,
    );
  const host = c.host(s, 'host', 'spec', DEFAULTS.listenerHost) ?? DEFAULTS.listenerHost;
  const port = s ? (c.integer(s, 'port', 'spec', { min: 1, max: 65535, required: true }) ?? 0) : 0;
  const type = c.oneOf(s, 'type', 'spec', SERVICE_TYPES, DEFAULTS.serviceType);
  const distribution = c.oneOf(s, 'distribution', 'spec', DISTRIBUTIONS, DEFAULTS.distribution);
  const res: ListenerResource = {
    apiVersion: API_VERSION,
    kind: 'Listener',
    metadata: meta,
    spec: { routingKey, host, port, type, distribution },
  };
  if (keys) {
    if (type !== 'tcp' && type !== 'http1' && type !== 'http2')
      c.add(`spec.${keys.strategy}`, `applies only to types tcp, http1 and http2 (this one is ${type})`);
    else if (keys.strategy === 'priority') res.spec.priority = keys.keys.map((k) => k.routingKey);
    else res.spec.weighted = Object.fromEntries(keys.keys.map((k) => [k.routingKey, k.weight]));
    for (const f of ['affinity', 'earlyData'] as const)
      if (s?.[f] != null)
        c.add(`spec.${f}`, `applies only to a listener with one routing key (not with ${keys.strategy})`);
  }
  const multicast = checkMulticast(c, s?.['multicast'], type, routingKey);
  if (multicast) res.spec.multicast = multicast;
  const users = checkUsers(c, s?.['users'], type);
  if (users) res.spec.users = users;
  const affinity = s?.['affinity'] == null ? undefined : c.oneOf(s, 'affinity', 'spec', AFFINITIES);
  if (affinity !== undefined && type === 'amqp')
    c.add('spec.affinity', 'does not apply to type amqp (messages, not connections, are routed)');
  else if (affinity !== undefined && !keys) res.spec.affinity = affinity;
  const early = s?.['earlyData'];
  if (early !== undefined && early !== null && !keys) {
    if (type !== 'tcp') c.add('spec.earlyData', `applies only to type tcp (this one is ${type})`);
    else if (typeof early !== 'boolean')
      c.add('spec.earlyData', `must be true or false (got ${describeValue(early)})`);
    else res.spec.earlyData = early;
  }
  const allow = checkAllow(c, s?.['allow']);
  if (allow) res.spec.allow = allow;
  Object.assign(res.spec, checkAdapterOptions(c, s, type));
  const ltls = checkListenerTls(c, s, type);
  if (ltls) res.spec.tls = ltls;
  const { status } = checkStatus(c, statusValue);
  if (status) res.status = status;
  return res;
}

function checkConnector(
  c: Checker,
  meta: ObjectMeta,
  specValue: unknown,
  statusValue: unknown,
): ConnectorResource {
  const s = c.object(
    specValue,
    'spec',
    ['routingKey', 'host', 'port', 'type', 'address', 'username', 'passwordFile', ...ADAPTER_OPTIONS],
    true,
  );
  const routingKey =
    c.string(s, 'routingKey', 'spec', {
      default: meta.name,
      pattern: ROUTING_KEY_PATTERN,
      patternHelp: ROUTING_KEY_HELP,
    }) ?? meta.name;
  const targets = checkTargets(c, s);
  const first = targets?.[0];
  const host = c.host(s, 'host', 'spec', first?.host ?? DEFAULTS.connectorHost) ?? DEFAULTS.connectorHost;
  const port = s
    ? (c.integer(s, 'port', 'spec', { min: 1, max: 65535, required: !targets, default: first?.port }) ?? 0)
    : 0;
  if (first && (host !== first.host || port !== first.port)) {
    c.add(
      'spec.targets',
      `use either host/port or targets (host/port may only repeat the first target, ${first.host}:${first.port})`,
    );
  }
  const type = c.oneOf(s, 'type', 'spec', SERVICE_TYPES, DEFAULTS.serviceType);
  if (type === 'amqp' && targets)
    c.add(
      'spec.targets',
      'an amqp connector reaches one broker: give host and port (a broker cluster behind one address)',
    );
  const address = c.string(s, 'address', 'spec', { maxLength: 1024 });
  if (address !== undefined && type !== 'amqp')
    c.add('spec.address', `applies only to type amqp (this one is ${type})`);
  const res: ConnectorResource = {
    apiVersion: API_VERSION,
    kind: 'Connector',
    metadata: meta,
    spec: { routingKey, host, port, type },
  };
  if (targets) res.spec.targets = targets;
  if (address !== undefined && type === 'amqp') res.spec.address = address;
  const username = c.string(s, 'username', 'spec', { maxLength: 256 });
  const passwordFile = c.string(s, 'passwordFile', 'spec', { maxLength: 4096 });
  if ((username !== undefined || passwordFile !== undefined) && type !== 'amqp')
    c.add(
      username !== undefined ? 'spec.username' : 'spec.passwordFile',
      `applies only to type amqp (this one is ${type})`,
    );
  else if ((username === undefined) !== (passwordFile === undefined))
    c.add(
      username === undefined ? 'spec.username' : 'spec.passwordFile',
      'give username and passwordFile together',
    );
  else if (username !== undefined && passwordFile !== undefined) {
    res.spec.username = username;
    res.spec.passwordFile = passwordFile;
  }
  Object.assign(res.spec, checkAdapterOptions(c, s, type));
  const ctls = checkConnectorTls(c, s, type);
  if (ctls) res.spec.tls = ctls;
  const { status } = checkStatus(c, statusValue);
  if (status) res.status = status;
  return res;
}

/** Protocol-specific Listener/Connector options (udp: idleTimeoutMs, maxSessions; http1: forwardedFor). */
const ADAPTER_OPTIONS = ['targets', 'idleTimeoutMs', 'maxSessions', 'forwardedFor', 'tls'] as const;

function checkAdapterOptions(
  c: Checker,
  s: Obj | undefined,
  type: string,
): { idleTimeoutMs?: number; maxSessions?: number; forwardedFor?: boolean } {
  const out: { idleTimeoutMs?: number; maxSessions?: number; forwardedFor?: boolean } = {};
  const only = (key: string, t: string): boolean => {
    if (s?.[key] === undefined || s[key] === null) return false;
    if (type !== t) {
      c.add(`spec.${key}`, `applies only to type ${t} (this one is ${type})`);
      return false;
    }
    return true;
  };
  if (only('idleTimeoutMs', 'udp')) {
    const v = c.integer(s, 'idleTimeoutMs', 'spec', { min: 100, max: MAX_INT32 });
    if (v !== undefined) out.idleTimeoutMs = v;
  }
  if (only('maxSessions', 'udp')) {
    const v = c.integer(s, 'maxSessions', 'spec', { min: 1, max: 1_000_000 });
    if (v !== undefined) out.maxSessions = v;
  }
  if (only('forwardedFor', 'http1')) {
    const v = s?.['forwardedFor'];
    if (typeof v !== 'boolean') c.add('spec.forwardedFor', `must be true or false (got ${describeValue(v)})`);
    else out.forwardedFor = v;
  }
  return out;
}

/** At most this many routing keys behind one listener (`priority` / `weighted`). */
const MAX_LISTENER_KEYS = 16;
/** Largest weight of a key in `weighted`. */
const MAX_KEY_WEIGHT = 1000;

function checkRoutingKeyText(c: Checker, path: string, v: unknown): string | undefined {
  if (typeof v !== 'string' || !ROUTING_KEY_PATTERN.test(v)) {
    c.add(path, `${ROUTING_KEY_HELP} (got ${describeValue(v)})`);
    return undefined;
  }
  return v;
}

/**
 * `priority: [a, b]` (each connection goes to the first key with a reachable connector) or `weighted: {a: 3, b: 1}`
 * (connections are shared among the keys in proportion to their weights): several routing keys behind one listener.
 */
function checkKeyStrategy(c: Checker, s: Obj | undefined): ListenerKeys | undefined {
  const pv = s?.['priority'];
  const wv = s?.['weighted'];
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  if (given(pv) && given(wv)) {
    c.add('spec.weighted', 'give either priority or weighted, not both');
    return undefined;
  }
  const keys: ListenerKeys['keys'] = [];
  let strategy: ListenerKeys['strategy'];
  if (given(pv)) {
    strategy = 'priority';
    if (!Array.isArray(pv)) {
      c.add('spec.priority', `must be a list of routing keys, first choice first (got ${describeValue(pv)})`);
      return undefined;
    }
    pv.forEach((v: unknown, i) => {
      const key = checkRoutingKeyText(c, `spec.priority[${i}]`, v);
      if (key !== undefined) keys.push({ routingKey: key, weight: 1 });
    });
  } else if (given(wv)) {
    strategy = 'weighted';
    if (typeof wv !== 'object' || Array.isArray(wv)) {
      c.add(
        'spec.weighted',
        `must map routing keys to weights, like {api-v1: 9, api-v2: 1} (got ${describeValue(wv)})`,
      );
      return undefined;
    }
    for (const [k, w] of Object.entries(wv as Obj)) {
      const key = checkRoutingKeyText(c, `spec.weighted`, k);
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > MAX_KEY_WEIGHT)
        c.add(
          `spec.weighted.${k}`,
          `must be a weight, an integer 1-${MAX_KEY_WEIGHT} (got ${describeValue(w)})`,
        );
      else if (key !== undefined) keys.push({ routingKey: key, weight: w });
    }
  } else return undefined;
  const path = `spec.${strategy}`;
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.routingKey)) c.add(path, `names routing key '${k.routingKey}' twice`);
    seen.add(k.routingKey);
  }
  const n = Array.isArray(pv) ? pv.length : Object.keys((wv ?? {}) as Obj).length;
  if (n < 2 || n > MAX_LISTENER_KEYS)
    c.add(path, `must name 2-${MAX_LISTENER_KEYS} routing keys (got ${n}); with one key, use routingKey`);
  return { strategy, keys };
}

/** amqp listener `users`: [{name, passwordFile}], names unique. */
function checkUsers(c: Checker, v: unknown, type: string): ListenerUser[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (type !== 'amqp') {
    c.add('spec.users', `applies only to type amqp (this one is ${type})`);
    return undefined;
  }
  if (!Array.isArray(v) || v.length === 0) {
    c.add('spec.users', `must be a list of {name, passwordFile} (got ${describeValue(v)})`);
    return undefined;
  }
  const out: ListenerUser[] = [];
  const seen = new Set<string>();
  v.forEach((u: unknown, i) => {
    const path = `spec.users[${i}]`;
    const o = c.object(u, path, ['name', 'passwordFile'], true);
    const name = c.string(o, 'name', path, { required: true, maxLength: 256 });
    const passwordFile = c.string(o, 'passwordFile', path, { required: true, maxLength: 4096 });
    if (name === undefined || passwordFile === undefined) return;
    if (seen.has(name)) return c.add(`${path}.name`, `user '${name}' is listed twice`);
    seen.add(name);
    out.push({ name, passwordFile });
  });
  return out;
}

/** amqp listener `multicast`: address prefixes under the routing key. */
function checkMulticast(c: Checker, v: unknown, type: string, key: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (type !== 'amqp') {
    c.add('spec.multicast', `applies only to type amqp (this one is ${type})`);
    return undefined;
  }
  if (!Array.isArray(v)) {
    c.add(
      'spec.multicast',
      `must be a list of address prefixes, like [${key}.events.] (got ${describeValue(v)})`,
    );
    return undefined;
  }
  const out: string[] = [];
  v.forEach((p: unknown, i) => {
    const path = `spec.multicast[${i}]`;
    if (typeof p !== 'string' || p.length === 0 || p.length > 252)
      return c.add(path, `must be an address prefix (got ${describeValue(p)})`);
    if (p !== key && !p.startsWith(`${key}.`) && !p.startsWith(`${key}/`))
      return c.add(
        path,
        `must lie under the routing key: '${key}', '${key}.…' or '${key}/…' (got ${describeValue(p)})`,
      );
    out.push(p);
  });
  return out;
}

/** `allow`: a list of IPv4/IPv6 addresses and CIDR prefixes. */
function checkAllow(c: Checker, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    c.add('spec.allow', `must be a list of addresses or CIDR prefixes (got ${describeValue(v)})`);
    return undefined;
  }
  const out: string[] = [];
  v.forEach((e: unknown, i) => {
    const p = `spec.allow[${i}]`;
    if (typeof e !== 'string') return c.add(p, `must be an address or CIDR prefix (got ${describeValue(e)})`);
    const [addr = '', prefix, extra] = e.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined)
      return c.add(
        p,
        `must be an IPv4/IPv6 address or CIDR prefix like 10.0.0.0/8 (got ${describeValue(e)})`,
      );
    if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max))
      return c.add(p, `prefix length must be 0-${max} (got ${describeValue(e)})`);
    out.push(e);
  });
  return out;
}

/** http2 and amqp listener `tls: { cert, key }` (both required). */
function checkListenerTls(c: Checker, s: Obj | undefined, type: string): ListenerTls | undefined {
  const v = s?.['tls'];
  if (v === undefined || v === null) return undefined;
  if (type !== 'http2' && type !== 'amqp') {
    c.add('spec.tls', `applies only to types http2 and amqp (this one is ${type})`);
    return undefined;
  }
  const o = c.object(v, 'spec.tls', ['cert', 'key', 'clientCa']);
  const cert = c.string(o, 'cert', 'spec.tls', { required: true });
  const key = c.string(o, 'key', 'spec.tls', { required: true });
  const clientCa = c.string(o, 'clientCa', 'spec.tls');
  if (cert === undefined || key === undefined) return undefined;
  return clientCa !== undefined ? { cert, key, clientCa } : { cert, key };
}

/** http2 and amqp connector `tls: { ca?, insecure?, servername? }` (`tls: {}` means TLS with Node's roots). */
function checkConnectorTls(c: Checker, s: Obj | undefined, type: string): ConnectorTls | undefined {
  const v = s?.['tls'];
  if (v === undefined || v === null) return undefined;
  if (type !== 'http2' && type !== 'amqp') {
    c.add('spec.tls', `applies only to types http2 and amqp (this one is ${type})`);
    return undefined;
  }
  const o = c.object(v, 'spec.tls', ['ca', 'insecure', 'servername']);
  const out: ConnectorTls = {};
  const ca = c.string(o, 'ca', 'spec.tls');
  if (ca !== undefined) out.ca = ca;
  const insecure = o?.['insecure'];
  if (insecure !== undefined && insecure !== null) {
    if (typeof insecure !== 'boolean')
      c.add('spec.tls.insecure', `must be true or false (got ${describeValue(insecure)})`);
    else out.insecure = insecure;
  }
  const servername = c.host(o, 'servername', 'spec.tls', '');
  if (servername) out.servername = servername;
  return out;
}

function checkTargets(c: Checker, s: Obj | undefined): HostPort[] | undefined {
  const v = s?.['targets'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0) {
    c.add('spec.targets', `must be a non-empty list of {host, port} (got ${describeValue(v)})`);
    return undefined;
  }
  const out: HostPort[] = [];
  v.forEach((e, i) => {
    const ep = checkEndpoint(c, e, `spec.targets[${i}]`);
    if (ep) out.push(ep);
  });
  return out.length === v.length ? out : undefined;
}

const CODE_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
const CODE_HELP = 'must be letters, digits or one of . _ ~ + / = - (no spaces)';

function checkAccessGrant(
  c: Checker,
  meta: ObjectMeta,
  specValue: unknown,
  statusValue: unknown,
): AccessGrantResource {
  const s = c.object(specValue, 'spec', [
    'redemptions',
    'expiry',
    'cost',
    'code',
    'codeHash',
    'certLifetime',
  ]);
  const redemptions =
    c.integer(s, 'redemptions', 'spec', { min: 1, max: MAX_INT32, default: DEFAULTS.grantRedemptions }) ??
    DEFAULTS.grantRedemptions;
  let expiry: string = DEFAULTS.grantExpiry;
  const ev = s?.['expiry'];
  if (ev !== undefined && ev !== null) {
    const ms = tryParseDuration(ev);
    if (ms === undefined || ms <= 0)
      c.add('spec.expiry', `must be ${DURATION_SYNTAX} (got ${describeValue(ev)})`);
    else expiry = (ev as string).trim();
  }
  const cost =
    c.integer(s, 'cost', 'spec', { min: 1, max: DEFAULTS.maxCost, default: DEFAULTS.linkCost }) ??
    DEFAULTS.linkCost;
  const code = c.string(s, 'code', 'spec', {
    pattern: CODE_PATTERN,
    patternHelp: CODE_HELP,
    maxLength: 1024,
  });
  const res: AccessGrantResource = {
    apiVersion: API_VERSION,
    kind: 'AccessGrant',
    metadata: meta,
    spec: { redemptions, expiry, cost },
  };
  if (code !== undefined) res.spec.code = code;
  const codeHash = c.string(s, 'codeHash', 'spec', {
    pattern: /^[0-9a-f]{64}$/,
    patternHelp: 'must be a SHA-256 digest in lowercase hex (64 characters)',
  });
  if (codeHash !== undefined) res.spec.codeHash = codeHash;
  const lv = s?.['certLifetime'];
  if (lv !== undefined && lv !== null) {
    const ms = tryParseDuration(lv);
    if (ms === undefined || ms < 1000)
      c.add('spec.certLifetime', `must be ${DURATION_SYNTAX}, at least 1s (got ${describeValue(lv)})`);
    else res.spec.certLifetime = (lv as string).trim();
  }

  const { o, status } = checkStatus(c, statusValue, ['url', 'ca', 'redeemed', 'expiresAt']);
  if (o && status) {
    const st: AccessGrantStatus = status;
    const url = c.string(o, 'url', 'status');
    if (url !== undefined) st.url = url;
    const ca = c.string(o, 'ca', 'status');
    if (ca !== undefined) st.ca = ca;
    const redeemed = c.integer(o, 'redeemed', 'status', { min: 0, max: MAX_INT32 });
    if (redeemed !== undefined) st.redeemed = redeemed;
    const expiresAt = c.string(o, 'expiresAt', 'status');
    if (expiresAt !== undefined) {
      if (Number.isNaN(Date.parse(expiresAt))) {
        c.add('status.expiresAt', `must be an RFC 3339 time (got ${describeValue(expiresAt)})`);
      } else st.expiresAt = expiresAt;
    }
    res.status = st;
  }
  return res;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

function checkAccessToken(
  c: Checker,
  meta: ObjectMeta,
  specValue: unknown,
  statusValue: unknown,
): AccessTokenResource {
  const s = c.object(specValue, 'spec', ['url', 'code', 'ca', 'cost', 'expiresAt', 'redemptions'], true);
  const url = c.string(s, 'url', 'spec', { required: s !== undefined }) ?? '';
  if (url) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.protocol !== 'https:' || !parsed.hostname) {
      c.add('spec.url', `must be an https:// URL (got ${describeValue(url)})`);
    }
  }
  const code =
    c.string(s, 'code', 'spec', {
      required: s !== undefined,
      pattern: CODE_PATTERN,
      patternHelp: CODE_HELP,
      maxLength: 1024,
    }) ?? '';
  const ca = c.string(s, 'ca', 'spec', { required: s !== undefined }) ?? '';
  if (ca && !PEM_CERT_RE.test(ca)) {
    c.add('spec.ca', 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)');
  }
  const cost = c.integer(s, 'cost', 'spec', { min: 1, max: DEFAULTS.maxCost });
  const res: AccessTokenResource = {
    apiVersion: API_VERSION,
    kind: 'AccessToken',
    metadata: meta,
    spec: { url, code, ca },
  };
  if (cost !== undefined) res.spec.cost = cost;
  const expiresAt = c.string(s, 'expiresAt', 'spec', { maxLength: 64 });
  if (expiresAt !== undefined) {
    if (Number.isNaN(Date.parse(expiresAt)))
      c.add('spec.expiresAt', `must be an RFC 3339 time (got ${describeValue(expiresAt)})`);
    else res.spec.expiresAt = expiresAt;
  }
  const redemptions = c.integer(s, 'redemptions', 'spec', { min: 1, max: 2 ** 31 - 1 });
  if (redemptions !== undefined) res.spec.redemptions = redemptions;
  const { status } = checkStatus(c, statusValue);
  if (status) res.status = status;
  return res;
}

const CHECKERS: {
  [K in Kind]: (
    c: Checker,
    meta: ObjectMeta,
    spec: unknown,
    status: unknown,
  ) => Extract<Resource, { kind: K }>;
} = {
  Site: checkSite,
  Link: checkLink,
  Listener: checkListener,
  Connector: checkConnector,
  AccessGrant: checkAccessGrant,
  AccessToken: checkAccessToken,
};

/** Result of checking one document without throwing. */
export interface CheckResult {
  /** The typed resource with defaults applied; present only when there are no issues. */
  resource?: Resource;
  issues: ResourceIssue[];
  /** `Listener "db"`, when the kind and name could be read. */
  label?: string;
  /** what could be read of the document's identity even when it is invalid (for its status conditions) */
  kind?: Kind;
  name?: string;
  generation?: number;
}

/** Checks one parsed document; never throws. Issues carry `path` and `message` (no source). */
export function checkResource(obj: unknown): CheckResult {
  const c = new Checker();
  const root = c.object(obj, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  if (!root) {
    if (obj === undefined || obj === null) c.add('', 'empty document: expected a resource');
    else c.issues[0] = { path: '', message: `a resource must be a mapping (got ${describeValue(obj)})` };
    return { issues: c.issues };
  }
  const apiVersion = root['apiVersion'];
  if (apiVersion === undefined || apiVersion === null) c.add('apiVersion', `is required (${API_VERSION})`);
  else if (apiVersion !== API_VERSION) {
    c.add('apiVersion', `must be "${API_VERSION}" (got ${describeValue(apiVersion)})`);
  }
  const kindValue = root['kind'];
  let kind: Kind | undefined;
  if (kindValue === undefined || kindValue === null)
    c.add('kind', `is required (one of: ${KINDS.join(', ')})`);
  else if (typeof kindValue !== 'string' || !(KINDS as readonly string[]).includes(kindValue)) {
    c.add(
      'kind',
      `unknown kind ${describeValue(kindValue)}${suggestion(String(kindValue), KINDS)} (known kinds: ${KINDS.join(', ')})`,
    );
  } else kind = kindValue as Kind;

  const meta = checkMetadata(c, root['metadata']);
  let label: string | undefined;
  if (kind) label = meta.name ? `${kind} "${meta.name}"` : kind;
  else if (meta.name) label = `"${meta.name}"`;

  if (!kind) return { issues: c.issues, ...(label ? { label } : {}) };
  const identity = {
    kind,
    ...(meta.name ? { name: meta.name } : {}),
    ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
  };
  const resource = CHECKERS[kind](c, meta, root['spec'], root['status']);
  if (c.issues.length > 0) return { issues: c.issues, ...(label ? { label } : {}), ...identity };
  return { resource, issues: [], ...(label ? { label } : {}), ...identity };
}

/**
 * Validates one parsed document and returns the typed resource with defaults applied. Throws ResourceError
 * (code INVALID_RESOURCE) listing every problem, each as `source: Kind "name": field.path: message`.
 */
export function validateResource(obj: unknown, source: string): Resource {
  const r = checkResource(obj);
  if (r.resource) return r.resource;
  throw new ResourceError(r.issues.map((i) => ({ ...i, source, ...(r.label ? { resource: r.label } : {}) })));
}

/** Like validateResource but also checks the kind: `validateResourceOf('Listener', obj, src)`. */
export function validateResourceOf<K extends Kind>(
  kind: K,
  obj: unknown,
  source: string,
): Extract<Resource, { kind: K }> {
  const r = validateResource(obj, source);
  if (r.kind !== kind) {
    throw new ResourceError([
      { source, resource: `${r.kind} "${r.metadata.name}"`, path: 'kind', message: `expected a ${kind}` },
    ]);
  }
  return r as Extract<Resource, { kind: K }>;
}

/** Key identifying a resource within a site: `Kind/name`. */
export function resourceKey(r: { kind: string; metadata: { name: string } }): string {
  return `${r.kind}/${r.metadata.name}`;
}
