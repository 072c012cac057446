/**
 * The reconcile core of Kubernetes mode: desired state = f(observed state). It validates every Custom Resource
 * with the same validator a site directory uses (a bad spec marks that resource only), builds the SiteConfig the
 * site runtime runs, the Services and Secrets the namespace needs, each resource's status, and the actions that
 * converge the namespace. No I/O, no clock of its own (`now` is an input): the same input gives the same output.
 */
import {
  listenerRoutingKeys,
  tryParseDuration,
  type AccessGrantResource,
  type AccessTokenResource,
  type ConnectorResource,
  type Kind,
  type LinkResource,
  type ListenerResource,
  type Resource,
  type SiteResource,
} from '../../api/index.js';
import { linkAddress, type AddressResult } from './address.js';
import { buildConfig } from './config.js';
import { secretActions, serviceActions } from './diff.js';
import type { Action, ObservedState, ReconcileResult, ResourceStatusOut, RouterFacts } from './model.js';
import type { CaravanObject, KubeMeta, ServiceType } from './objects.js';
import { byAge, portConflicts } from './ports.js';
import { grantUrl } from '../../site/grants/logic.js';
import {
  GRANT_STATE_SECRET,
  SECRET_KEYS,
  SITE_CA_SECRET,
  decode,
  grantRedemptions,
  planSecrets,
  type SecretPlan,
} from './secrets.js';
import { LINK_ACCESS_SERVICE, planServices, type ServicePlan } from './services.js';
import { checkObject, issueMessage, type CheckedObject, type KubeExtras } from './spec.js';
import { bad, ok, statusOf, unknown, type Findings, type Verdict } from './status.js';
import { podTargets } from './targets.js';

interface Valid<R extends Resource> {
  obj: CaravanObject;
  meta: KubeMeta;
  resource: R;
  extras: KubeExtras;
}

const key = (kind: Kind, name: string): string => `${kind}/${name}`;

/** Ready while no router runs the configuration yet. */
const PENDING = unknown('Pending', 'waiting for the router to run this configuration');

export function reconcile(input: ObservedState): ReconcileResult {
  const ns = input.namespace;
  const live = input.resources.filter(
    (o) => (o.metadata.namespace ?? ns) === ns && o.metadata.deletionTimestamp === undefined,
  );
  const checked = live.map(checkObject);
  const findings = new Map<string, Findings>();
  const kept = new Set<string>();
  const valid = <R extends Resource>(kind: R['kind']): Valid<R>[] =>
    checked
      .filter((c): c is Extract<CheckedObject, { ok: true }> => c.ok && c.obj.kind === kind)
      .map((c) => ({ obj: c.obj, meta: c.obj.metadata, resource: c.resource as R, extras: c.extras }))
      .sort(byAge);
  for (const c of checked) {
    if (c.ok) continue;
    kept.add(key(c.obj.kind, c.obj.metadata.name));
    findings.set(key(c.obj.kind, c.obj.metadata.name), {
      configured: bad('InvalidSpec', issueMessage(c)),
      ...(c.obj.kind === 'Listener' || c.obj.kind === 'Connector'
        ? { matched: unknown('NotConfigured', 'the spec is not valid') }
        : {}),
    });
  }
  const facts = input.facts;

  // --- the Site: one per namespace, the oldest wins ---------------------------------------------------------
  const sites = valid<SiteResource>('Site');
  const site = sites[0];
  for (const s of sites.slice(1))
    findings.set(key('Site', s.meta.name), {
      configured: bad(
        'DuplicateSite',
        `namespace ${ns} already has Site ${site?.meta.name ?? ''}; a namespace is one site`,
      ),
    });
  const la = site?.resource.spec.linkAccess;
  const laType: ServiceType | undefined = la ? (site?.extras.linkAccessType ?? 'LoadBalancer') : undefined;

  // --- listeners: ports, then Services -------------------------------------------------------------------
  const listeners = valid<ListenerResource>('Listener');
  const portClash = portConflicts(site?.resource, listeners);
  const wanted = listeners.filter((l) => !portClash.has(l.meta.name));
  const svc: ServicePlan = planServices({
    namespace: ns,
    routerPodLabels: input.routerPodLabels,
    observed: input.services.filter((s) => (s.metadata.namespace ?? ns) === ns),
    listeners: wanted.map((l) => ({
      meta: l.meta,
      resource: l.resource,
      serviceName: l.extras.serviceName ?? l.meta.name,
    })),
    ...(site && laType ? { site: { meta: site.meta, resource: site.resource, linkAccessType: laType } } : {}),
    kept,
  });
  const serving = wanted.filter((l) => !svc.listenerConflicts.has(l.meta.name));

  // --- Secrets and the link address ---------------------------------------------------------------------
  const links = valid<LinkResource>('Link');
  const secrets: SecretPlan | undefined = site
    ? planSecrets({ namespace: ns, site, links, observed: input.secrets })
    : undefined;
  // a Service of that name that is not Caravan's says nothing about this site's address
  const laService = svc.siteConflict
    ? undefined
    : input.services.find(
        (s) => s.metadata.name === LINK_ACCESS_SERVICE && (s.metadata.namespace ?? ns) === ns,
      );
  const addr: AddressResult | undefined =
    la && laType ? linkAddress(la, laType, laService, ns, LINK_ACCESS_SERVICE) : undefined;
  const address = addr && 'address' in addr ? addr.address : undefined;

  // --- connectors: pods behind a selector ---------------------------------------------------------------
  const connectors: ConnectorResource[] = [];
  for (const c of valid<ConnectorResource>('Connector')) {
    const spec = c.resource.spec;
    let matched: Verdict;
    if (c.extras.selector) {
      const t = podTargets(c.extras.selector, input.pods, ns, spec.port);
      const text = c.extras.selectorText ?? '';
      const first = t.targets[0];
      if (!first) {
        const m = t.matching;
        const notReady =
          m === 0 ? '' : m === 1 ? ' (1 matches but is not ready)' : ` (${m} match but none is ready)`;
        matched = bad('NoReadyPods', `no ready pods match selector ${text}${notReady}`);
      } else {
        const n = t.targets.length;
        matched = ok('PodsReady', `${n} ready ${n > 1 ? 'pods match' : 'pod matches'} selector ${text}`);
        const r = structuredClone(c.resource);
        r.spec.host = first.host;
        r.spec.port = first.port;
        r.spec.targets = t.targets;
        connectors.push(r);
      }
    } else {
      const n = spec.targets?.length ?? 0;
      matched = n > 0 ? ok('Targets', `${n} targets`) : ok('Host', `target ${spec.host}:${spec.port}`);
      connectors.push(c.resource);
    }
    findings.set(key('Connector', c.meta.name), { configured: ok('Configured'), matched });
  }

  // --- the configuration ---------------------------------------------------------------------------------
  const siteBlocked =
    !site || !secrets
      ? `no valid Site in namespace ${ns}`
      : secrets.siteIssues[0] !== undefined
        ? `the Site is not configured: ${secrets.siteIssues[0]}`
        : secrets.missing.length > 0
          ? `waiting for Secret ${secrets.missing.join(', ')}`
          : undefined;
  const runLinks = links.filter((l) => !secrets?.linkIssues.has(l.meta.name));
  const grants = valid<AccessGrantResource>('AccessGrant');
  const grantState = input.secrets.find(
    (s) => s.metadata.name === GRANT_STATE_SECRET && (s.metadata.namespace ?? ns) === ns,
  );
  const caPem = decode(
    input.secrets.find((s) => s.metadata.name === SITE_CA_SECRET && (s.metadata.namespace ?? ns) === ns)
      ?.data?.[SECRET_KEYS.ca.cert],
  );
  const grantFields = new Map(
    grants.map(
      (g) => [g.meta.name, grantStatusFields(g.resource, g.meta, grantState, address, caPem)] as const,
    ),
  );
  const tokens = valid<AccessTokenResource>('AccessToken');
  const config =
    site && secrets?.routerId !== undefined && siteBlocked === undefined
      ? buildConfig({
          namespace: ns,
          stateDir: input.stateDir,
          site: site.resource,
          routerId: secrets.routerId,
          ...(address ? { address } : {}),
          links: runLinks.map((l) => l.resource),
          listeners: serving.map((l) => l.resource),
          connectors,
          // the grant server counts expiry from the status (a Custom Resource has no file time to count from)
          grants: grants.map((g) => {
            const expiresAt = grantFields.get(g.meta.name)?.expiresAt;
            return expiresAt ? { ...g.resource, status: { ...g.resource.status, expiresAt } } : g.resource;
          }),
          tokens: tokens.map((t) => t.resource),
        })
      : undefined;
  /**
   * Ready of a resource that runs in the router: False while the site cannot run, or when `known` (what the
   * core itself can tell) is False; Pending until the router reports; then what `then` reads from its facts.
   */
  const afterSite = (then: () => Verdict, known?: Verdict): Verdict =>
    siteBlocked !== undefined
      ? bad('SiteNotReady', siteBlocked)
      : known?.status === 'False'
        ? known
        : facts
          ? then()
          : PENDING;

  // --- statuses ------------------------------------------------------------------------------------------
  if (site && secrets) {
    const running = siteRunning(secrets, svc, addr, facts);
    findings.set(key('Site', site.meta.name), {
      configured: secrets.siteIssues[0] ? bad('SecretInvalid', secrets.siteIssues[0]) : ok('Configured'),
      running,
      fields: {
        routerId: secrets.routerId,
        linkAccess: address ? { ...address, service: LINK_ACCESS_SERVICE, type: laType } : undefined,
      },
    });
  }
  for (const l of listeners) {
    const name = l.meta.name;
    const clash = portClash.get(name);
    const conflict = svc.listenerConflicts.get(name);
    if (clash || conflict) {
      findings.set(key('Listener', name), {
        configured: clash
          ? bad('PortConflict', `spec.port: ${clash}`)
          : bad('ServiceConflict', conflict ?? ''),
        matched: unknown('NotConfigured', 'the listener is not configured'),
      });
      continue;
    }
    const keys = listenerRoutingKeys(l.resource.spec);
    const service = l.extras.serviceName ?? name;
    const found = facts?.connectorKeys ? keys.find((k) => facts.connectorKeys?.includes(k)) : undefined;
    const matched = !facts?.connectorKeys
      ? unknown('Pending', 'waiting for the router to report connectors')
      : found !== undefined
        ? ok('Matched', `connector for ${found} is reachable`)
        : bad('NoConnector', `no reachable connector for routing key ${keys.join(', ')}`);
    findings.set(key('Listener', name), {
      configured: ok('Configured'),
      matched,
      running: afterSite(() => {
        const b = facts?.listeners?.[name];
        if (!b) return unknown('Pending', 'the router has not bound this listener yet');
        if (!b.bound) return bad('BindFailed', b.error ?? `port ${l.resource.spec.port} could not be bound`);
        return ok('Ready', `Service ${service} port ${l.resource.spec.port}`);
      }),
    });
  }
  for (const c of valid<ConnectorResource>('Connector')) {
    const f = findings.get(key('Connector', c.meta.name));
    if (f) f.running = afterSite(() => ok('Ready'));
  }
  for (const l of links) {
    const issue = secrets?.linkIssues.get(l.meta.name);
    findings.set(key('Link', l.meta.name), {
      configured: issue ? bad('SecretMissing', issue) : ok('Configured'),
      running: afterSite(() => {
        const s = facts?.links?.[l.meta.name];
        if (!s) return unknown('Pending', 'the router has not started this link yet');
        if (s.state === 'up') return ok('LinkUp', 'link up');
        return bad(s.state === 'connecting' ? 'Connecting' : 'LinkDown', s.error ?? `link ${s.state}`);
      }),
    });
  }
  for (const g of grants) {
    // the count the grant server keeps (mirrored into the grant-state Secret) is what the status shows, with the
    // URL and CA a token needs once the site's address is known
    const counted = grantFields.get(g.meta.name) ?? {};
    const obj = { ...g.obj, status: { ...g.obj.status, ...counted } };
    findings.set(key('AccessGrant', g.meta.name), {
      configured: ok('Configured'),
      running: afterSite(
        () =>
          facts?.linkAccess?.bound === false ? bad('BindFailed', facts.linkAccess.error ?? '') : ok('Ready'),
        grantReady(g.resource, obj, la !== undefined, addr, input.now),
      ),
      ...(Object.keys(counted).length > 0 ? { fields: counted } : {}),
    });
  }
  const redeemed = new Set(runLinks.map((l) => l.meta.name));
  for (const t of tokens) {
    const failure = facts?.tokenFailures?.[t.meta.name];
    findings.set(key('AccessToken', t.meta.name), {
      configured: ok('Configured'),
      running: redeemed.has(t.meta.name)
        ? ok('Redeemed', `Link ${t.meta.name} made`)
        : failure !== undefined
          ? bad('RedeemFailed', failure)
          : unknown('Pending', 'not redeemed yet'),
    });
  }

  const statuses: ResourceStatusOut[] = [];
  const statusActions: Action[] = [];
  for (const obj of live) {
    const f = findings.get(key(obj.kind, obj.metadata.name));
    if (!f) continue;
    const { status, changed } = statusOf(obj, f, input.now);
    statuses.push({ kind: obj.kind, name: obj.metadata.name, status });
    if (changed)
      statusActions.push({
        op: 'status',
        kind: obj.kind,
        name: obj.metadata.name,
        ...(obj.metadata.resourceVersion !== undefined
          ? { resourceVersion: obj.metadata.resourceVersion }
          : {}),
        status,
      });
  }

  const actions: Action[] = [
    ...(secrets ? secretActions(secrets.desired, input.secrets) : []),
    ...serviceActions(
      svc.desired,
      input.services.filter((s) => (s.metadata.namespace ?? ns) === ns),
      kept,
    ),
    ...statusActions,
  ];
  return {
    ...(config ? { config } : {}),
    services: svc.desired,
    secrets: secrets?.desired ?? [],
    secretFiles: secrets?.files ?? [],
    statuses,
    ...(address ? { linkAddress: address } : {}),
    ...(laType ? { linkAccessType: laType } : {}),
    actions,
  };
}

function siteRunning(
  secrets: SecretPlan,
  svc: ServicePlan,
  addr: AddressResult | undefined,
  facts: RouterFacts | undefined,
): Verdict {
  if (secrets.missing.length > 0)
    return bad('SecretsPending', `waiting for Secret ${secrets.missing.join(', ')}`);
  if (svc.siteConflict) return bad('ServiceConflict', svc.siteConflict);
  if (addr && 'pending' in addr) return bad('AddressPending', addr.pending);
  if (!facts) return PENDING;
  if (facts.linkAccess && !facts.linkAccess.bound)
    return bad('BindFailed', facts.linkAccess.error ?? 'link access could not be bound');
  if (addr && 'address' in addr) {
    const a = addr.address;
    return ok('Ready', `links accepted at ${a.hosts.join(', ')} port ${a.port} (address from ${a.source})`);
  }
  return ok('Ready');
}

/** Status fields of a grant: the redemption count and expiry, and the URL and CA that go into its tokens. */
function grantStatusFields(
  g: AccessGrantResource,
  meta: KubeMeta,
  grantState: Parameters<typeof grantRedemptions>[0],
  address: { hosts: string[]; grantPort: number } | undefined,
  caPem: string | undefined,
): { redeemed?: number; expiresAt?: string; url?: string; ca?: string } {
  const out: { redeemed?: number; expiresAt?: string; url?: string; ca?: string } = {};
  const counted = grantRedemptions(grantState, g);
  if (counted) Object.assign(out, counted);
  if (out.expiresAt === undefined && meta.creationTimestamp) {
    const created = Date.parse(meta.creationTimestamp);
    const ms = tryParseDuration(g.spec.expiry);
    if (Number.isFinite(created) && ms !== undefined) out.expiresAt = new Date(created + ms).toISOString();
  }
  const host = address?.hosts[0];
  if (address && host !== undefined) out.url = grantUrl(host, address.grantPort, g.metadata.name);
  if (caPem !== undefined && out.url !== undefined) out.ca = caPem;
  return out;
}

function grantReady(
  g: AccessGrantResource,
  obj: CaravanObject,
  linkAccess: boolean,
  addr: AddressResult | undefined,
  now: Date,
): Verdict {
  if (!linkAccess)
    return bad('NoLinkAccess', 'the Site has no spec.linkAccess; grants need a site that accepts links');
  if (addr && 'pending' in addr) return bad('AddressPending', addr.pending);
  // redemption count and expiry are written into the status by the grant server
  const redeemed = obj.status?.['redeemed'];
  const expiresAt = obj.status?.['expiresAt'];
  if (typeof redeemed === 'number' && redeemed >= g.spec.redemptions)
    return bad('UsedUp', `redeemed ${redeemed} of ${g.spec.redemptions} times`);
  if (typeof expiresAt === 'string' && Date.parse(expiresAt) <= now.getTime())
    return bad('Expired', `expired at ${expiresAt}`);
  return ok('Ready');
}
