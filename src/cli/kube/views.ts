/**
 * Custom Resources as the CLI shows them: each is checked as the router in Kubernetes mode checks it
 * (`checkObject`), then becomes the row a host verb prints, with the conditions the router wrote into its status.
 * A resource whose spec the router refuses keeps its name, its conditions and the first problem.
 */
import type { Condition, ConnectorResource, LinkResource, ListenerResource } from '../../api/index.js';
import { checkObject, issueMessage } from '../../kube/reconcile/spec.js';
import type { CaravanObject } from '../../kube/reconcile/index.js';
import type { LinkRow } from '../links-view.js';
import { connectorRows, listenerRows, type ConnectorRow, type ListenerRow } from '../services.js';

/** `{generation, status: {conditions}}` of a CR, for the row's `-o json|yaml` and READY column. */
function crStatus(o: CaravanObject): { generation?: number; status?: { conditions: Condition[] } } {
  const conditions = o.status?.conditions;
  return {
    ...(o.metadata.generation !== undefined ? { generation: o.metadata.generation } : {}),
    ...(conditions?.length ? { status: { conditions } } : {}),
  };
}

export function condition(o: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return o.status?.conditions?.find((c) => c.type === type);
}

const invalid = {
  type: '-',
  routingKey: '-',
  address: '-',
  distribution: '-',
  target: '-',
};

export function kubeListenerRows(objs: readonly CaravanObject[]): ListenerRow[] {
  return objs.map((o) => {
    const c = checkObject(o);
    if (!c.ok) return { name: o.metadata.name, ...invalid, error: issueMessage(c), ...crStatus(o) };
    const r = c.resource as ListenerResource;
    const row = listenerRows([r], undefined)[0] as ListenerRow;
    // in the pod a listener binds every address; clients use its Service
    row.address = `${c.extras.serviceName ?? o.metadata.name}:${r.spec.port}`;
    const m = condition(o, 'Matched');
    if (m && m.status !== 'Unknown') row.matched = m.status === 'True';
    return Object.assign(row, crStatus(o));
  });
}

export function kubeConnectorRows(objs: readonly CaravanObject[]): ConnectorRow[] {
  return objs.map((o) => {
    const c = checkObject(o);
    if (!c.ok) return { name: o.metadata.name, ...invalid, ...crStatus(o) };
    const row = connectorRows([c.resource as ConnectorResource], undefined)[0] as ConnectorRow;
    if (c.extras.selectorText !== undefined)
      row.target = `pods ${c.extras.selectorText}:${(c.resource as ConnectorResource).spec.port}`;
    const m = condition(o, 'Matched');
    if (m && m.status !== 'Unknown') row.healthy = m.status === 'True';
    return Object.assign(row, crStatus(o));
  });
}

/** A Link's state from its Ready condition (the router's reasons LinkUp, Connecting, LinkDown). */
function linkState(o: CaravanObject): string {
  const r = condition(o, 'Ready');
  if (!r) return 'pending';
  if (r.status === 'True') return 'up';
  if (r.reason === 'LinkDown') return 'down';
  if (r.reason === 'Connecting') return 'connecting';
  return r.status === 'False' ? 'not ready' : 'pending';
}

export function kubeLinkRows(objs: readonly CaravanObject[]): LinkRow[] {
  return objs.map((o) => {
    const c = checkObject(o);
    if (!c.ok) return { name: o.metadata.name, direction: 'out', state: 'invalid', ...crStatus(o) };
    const r = c.resource as LinkResource;
    return {
      name: o.metadata.name,
      direction: 'out',
      state: linkState(o),
      cost: r.spec.cost,
      endpoints: r.spec.endpoints.map((e) => `${e.host}:${e.port}`),
      ...crStatus(o),
    };
  });
}
