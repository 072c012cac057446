/**
 * The status snapshot a running site gives the admin API (`caravan status`, `listener status`, ...), and what
 * the router observes about each resource for its status conditions (status-keeper.ts writes them).
 */
import { formatIssue, listenerKeys, listenerRoutingKeys, type Condition, type Kind } from '../api/index.js';
import { ErrorCodes } from '../errors.js';
import type { StatusSnapshot } from '../admin/types.js';
import type { LinkDialer } from '../links/dialer.js';
import type { Router } from '../router/router.js';
import type { SiteConfig } from '../site/site-dir.js';
import type { LinkAccess } from './link-access.js';
import type { SiteResources } from './reconcile.js';
import type { Observation, StatusKeeper } from './status-keeper.js';

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
  linkErrors: SiteResources['linkErrors'];
  rejected: SiteResources['rejected'];
  status: StatusKeeper;
  /** Site fields that changed and apply only when the router restarts */
  pendingRestart: readonly string[];
}

const T = 'True';
const F = 'False';
const U = 'Unknown';

/**
 * What the router knows about every resource of the site now: which specs it rejected (and why, naming the
 * field), whether each listener's routing key has a connector somewhere in the network (the routing table),
 * whether each connector's target answers (its health check: the last connection attempt to a target, and the
 * probes while it is down — no DNS lookup or probe is made for the condition), and its own running state (a
 * listener bound its port, a link is up, the grant server serves).
 */
export function observe(rt: StatusSources): Observation[] {
  const engine = rt.router.engine;
  const out: Observation[] = [];
  const gen = (r: { metadata: { generation?: number } }): { generation?: number } =>
    r.metadata.generation !== undefined ? { generation: r.metadata.generation } : {};
  const rejected = new Map(rt.rejected.map((r) => [`${r.kind}/${r.name}`, r]));
  const invalid = (kind: Kind, name: string): Partial<Observation> => {
    const r = rejected.get(`${kind}/${name}`);
    if (!r) return {};
    rejected.delete(`${kind}/${name}`);
    return {
      invalid: r.issues.map((i) => formatIssue({ ...i, resource: '', source: '' })).join('; '),
      ...(r.generation !== undefined ? { generation: r.generation } : {}),
    };
  };

  const site = rt.config.site;
  const la = site.spec.linkAccess;
  out.push({
    kind: 'Site',
    name: site.metadata.name,
    ...gen(site),
    ...(rt.pendingRestart.length > 0
      ? {
          pending: `${rt.pendingRestart.map((f) => `spec.${f}`).join(', ')} changed: applied when the router restarts`,
        }
      : {}),
    running: !la
      ? {
          status: T,
          reason: 'Running',
          message: `router ${rt.router.id} runs (no link access: it only dials out)`,
        }
      : rt.acceptor?.port !== undefined
        ? { status: T, reason: 'Running', message: `accepting links on ${la.host}:${rt.acceptor.port}` }
        : {
            status: F,
            reason: 'LinkAccessDown',
            message: `link access on ${la.host}:${la.port} is not listening`,
          },
  });

  for (const { r, l, error, errorCode } of rt.listeners.values()) {
    const keys =
      r.spec.type === 'amqp'
        ? undefined
        : listenerRoutingKeys(r.spec).filter((k) => engine.addressDestinations(k).length > 0);
    const found =
      r.spec.type === 'amqp' ? amqpMatched(engine.addressKeys(), r.spec.routingKey) : (keys?.length ?? 0) > 0;
    const where = `${r.spec.host}:${l.port ?? r.spec.port}`;
    out.push({
      kind: 'Listener',
      name: r.metadata.name,
      ...gen(r),
      matched: found
        ? {
            status: T,
            reason: 'ConnectorFound',
            message: `a connector for ${keys?.length ? keys.join(', ') : r.spec.routingKey} is reachable`,
          }
        : {
            status: F,
            reason: 'NoConnector',
            message: `no connector for ${listenerRoutingKeys(r.spec).join(', ')} is reachable in the network`,
          },
      running:
        error !== undefined
          ? {
              status: F,
              reason: errorCode === ErrorCodes.PORT_IN_USE ? 'PortInUse' : 'BindFailed',
              message: error,
            }
          : l.port !== undefined
            ? { status: T, reason: 'Listening', message: `listening on ${where}` }
            : { status: U, reason: 'Starting', message: `binding ${where}` },
      ...invalid('Listener', r.metadata.name),
    });
  }

  for (const { r, c } of rt.connectors.values()) {
    out.push({
      kind: 'Connector',
      name: r.metadata.name,
      ...gen(r),
      matched: c.healthy
        ? { status: T, reason: 'TargetReachable', message: `target ${c.target} answers` }
        : { status: F, reason: 'TargetUnreachable', message: `target ${c.target} does not answer` },
      ...invalid('Connector', r.metadata.name),
    });
  }

  const sessions = rt.router.linkStatuses();
  for (const link of rt.config.links) {
    const name = link.metadata.name;
    const d = rt.dialers.get(name)?.d;
    const up = sessions.some((s) => s.id === name && s.state === 'up');
    const error = rt.linkErrors.get(name);
    out.push({
      kind: 'Link',
      name,
      ...gen(link),
      running:
        error !== undefined
          ? { status: F, reason: 'CertificateUnreadable', message: error }
          : up
            ? { status: T, reason: 'LinkUp', message: 'the link is up' }
            : d?.state === 'down'
              ? { status: F, reason: 'LinkDown', message: d.lastError ?? 'the link is down' }
              : { status: U, reason: 'Connecting', message: d?.lastError ?? 'dialing' },
      ...invalid('Link', name),
    });
  }

  for (const g of rt.config.grants) {
    out.push({
      kind: 'AccessGrant',
      name: g.metadata.name,
      ...gen(g),
      running:
        rt.grants?.port !== undefined
          ? { status: T, reason: 'Serving', message: `the grant server listens on port ${rt.grants.port}` }
          : { status: F, reason: 'GrantServerDown', message: 'the grant server is not running' },
      ...invalid('AccessGrant', g.metadata.name),
    });
  }
  for (const t of rt.config.tokens) out.push({ kind: 'AccessToken', name: t.metadata.name, ...gen(t) });

  // rejected resources that do not run at all (never applied, or new and invalid)
  for (const r of [...rejected.values()])
    out.push({ kind: r.kind, name: r.name, ...invalid(r.kind, r.name) });
  return out;
}

/** `{status: {conditions}}` of a resource for a view (empty when the keeper has none yet). */
function statusOf(rt: StatusSources, kind: Kind, name: string): { status: { conditions: Condition[] } } {
  return { status: { conditions: rt.status.conditions(kind, name) ?? [] } };
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
      ...statusOf(rt, 'Link', name),
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
        ...(r.metadata.generation !== undefined ? { generation: r.metadata.generation } : {}),
        ...statusOf(rt, 'Listener', r.metadata.name),
      };
    }),
    connectors: [...rt.connectors.values()].map(({ c, r }) => ({
      name: r.metadata.name,
      type: r.spec.type,
      routingKey: r.spec.routingKey,
      target: c.target,
      healthy: c.healthy,
      stats: c.stats(),
      ...(r.metadata.generation !== undefined ? { generation: r.metadata.generation } : {}),
      ...statusOf(rt, 'Connector', r.metadata.name),
    })),
    resources: rt.status.list().map((e) => ({
      kind: e.kind,
      name: e.name,
      ...(e.generation !== undefined ? { generation: e.generation } : {}),
      status: { conditions: e.conditions },
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
