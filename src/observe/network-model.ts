/**
 * Builds the NetworkModel (src/observe/model.ts) from what one router knows: its link-state database (every
 * router's advertisement: links, addresses, `info`), its own link sessions (RTT, edge neighbours that are not in the
 * database) and what each router answered about itself over management flows (traffic rates, link RTTs, listener
 * and connector names). Pure: no I/O, no clock (the caller passes `now`). Linear in routers + links + keys.
 */
import { idBelongsToSite, isSelfCertifyingId, siteNameOf } from '../identity.js';
import { isName } from '../names.js';
import type { LocalTraffic } from './flows.js';
import type {
  LinkModel,
  NetworkModel,
  RouterModeName,
  ServiceEndpoint,
  ServiceModel,
  SiteModel,
  SitePairTraffic,
} from './model.js';

/** Structurally the routing engine's TopologySnapshot (observe does not import routing). */
export interface TopologyInput {
  routers: Array<{
    id: string;
    mode: RouterModeName;
    reachable: boolean;
    links: Array<{ neighbor: string; cost: number }>;
    addresses: Record<string, number>;
    info?: Record<string, unknown>;
  }>;
}

/** One of the asking router's own link sessions. */
export interface LocalLinkInput {
  neighbor?: string;
  neighborMode?: RouterModeName;
  cost: number;
  /** `up` counts; anything else is ignored */
  state: string;
  rttMs?: number;
}

/** What a router reports about itself (management request `report`). */
export interface RouterReport {
  routerId: string;
  traffic?: LocalTraffic;
  /** neighbour router id → RTT (ms) of the link to it */
  linkRtt?: Record<string, number>;
  /** routing key → listener names at that router */
  listeners?: Record<string, string[]>;
  /** routing key → connector names at that router */
  connectors?: Record<string, string[]>;
}

export interface ModelInput {
  self: { id: string; site: string; mode: RouterModeName; version: string; platform: string };
  topology: TopologyInput;
  localLinks: LocalLinkInput[];
  /** answers by router id; missing routers simply contribute no rates, names or RTTs */
  reports: ReadonlyMap<string, RouterReport>;
  now: Date;
  unanswered?: Array<{ router: string; error: string }>;
}

/** Versions and platforms from peers: short printable ASCII, else nothing. */
const printable = (v: unknown, fallback: string): string =>
  typeof v === 'string' && v !== '' && v.length <= 128 && /^[\x20-\x7e]+$/.test(v) ? v : fallback;

/**
 * The site name shown for router `id`: the name its advertisement states when it is a site name the id belongs
 * to (a self-certifying id carries its site's name; an older id is taken at its word), else the site part of the
 * id. A router cannot pass itself off as another site in the console or `network status`.
 */
export function siteNameFor(id: string, stated: unknown): string {
  if (isName(stated) && (idBelongsToSite(id, stated) || !isSelfCertifyingId(id))) return stated;
  return siteNameOf(id) ?? id;
}

function countMap(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, n] of Object.entries(v as Record<string, unknown>))
    if (typeof n === 'number' && n > 0) out[k] = n;
  return out;
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

interface FoldSvc {
  protocol?: string;
  listeners: Map<string, ServiceEndpoint>;
  connectors: Map<string, ServiceEndpoint>;
}

/** the address of an amqp routing key (`amqp:<address>`), else undefined */
function amqpAddress(key: string): string | undefined {
  return key.startsWith('amqp:') ? key.slice(5) : undefined;
}

/**
 * An amqp listener serves every address under its routing key (`bus` serves `bus.orders`), and routers advertise
 * it as `amqp:<routing key>` while receivers make their routers advertise `amqp:<address>`. So each address's
 * service lists the listeners of the namespaces it lies in, and a namespace shown on its own is one whose
 * addresses have no receiver anywhere (unmatched).
 */
function foldAmqpNamespaces(services: Map<string, FoldSvc>, svc: (key: string) => FoldSvc): void {
  // a broker queue that is an address's waypoint (`amqpq:<address>`) is a connector of the address's service
  for (const [key, q] of [...services]) {
    if (!key.startsWith('amqpq:')) continue;
    services.delete(key);
    const s = svc(`amqp:${key.slice(6)}`);
    for (const [id, ep] of q.connectors) if (!s.connectors.has(id)) s.connectors.set(id, ep);
  }
  const namespaces = [...services].filter(([k, s]) => amqpAddress(k) !== undefined && s.listeners.size > 0);
  const covered = new Set<string>();
  for (const [key, s] of services) {
    const address = amqpAddress(key);
    if (address === undefined) continue;
    s.protocol ??= 'amqp';
    if (s.connectors.size === 0) continue;
    for (const [ns, n] of namespaces) {
      const prefix = amqpAddress(ns) as string;
      if (address !== prefix && !address.startsWith(`${prefix}.`) && !address.startsWith(`${prefix}/`))
        continue;
      for (const [id, ep] of n.listeners) if (!s.listeners.has(id)) s.listeners.set(id, ep);
      if (ns !== key) covered.add(ns);
    }
  }
  for (const ns of covered) if ((services.get(ns)?.connectors.size ?? 0) === 0) services.delete(ns);
}

export function buildNetworkModel(input: ModelInput): NetworkModel {
  const selfId = input.self.id;
  const sites = new Map<string, SiteModel>();
  const routers = input.topology.routers;
  const inDb = new Set(routers.map((r) => r.id));

  // ---- sites
  for (const r of routers) {
    const info = r.info ?? {};
    const self = r.id === selfId;
    sites.set(r.id, {
      id: r.id,
      name: self ? input.self.site : siteNameFor(r.id, info.site),
      mode: r.mode,
      platform: printable(info.platform, self ? input.self.platform : ''),
      version: printable(info.version, self ? input.self.version : ''),
      reachable: self || r.reachable,
    });
  }
  if (!sites.has(selfId)) {
    sites.set(selfId, {
      id: selfId,
      name: input.self.site,
      mode: input.self.mode,
      platform: input.self.platform,
      version: input.self.version,
      reachable: true,
    });
  }

  // ---- links: one per router pair, up when both ends advertise it
  interface Acc {
    from: string;
    to: string;
    cost: number;
    ends: number; // bit 1: from advertises, bit 2: to advertises
    rttMs?: number;
  }
  const links = new Map<string, Acc>();
  const linkOf = (a: string, b: string): Acc => {
    const [from, to] = a < b ? [a, b] : [b, a];
    const id = `${from}--${to}`;
    let l = links.get(id);
    if (!l) {
      l = { from, to, cost: Infinity, ends: 0 };
      links.set(id, l);
    }
    return l;
  };
  for (const r of routers) {
    for (const adv of r.links) {
      const l = linkOf(r.id, adv.neighbor);
      l.cost = Math.min(l.cost, adv.cost);
      l.ends |= r.id === l.from ? 1 : 2;
    }
  }
  // our own sessions: edge neighbours are not in the database; their links are up when the session is
  for (const s of input.localLinks) {
    if (s.state !== 'up' || s.neighbor === undefined) continue;
    if (!sites.has(s.neighbor)) {
      sites.set(s.neighbor, {
        id: s.neighbor,
        name: siteNameFor(s.neighbor, undefined),
        mode: s.neighborMode ?? 'edge',
        platform: '',
        version: '',
        reachable: true,
      });
    }
    const l = linkOf(selfId, s.neighbor);
    if (!Number.isFinite(l.cost)) l.cost = s.cost;
    if (s.neighborMode === 'edge' || !inDb.has(s.neighbor)) l.ends = 3;
    if (s.rttMs !== undefined) l.rttMs = s.rttMs;
  }
  for (const rep of input.reports.values()) {
    if (!rep.linkRtt) continue;
    for (const [n, ms] of Object.entries(rep.linkRtt)) {
      const id = rep.routerId < n ? `${rep.routerId}--${n}` : `${n}--${rep.routerId}`;
      const l = links.get(id);
      if (l && l.rttMs === undefined && typeof ms === 'number') l.rttMs = ms;
    }
  }
  const linkModels: LinkModel[] = [];
  for (const [id, l] of links) {
    if (!sites.has(l.from) || !sites.has(l.to)) {
      // a neighbour advertised by a router whose own advertisement we do not have (yet)
      for (const x of [l.from, l.to]) {
        if (!sites.has(x))
          sites.set(x, {
            id: x,
            name: siteNameFor(x, undefined),
            mode: 'interior',
            platform: '',
            version: '',
            reachable: false,
          });
      }
    }
    linkModels.push({
      id,
      from: l.from,
      to: l.to,
      cost: Number.isFinite(l.cost) ? l.cost : 0,
      state: l.ends === 3 ? 'up' : 'down',
      ...(l.rttMs !== undefined ? { rttMs: r2(l.rttMs) } : {}),
    });
  }
  linkModels.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  // ---- services
  interface Svc {
    protocol?: string;
    listeners: Map<string, ServiceEndpoint>;
    connectors: Map<string, ServiceEndpoint>;
    bytesPerSec: number;
    flowsPerSec: number;
  }
  const services = new Map<string, Svc>();
  const svc = (key: string): Svc => {
    let s = services.get(key);
    if (!s) {
      s = { listeners: new Map(), connectors: new Map(), bytesPerSec: 0, flowsPerSec: 0 };
      services.set(key, s);
    }
    return s;
  };
  for (const r of routers) {
    const rep = input.reports.get(r.id);
    for (const [key, count] of Object.entries(r.addresses)) {
      if (!(count > 0)) continue;
      const names = rep?.connectors?.[key];
      svc(key).connectors.set(r.id, { site: r.id, count, ...(names?.length ? { names: [...names] } : {}) });
    }
    const info = r.info ?? {};
    for (const [key, count] of Object.entries(countMap(info.listeners))) {
      const names = rep?.listeners?.[key];
      svc(key).listeners.set(r.id, { site: r.id, count, ...(names?.length ? { names: [...names] } : {}) });
    }
    const protocols = info.protocols;
    if (typeof protocols === 'object' && protocols !== null) {
      for (const [key, p] of Object.entries(protocols as Record<string, unknown>)) {
        if (typeof p === 'string' && services.has(key)) svc(key).protocol ??= p;
      }
    }
  }
  // names reported by routers whose advertisement lacks them (e.g. edges not in the database)
  for (const rep of input.reports.values()) {
    if (inDb.has(rep.routerId)) continue;
    for (const [key, names] of Object.entries(rep.listeners ?? {}))
      svc(key).listeners.set(rep.routerId, { site: rep.routerId, count: names.length, names: [...names] });
    for (const [key, names] of Object.entries(rep.connectors ?? {}))
      svc(key).connectors.set(rep.routerId, { site: rep.routerId, count: names.length, names: [...names] });
  }

  foldAmqpNamespaces(services, svc);

  // ---- rates
  const pairs: SitePairTraffic[] = [];
  for (const rep of input.reports.values()) {
    const t = rep.traffic;
    if (!t) continue;
    for (const [key, v] of Object.entries(t.services)) {
      const s = svc(key);
      s.bytesPerSec += v.bytesPerSec;
      s.flowsPerSec += v.flowsPerSec;
    }
    for (const [to, v] of Object.entries(t.destinations)) {
      pairs.push({ from: rep.routerId, to, bytesPerSec: r2(v.bytesPerSec), flowsPerSec: r2(v.flowsPerSec) });
    }
  }
  pairs.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));

  const serviceModels: ServiceModel[] = [];
  const byName = (a: ServiceEndpoint, b: ServiceEndpoint): number => (a.site < b.site ? -1 : 1);
  for (const [routingKey, s] of [...services].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const listeners = [...s.listeners.values()].sort(byName);
    const connectors = [...s.connectors.values()].sort(byName);
    serviceModels.push({
      routingKey,
      ...(s.protocol !== undefined ? { protocol: s.protocol } : {}),
      listeners,
      connectors,
      matched: listeners.length > 0 && connectors.some((c) => sites.get(c.site)?.reachable === true),
      bytesPerSec: r2(s.bytesPerSec),
      flowsPerSec: r2(s.flowsPerSec),
    });
  }

  const siteModels = [...sites.values()].sort((a, b) =>
    a.id === selfId
      ? -1
      : b.id === selfId
        ? 1
        : a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : a.id < b.id
              ? -1
              : 1,
  );
  return {
    generatedAt: input.now.toISOString(),
    observedBy: selfId,
    sites: siteModels,
    links: linkModels,
    services: serviceModels,
    traffic: pairs,
    ...(input.unanswered?.length ? { unanswered: input.unanswered } : {}),
  };
}
