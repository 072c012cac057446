/**
 * What a reload changes, as typed changes per resource kind and name: added, updated (with the spec fields that
 * changed, and whether the running resource can take them in place) or removed. Pure: the reconcile applies
 * the changes (reconcile.ts).
 */
import type { ConnectorResource, Kind, LinkResource, ListenerResource } from '../api/index.js';

interface Named {
  kind: Kind;
  metadata: { name: string; generation?: number };
  spec: object;
}

export type ResourceChange<R extends Named> =
  | { op: 'added'; kind: Kind; name: string; resource: R }
  | {
      op: 'updated';
      kind: Kind;
      name: string;
      resource: R;
      previous: R;
      /** top-level spec fields whose value changed (`spec.port`), sorted; empty when only metadata changed */
      fields: string[];
      /** the running resource takes the new spec without being stopped */
      inPlace: boolean;
    }
  | { op: 'removed'; kind: Kind; name: string; previous: R };

const json = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

/** The top-level spec fields that differ between two specs, as `spec.<field>`, sorted. */
export function changedFields(a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => json((a as Record<string, unknown>)[k]) !== json((b as Record<string, unknown>)[k]))
    .sort()
    .map((k) => `spec.${k}`);
}

/**
 * The changes that turn `running` into `desired` (matched by name). `inPlace(previous, next, fields)` says
 * whether an update can be applied to the running resource; a resource whose spec and metadata are unchanged
 * yields no change. Order: removals, updates, additions, each by name.
 */
export function diffResources<R extends Named>(
  running: readonly R[],
  desired: readonly R[],
  inPlace: (previous: R, next: R, fields: string[]) => boolean,
): ResourceChange<R>[] {
  const byName = (list: readonly R[]): Map<string, R> => new Map(list.map((r) => [r.metadata.name, r]));
  const cur = byName(running);
  const want = byName(desired);
  const names = (m: Map<string, R>): string[] => [...m.keys()].sort();
  const out: ResourceChange<R>[] = [];
  for (const name of names(cur)) {
    const previous = cur.get(name)!;
    if (!want.has(name)) out.push({ op: 'removed', kind: previous.kind, name, previous });
  }
  for (const name of names(want)) {
    const resource = want.get(name)!;
    const previous = cur.get(name);
    if (!previous) continue;
    const fields = changedFields(previous.spec, resource.spec);
    if (fields.length === 0 && json(previous.metadata) === json(resource.metadata)) continue;
    out.push({
      op: 'updated',
      kind: resource.kind,
      name,
      resource,
      previous,
      fields,
      inPlace: fields.length === 0 || inPlace(previous, resource, fields),
    });
  }
  for (const name of names(want)) {
    const resource = want.get(name)!;
    if (!cur.has(name)) out.push({ op: 'added', kind: resource.kind, name, resource });
  }
  return out;
}

/**
 * Listener fields a running tcp listener takes without rebinding its port: where connections go and who may
 * connect. Connections already established are not touched. A new host, port or type rebinds; the other
 * listener types (http1, http2, udp, amqp) are replaced on any change.
 */
export const LISTENER_IN_PLACE_FIELDS: ReadonlySet<string> = new Set([
  'spec.routingKey',
  'spec.priority',
  'spec.weighted',
  'spec.distribution',
  'spec.allow',
  'spec.affinity',
  'spec.earlyData',
]);

export function listenerInPlace(
  previous: ListenerResource,
  next: ListenerResource,
  fields: string[],
): boolean {
  return (
    previous.spec.type === 'tcp' &&
    next.spec.type === 'tcp' &&
    fields.every((f) => LISTENER_IN_PLACE_FIELDS.has(f))
  );
}

/**
 * Connector fields a running tcp connector takes without being stopped: where new flows go (the targets of a
 * pod selector follow the pods this way). Flows already established are not touched. Any other change, and the
 * other connector types, replace the connector.
 */
export const CONNECTOR_IN_PLACE_FIELDS: ReadonlySet<string> = new Set([
  'spec.host',
  'spec.port',
  'spec.targets',
]);

export function connectorInPlace(
  previous: ConnectorResource,
  next: ConnectorResource,
  fields: string[],
): boolean {
  return (
    previous.spec.type === 'tcp' &&
    next.spec.type === 'tcp' &&
    fields.every((f) => CONNECTOR_IN_PLACE_FIELDS.has(f))
  );
}

/** A link takes a new cost in place (the peer takes it over); any other change redials. */
export function linkInPlace(_previous: LinkResource, _next: LinkResource, fields: string[]): boolean {
  return fields.every((f) => f === 'spec.cost');
}

/** One line per change for logs and the reload result, e.g. `Listener/db updated in place (spec.allow)`. */
export function describeChange(c: ResourceChange<Named>): string {
  const id = `${c.kind}/${c.name}`;
  if (c.op !== 'updated') return `${id} ${c.op}`;
  const what = c.fields.length > 0 ? ` (${c.fields.join(', ')})` : ' (metadata)';
  return `${id} updated${c.inPlace ? ' in place' : ''}${what}`;
}
