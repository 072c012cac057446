/**
 * Desired Services: one ClusterIP Service per Listener (selecting the router pods, on the listener's port) and
 * the link-access Service of the Site. A Service of the wanted name that Caravan does not own is a conflict,
 * reported and never overwritten; two Listeners wanting one name: the one that holds it keeps it (else the
 * oldest). Pure.
 */
import type { Kind, ListenerResource, SiteResource } from '../../api/index.js';
import type { KubeMeta, ServiceObject, ServicePort, ServiceType } from './objects.js';
import { byAge } from './ports.js';
import {
  caravanOwner,
  isCaravanOwned,
  isOwnedBy,
  ownedAnnotations,
  ownedLabels,
  ownerReference,
} from './ownership.js';

/** The Service other sites dial (links and the grant server). */
export const LINK_ACCESS_SERVICE = 'caravan-link-access';

/**
 * Labels a controller stamps on each revision of its pods. A Service selecting one would lose every pod at the
 * next rollout, so they never go into a selector.
 */
const REVISION_LABELS = new Set(['pod-template-hash', 'controller-revision-hash', 'pod-template-generation']);

export function routerSelector(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !REVISION_LABELS.has(k)));
}

export interface WantedListener {
  meta: KubeMeta;
  resource: ListenerResource;
  serviceName: string;
}

export interface ServicePlan {
  desired: ServiceObject[];
  /** Listener name → why it has no Service (the message names the Service). */
  listenerConflicts: Map<string, string>;
  /** Why the Site has no link-access Service. */
  siteConflict?: string;
}

function serviceObject(
  namespace: string,
  name: string,
  owner: { kind: Kind; meta: KubeMeta },
  type: ServiceType,
  selector: Readonly<Record<string, string>>,
  ports: ServicePort[],
): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: ownedLabels(owner.kind, owner.meta.name),
      annotations: ownedAnnotations(),
      ownerReferences: [ownerReference(owner.kind, owner.meta)],
    },
    spec: { type, selector: routerSelector(selector), ports },
  };
}

/** Why an existing Service may not be taken: it is not Caravan's, or a resource that keeps its Service holds it. */
function taken(observed: ServiceObject | undefined, kept: ReadonlySet<string>): string | undefined {
  if (!observed) return undefined;
  const name = observed.metadata.name;
  if (!isCaravanOwned(observed.metadata))
    return `Service ${name} exists and is not Caravan's; it is not overwritten`;
  const ref = caravanOwner(observed.metadata);
  if (ref && kept.has(`${ref.kind}/${ref.name}`)) return `Service ${name} is held by ${ref.kind} ${ref.name}`;
  return undefined;
}

export function planServices(input: {
  namespace: string;
  routerPodLabels: Readonly<Record<string, string>>;
  observed: readonly ServiceObject[];
  listeners: readonly WantedListener[];
  site?: { meta: KubeMeta; resource: SiteResource; linkAccessType: ServiceType };
  /** `Kind/name` of resources whose Services stay as they are (their spec is invalid right now). */
  kept: ReadonlySet<string>;
}): ServicePlan {
  const byName = new Map(input.observed.map((s) => [s.metadata.name, s]));
  const plan: ServicePlan = { desired: [], listenerConflicts: new Map() };

  const site = input.site;
  const la = site?.resource.spec.linkAccess;
  if (site && la) {
    const owner = { kind: 'Site' as const, meta: site.meta };
    const conflict = taken(byName.get(LINK_ACCESS_SERVICE), input.kept);
    if (conflict) {
      plan.siteConflict = conflict;
    } else {
      plan.desired.push(
        serviceObject(
          input.namespace,
          LINK_ACCESS_SERVICE,
          owner,
          site.linkAccessType,
          input.routerPodLabels,
          [
            { name: 'link', protocol: 'TCP', port: la.port, targetPort: la.port },
            { name: 'grants', protocol: 'TCP', port: la.grantPort, targetPort: la.grantPort },
          ],
        ),
      );
    }
  }

  const groups = new Map<string, WantedListener[]>();
  for (const l of [...input.listeners].sort(byAge))
    groups.set(l.serviceName, [...(groups.get(l.serviceName) ?? []), l]);

  for (const [name, wanting] of groups) {
    const observed = byName.get(name);
    if (site && la && name === LINK_ACCESS_SERVICE) {
      for (const l of wanting)
        plan.listenerConflicts.set(l.meta.name, `Service ${name} is the site's link-access Service`);
      continue;
    }
    const holder = observed
      ? wanting.find((l) => isOwnedBy(observed.metadata, 'Listener', l.meta))
      : undefined;
    const winner = holder ?? wanting[0];
    if (!winner) continue;
    const owner = { kind: 'Listener' as const, meta: winner.meta };
    const conflict = holder ? undefined : taken(observed, input.kept);
    if (conflict) {
      for (const l of wanting)
        plan.listenerConflicts.set(l.meta.name, `${conflict} (set spec.host to another name)`);
      continue;
    }
    for (const l of wanting)
      if (l !== winner)
        plan.listenerConflicts.set(
          l.meta.name,
          `Service ${name} is already made for Listener ${winner.meta.name} (set spec.host to another name)`,
        );
    const spec = winner.resource.spec;
    plan.desired.push(
      serviceObject(input.namespace, name, owner, 'ClusterIP', input.routerPodLabels, [
        {
          name: spec.type,
          protocol: spec.type === 'udp' ? 'UDP' : 'TCP',
          port: spec.port,
          targetPort: spec.port,
        },
      ]),
    );
  }
  return plan;
}
