/** The status snapshot a running site gives the admin API (`caravan status`, `listener status`, ...). */
import { listenerKeys } from '../api/index.js';
import type { StatusSnapshot } from '../admin/types.js';
import type { LinkDialer } from '../links/dialer.js';
import type { Router } from '../router/router.js';
import type { SiteConfig } from '../site/site-dir.js';
import type { LinkAccess } from './link-access.js';
import type { SiteResources } from './reconcile.js';

/** What the snapshot is built from. */
export interface StatusSources {
  router: Router;
  config: SiteConfig;
  version: string;
  startedAt: Date;
  dialers: SiteResources['dialers'];
  listeners: SiteResources['listeners'];
  connectors: SiteResources['connectors'];
  acceptor: LinkAccess['acceptor'];
  grants: LinkAccess['grants'];
  console: { url: string | undefined; requiresAuth: boolean } | undefined;
}

export function statusSnapshot(rt: StatusSources): StatusSnapshot {
  const r = rt.router;
  const engine = r.engine;
  const sessions = r.linkStatuses();
  const links: StatusSnapshot['links'] = sessions.map((s) => ({
    id: s.id,
    name: s.name,
    direction: s.direction,
    state: s.state,
    ...(s.neighbor !== undefined ? { neighbor: s.neighbor } : {}),
    ...(s.neighborMode !== undefined ? { neighborMode: s.neighborMode } : {}),
    cost: s.cost,
    ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}),
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    upSince: new Date(s.upSinceMs).toISOString(),
    activeFlows: s.activeFlows,
    ...proxyOf(s.direction === 'out' ? rt.dialers.get(s.id)?.d : undefined),
  }));
  for (const [name, { d }] of rt.dialers) {
    if (sessions.some((s) => s.id === name)) continue;
    const ep = d.endpoint;
    links.push({
      id: name,
      name,
      direction: 'out',
      state: d.state,
      cost: 0,
      bytesIn: 0,
      bytesOut: 0,
      activeFlows: 0,
      ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
      ...(ep ? { endpoint: `${ep.host}:${ep.port}` } : {}),
      ...proxyOf(d),
    });
  }
  const routes = [...engine.routes().values()].map((rt) => ({
    dest: rt.dest,
    cost: rt.cost,
    nextHop: rt.nextHop,
    links: [...rt.links],
  }));
  const addresses = engine
    .addressKeys()
    .map((key: string) => ({ key, destinations: engine.addressDestinations(key) }));
  const stats = engine.stats();
  const flows = r.flows.toJSON();
  return {
    router: {
      id: r.id,
      site: r.site,
      mode: r.mode,
      pid: process.pid,
      version: rt.version,
      startedAt: rt.startedAt.toISOString(),
      ...(rt.acceptor?.port !== undefined && rt.config.site.spec.linkAccess
        ? { linkAccess: { host: rt.config.site.spec.linkAccess.host, port: rt.acceptor.port } }
        : {}),
      ...(rt.grants?.port !== undefined && rt.config.site.spec.linkAccess
        ? { grantServer: { host: rt.config.site.spec.linkAccess.host, port: rt.grants.port } }
        : {}),
      ...(rt.console?.url !== undefined
        ? { console: { url: rt.console.url, auth: rt.console.requiresAuth } }
        : {}),
    },
    links,
    routes,
    addresses,
    listeners: [...rt.listeners.values()].map(({ l, r, error }) => {
      const multi = listenerKeys(r.spec);
      const routed = l.routedByKey?.() ?? {};
      const keys = multi?.keys.map((k) => ({
        routingKey: k.routingKey,
        weight: k.weight,
        matched: engine.addressDestinations(k.routingKey).length > 0,
        routed: routed[k.routingKey] ?? 0,
      }));
      return {
        name: r.metadata.name,
        type: r.spec.type,
        routingKey: r.spec.routingKey,
        host: r.spec.host,
        port: l.port,
        distribution: r.spec.distribution,
        matched: keys
          ? keys.some((k) => k.matched)
          : r.spec.type === 'amqp'
            ? amqpMatched(engine.addressKeys(), r.spec.routingKey)
            : engine.addressDestinations(r.spec.routingKey).length > 0,
        ...(multi && keys ? { strategy: multi.strategy, keys } : {}),
        ...(error !== undefined ? { error } : {}),
        stats: l.stats(),
      };
    }),
    connectors: [...rt.connectors.values()].map(({ c, r }) => ({
      name: r.metadata.name,
      type: r.spec.type,
      routingKey: r.spec.routingKey,
      target: c.target,
      healthy: c.healthy,
      stats: c.stats(),
    })),
    flows: { byKey: flows.byKey, failuresByCode: flows.failuresByCode },
    routing: {
      version: engine.version,
      messagesIn: stats.messagesIn,
      messagesOut: stats.messagesOut,
      spfRuns: stats.spfRuns,
      malformed: stats.malformed,
    },
    topology: engine.topology(),
  };
}

/** an amqp listener is matched when a receiver for some address under its routing key is reachable */
function amqpMatched(keys: string[], routingKey: string): boolean {
  return keys.some((k) => {
    if (!k.startsWith('amqp:')) return false;
    const a = k.slice(5);
    return a === routingKey || a.startsWith(`${routingKey}.`) || a.startsWith(`${routingKey}/`);
  });
}

function proxyOf(d: LinkDialer | undefined): { proxy?: string } {
  return d?.proxy !== undefined ? { proxy: d.proxy } : {};
}
