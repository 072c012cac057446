/**
 * Desired vs observed → actions. Services: create the missing, update the Caravan-owned ones that differ in
 * what Caravan sets (starting from the observed object, so fields the API server filled in — clusterIP, node
 * ports of an unchanged type — stay), delete the Caravan-owned ones nothing wants. Secrets: create the missing,
 * never touch an existing one. Statuses: write only what changes. Applying the actions and reconciling again
 * gives no actions. Pure.
 */
import type { Action, DesiredSecret } from './model.js';
import type { SecretObject, ServiceObject, ServicePort } from './objects.js';
import { caravanOwner, isCaravanOwned } from './ownership.js';

/** JSON with sorted keys, for comparisons that ignore key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/** The observed Service with Caravan's fields set as desired. */
export function mergeService(observed: ServiceObject, desired: ServiceObject): ServiceObject {
  const type = desired.spec.type ?? 'ClusterIP';
  const keepNodePorts = type !== 'ClusterIP' && observed.spec.type === type;
  const ports: ServicePort[] = (desired.spec.ports ?? []).map((p) => {
    const old = observed.spec.ports?.find((o) => o.name === p.name);
    return keepNodePorts && old?.nodePort !== undefined ? { ...p, nodePort: old.nodePort } : { ...p };
  });
  const others = (observed.metadata.ownerReferences ?? []).filter(
    (r) => r !== caravanOwner(observed.metadata),
  );
  return {
    ...observed,
    metadata: {
      ...observed.metadata,
      labels: { ...observed.metadata.labels, ...desired.metadata.labels },
      annotations: { ...observed.metadata.annotations, ...desired.metadata.annotations },
      ownerReferences: [...(desired.metadata.ownerReferences ?? []), ...others],
    },
    spec: { ...observed.spec, type, selector: { ...desired.spec.selector }, ports },
  };
}

/** What Caravan sets on a Service, for the update decision. */
const managed = (s: ServiceObject): unknown => ({
  labels: s.metadata.labels ?? {},
  annotations: s.metadata.annotations ?? {},
  owners: s.metadata.ownerReferences ?? [],
  type: s.spec.type ?? 'ClusterIP',
  selector: s.spec.selector ?? {},
  ports: (s.spec.ports ?? []).map((p) => ({ protocol: 'TCP', targetPort: p.port, ...p })),
});

export function serviceActions(
  desired: readonly ServiceObject[],
  observed: readonly ServiceObject[],
  /** `Kind/name` of resources whose Services stay even though nothing wants them now */
  kept: ReadonlySet<string>,
): Action[] {
  const byName = new Map(observed.map((s) => [s.metadata.name, s]));
  const wanted = new Set(desired.map((s) => s.metadata.name));
  const out: Action[] = [];
  for (const d of desired) {
    const o = byName.get(d.metadata.name);
    if (!o) {
      out.push({ op: 'create', kind: 'Service', object: d });
      continue;
    }
    const merged = mergeService(o, d);
    if (stableJson(managed(merged)) !== stableJson(managed(o)))
      out.push({ op: 'update', kind: 'Service', object: merged });
  }
  for (const o of [...observed].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    if (wanted.has(o.metadata.name) || !isCaravanOwned(o.metadata)) continue;
    const ref = caravanOwner(o.metadata);
    if (ref && kept.has(`${ref.kind}/${ref.name}`)) continue;
    out.push({
      op: 'delete',
      kind: 'Service',
      name: o.metadata.name,
      ...(o.metadata.uid !== undefined ? { uid: o.metadata.uid } : {}),
    });
  }
  return out;
}

export function secretActions(
  desired: readonly DesiredSecret[],
  observed: readonly SecretObject[],
): Action[] {
  const have = new Set(observed.map((s) => s.metadata.name));
  return desired
    .filter((d) => !have.has(d.object.metadata.name))
    .map((d) => ({
      op: 'create' as const,
      kind: 'Secret' as const,
      object: d.object,
      ...(d.generate ? { generate: d.generate } : {}),
    }));
}
