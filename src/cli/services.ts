/** Listeners and connectors of a site as the CLI shows them: resources merged with the router's view. */
import type { StatusSnapshot } from '../admin/types.js';
import {
  listenerKeys,
  listenerRoutingKeys,
  type ConnectorResource,
  type ListenerResource,
} from '../api/index.js';
import type { ResourceStatusView } from '../admin/types.js';
import { rejectedOnly, resourceStatus } from './conditions-view.js';
import { siteOfRouter } from './names.js';

export interface Destination {
  site: string;
  router: string;
  cost: number;
  connectors: number;
}

export interface ListenerRow {
  name: string;
  type: string;
  routingKey: string;
  address: string;
  distribution: string;
  /** the client allow list (absent: any client) */
  allow?: string[];
  /** some connector for the key is reachable somewhere in the network; undefined when the router is stopped */
  matched?: boolean;
  /** sites with connectors for the key */
  destinations?: Destination[];
  /** a listener with several routing keys: how a connection picks one, and each key */
  strategy?: 'priority' | 'weighted';
  keys?: ListenerKeyRow[];
  error?: string;
  stats?: Record<string, number>;
  /** metadata.generation the router observed */
  generation?: number;
  /** the router's status conditions (absent when the router is stopped) */
  status?: ResourceStatusView['status'];
}

export interface ListenerKeyRow {
  routingKey: string;
  weight: number;
  /** undefined when the router is stopped */
  matched?: boolean;
  destinations?: Destination[];
  /** connections established to this key since the router started */
  routed?: number;
}

export interface ConnectorRow {
  name: string;
  type: string;
  routingKey: string;
  target: string;
  healthy?: boolean;
  /** this router advertises the key to the network */
  advertised?: boolean;
  /** other sites with connectors for the same key */
  otherSites?: Destination[];
  /** listeners at this site for the key */
  localListeners?: string[];
  /** sites anywhere in the network (this one included) that have a listener for the key */
  listenerSites?: string[];
  stats?: Record<string, number>;
  generation?: number;
  status?: ResourceStatusView['status'];
}

/** Sites whose routers advertise a listener for `key` (routers flood their listener keys in their `info`). */
function listenerSites(status: StatusSnapshot, key: string): string[] {
  const out: string[] = [];
  for (const r of status.topology.routers) {
    if (!r.reachable && r.id !== status.router.id) continue;
    const listeners = r.info?.['listeners'];
    if (typeof listeners !== 'object' || listeners === null) continue;
    if (((listeners as Record<string, number>)[key] ?? 0) > 0) {
      const site = r.info?.['site'];
      out.push(typeof site === 'string' ? site : siteOfRouter(r.id));
    }
  }
  return out.sort();
}

/** Sites with an amqp listener whose address space covers `address` (they advertise `amqp:<routing key>`). */
function listenerSitesOfAmqp(status: StatusSnapshot, address: string): string[] {
  const out = new Set<string>();
  for (const r of status.topology.routers) {
    if (!r.reachable && r.id !== status.router.id) continue;
    const listeners = r.info?.['listeners'];
    if (typeof listeners !== 'object' || listeners === null) continue;
    for (const k of Object.keys(listeners as Record<string, number>)) {
      if (!k.startsWith('amqp:') || !amqpUnder(`amqp:${address}`, k.slice(5))) continue;
      const site = r.info?.['site'];
      out.add(typeof site === 'string' ? site : siteOfRouter(r.id));
    }
  }
  return [...out].sort();
}

function destinations(status: StatusSnapshot, key: string): Destination[] {
  const a = status.addresses.find((x) => x.key === key);
  return (a?.destinations ?? []).map((d) => ({
    site: siteOfRouter(d.router),
    router: d.router,
    cost: d.cost,
    connectors: d.count,
  }));
}

export function listenerRows(
  resources: ListenerResource[],
  status: StatusSnapshot | undefined,
): ListenerRow[] {
  const rows = resources.map((r) => {
    const v = status?.listeners.find((l) => l.name === r.metadata.name);
    const row: ListenerRow = {
      name: r.metadata.name,
      type: r.spec.type,
      routingKey: r.spec.routingKey,
      address: `${r.spec.host}:${v?.port ?? r.spec.port}`,
      distribution: r.spec.distribution,
      ...(r.spec.allow !== undefined ? { allow: r.spec.allow } : {}),
    };
    const multi = listenerKeys(r.spec);
    if (multi) {
      row.strategy = multi.strategy;
      row.keys = multi.keys.map((k) => {
        const kv = v?.keys?.find((x) => x.routingKey === k.routingKey);
        const kr: ListenerKeyRow = { routingKey: k.routingKey, weight: k.weight };
        if (status) {
          kr.destinations = destinations(status, k.routingKey);
          kr.matched = kv?.matched ?? kr.destinations.length > 0;
          kr.routed = kv?.routed ?? 0;
        }
        return kr;
      });
    }
    if (status) {
      const keys =
        r.spec.type === 'amqp'
          ? status.addresses.map((a) => a.key).filter((k) => amqpUnder(k, r.spec.routingKey))
          : listenerRoutingKeys(r.spec);
      const all = keys.flatMap((k) => destinations(status, k));
      row.matched = v?.matched ?? all.length > 0;
      row.destinations = all;
      if (v?.error) row.error = v.error;
      if (v) row.stats = v.stats;
      Object.assign(row, resourceStatus(status, 'Listener', r.metadata.name));
    }
    return row;
  });
  return [...rows, ...rejectedRows(status, 'Listener', rows)];
}

/** Rows for resources whose file the router could not apply: name and conditions only. */
function rejectedRows(
  status: StatusSnapshot | undefined,
  kind: string,
  rows: ReadonlyArray<{ name: string }>,
): Array<ListenerRow & ConnectorRow> {
  return rejectedOnly(
    status,
    kind,
    rows.map((r) => r.name),
  ).map((v) => ({
    name: v.name,
    type: '-',
    routingKey: '-',
    address: '-',
    distribution: '-',
    target: '-',
    ...(v.generation !== undefined ? { generation: v.generation } : {}),
    status: v.status,
  }));
}

export function connectorRows(
  resources: ConnectorResource[],
  status: StatusSnapshot | undefined,
): ConnectorRow[] {
  const rows = resources.map((r) => {
    const v = status?.connectors.find((c) => c.name === r.metadata.name);
    const targets = r.spec.targets?.length ? r.spec.targets : [{ host: r.spec.host, port: r.spec.port }];
    const row: ConnectorRow = {
      name: r.metadata.name,
      type: r.spec.type,
      routingKey: r.spec.routingKey,
      target: v?.target ?? targets.map((t) => `${t.host}:${t.port}`).join(','),
    };
    if (status) {
      const self = status.router.id;
      const own = status.topology.routers.find((x) => x.id === self);
      row.healthy = v?.healthy ?? false;
      // an amqp connector (a broker queue) is advertised as the waypoint of its address
      const key = r.spec.type === 'amqp' ? `amqpq:${r.spec.routingKey}` : r.spec.routingKey;
      row.advertised = own ? (own.addresses[key] ?? 0) > 0 : row.healthy;
      row.otherSites = destinations(status, key).filter((d) => d.router !== self);
      row.localListeners = status.listeners
        .filter(
          (l) =>
            l.routingKey === r.spec.routingKey || l.keys?.some((k) => k.routingKey === r.spec.routingKey),
        )
        .map((l) => l.name);
      row.listenerSites =
        r.spec.type === 'amqp'
          ? listenerSitesOfAmqp(status, r.spec.routingKey)
          : listenerSites(status, r.spec.routingKey);
      if (v) row.stats = v.stats;
      Object.assign(row, resourceStatus(status, 'Connector', r.metadata.name));
    }
    return row;
  });
  return [...rows, ...rejectedRows(status, 'Connector', rows)];
}

export function yesNo(v: boolean | undefined): string {
  return v === undefined ? '-' : v ? 'yes' : 'no';
}

/** How a listener's routing key(s) read in one column: `db`, `db-east>db-west` (priority), `v1=9,v2=1` (weighted). */
export function routingKeyText(r: Pick<ListenerRow, 'routingKey' | 'strategy' | 'keys'>): string {
  if (!r.keys) return r.routingKey;
  return r.strategy === 'weighted'
    ? r.keys.map((k) => `${k.routingKey}=${k.weight}`).join(',')
    : r.keys.map((k) => k.routingKey).join('>');
}

/** the routing key `amqp:<address>` of an address under an amqp listener's routing key */
function amqpUnder(key: string, routingKey: string): boolean {
  if (!key.startsWith('amqp:')) return false;
  const a = key.slice(5);
  return a === routingKey || a.startsWith(`${routingKey}.`) || a.startsWith(`${routingKey}/`);
}
