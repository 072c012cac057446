/**
 * Builders of Kubernetes objects for the reconcile-core unit tests, and `applyActions`: what an API server does
 * with the core's actions, reduced to the object bookkeeping the core reads back (uid, resourceVersion,
 * generation untouched by status writes, a clusterIP on new Services). It is not the API stand-in; it exists so
 * the tests can check that applying the output and reconciling again gives no actions.
 */
import type {
  Action,
  CaravanObject,
  ObservedState,
  PodObject,
  SecretObject,
  ServiceObject,
} from '../../src/kube/reconcile/index.js';
import type { Kind } from '../../src/api/index.js';
import { generateIdentity } from '../../src/identity.js';

export const NS = 'shop';
export const ROUTER_LABELS = { 'app.kubernetes.io/name': 'caravan-router', 'caravan.dev/site': 'east' };
export const T0 = new Date('2026-03-01T10:00:00Z');

let seq = 0;
const uid = (): string => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

export function cr(
  kind: Kind,
  name: string,
  spec: unknown,
  extra: { generation?: number; createdAt?: string; status?: CaravanObject['status'] } = {},
): CaravanObject {
  return {
    apiVersion: 'caravan.dev/v1alpha1',
    kind,
    metadata: {
      name,
      namespace: NS,
      uid: uid(),
      generation: extra.generation ?? 1,
      resourceVersion: String(++seq),
      creationTimestamp: extra.createdAt ?? '2026-03-01T09:00:00Z',
    },
    spec,
    ...(extra.status ? { status: extra.status } : {}),
  };
}

export function pod(
  name: string,
  labels: Record<string, string>,
  ip: string,
  state: { ready?: boolean; phase?: 'Running' | 'Pending'; deleting?: boolean } = {},
): PodObject {
  return {
    metadata: {
      name,
      namespace: NS,
      uid: uid(),
      labels,
      ...(state.deleting ? { deletionTimestamp: '2026-03-01T10:00:00Z' } : {}),
    },
    status: {
      phase: state.phase ?? 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: (state.ready ?? true) ? 'True' : 'False' }],
    },
  };
}

/** A Service nobody from Caravan made (an application's own). */
export function foreignService(name: string, port = 80): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, uid: uid(), resourceVersion: String(++seq), labels: { app: name } },
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      ports: [{ port, protocol: 'TCP', targetPort: port }],
    },
  };
}

export function observed(resources: CaravanObject[], more: Partial<ObservedState> = {}): ObservedState {
  return {
    namespace: NS,
    routerPodLabels: ROUTER_LABELS,
    stateDir: '/var/lib/caravan',
    resources,
    services: [],
    secrets: [],
    pods: [],
    now: T0,
    ...more,
  };
}

/** Secret data the controller would generate (fake PEM text; the core only checks that the keys exist). */
/** One real Ed25519 identity key per test process: the core derives the router id from it. */
export const IDENTITY_PEM = generateIdentity('east').pem;

function generated(a: Extract<Action, { kind: 'Secret' }>): Record<string, string> {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  if (a.generate?.kind === 'identity-key') return { 'identity.key': b64(IDENTITY_PEM) };
  if (a.generate?.kind === 'site-ca') return { 'ca.crt': b64('CA CERT'), 'ca.key': b64('CA KEY') };
  if (a.generate?.kind === 'server-cert')
    return { 'tls.crt': b64('SERVER CERT'), 'tls.key': b64('SERVER KEY') };
  return a.object.data ?? {};
}

/** The state after an API server applied `actions` (throws on what a server would refuse). */
export function applyActions(state: ObservedState, actions: readonly Action[]): ObservedState {
  const services = [...state.services];
  const secrets: SecretObject[] = [...state.secrets];
  const resources = state.resources.map((r) => structuredClone(r));
  for (const a of actions) {
    if (a.op === 'create' && a.kind === 'Service') {
      if (services.some((s) => s.metadata.name === a.object.metadata.name))
        throw new Error(`409 AlreadyExists: Service ${a.object.metadata.name}`);
      services.push({
        ...structuredClone(a.object),
        metadata: { ...structuredClone(a.object.metadata), uid: uid(), resourceVersion: String(++seq) },
        spec: { ...structuredClone(a.object.spec), clusterIP: `10.96.0.${seq % 250}` },
      });
    } else if (a.op === 'update' && a.kind === 'Service') {
      const i = services.findIndex((s) => s.metadata.name === a.object.metadata.name);
      const cur = services[i];
      if (!cur) throw new Error(`404: Service ${a.object.metadata.name}`);
      if (cur.metadata.resourceVersion !== a.object.metadata.resourceVersion)
        throw new Error(`409 Conflict: Service ${a.object.metadata.name}`);
      services[i] = {
        ...structuredClone(a.object),
        metadata: { ...structuredClone(a.object.metadata), resourceVersion: String(++seq) },
      };
    } else if (a.op === 'delete') {
      const i = services.findIndex((s) => s.metadata.name === a.name);
      if (i < 0 || (a.uid !== undefined && services[i]?.metadata.uid !== a.uid))
        throw new Error(`404/409: Service ${a.name}`);
      services.splice(i, 1);
    } else if (a.op === 'create' && a.kind === 'Secret') {
      if (secrets.some((s) => s.metadata.name === a.object.metadata.name))
        throw new Error(`409 AlreadyExists: Secret ${a.object.metadata.name}`);
      secrets.push({
        ...structuredClone(a.object),
        metadata: { ...structuredClone(a.object.metadata), uid: uid(), resourceVersion: String(++seq) },
        data: generated(a),
      });
    } else if (a.op === 'status') {
      const r = resources.find((x) => x.kind === a.kind && x.metadata.name === a.name);
      if (!r) throw new Error(`404: ${a.kind} ${a.name}`);
      if (a.resourceVersion !== undefined && r.metadata.resourceVersion !== a.resourceVersion)
        throw new Error(`409 Conflict: ${a.kind} ${a.name}`);
      r.status = structuredClone(a.status);
      r.metadata.resourceVersion = String(++seq);
    }
  }
  return { ...state, services, secrets, resources };
}

export const ofKind = <K extends Action['op']>(
  actions: readonly Action[],
  op: K,
): Extract<Action, { op: K }>[] => actions.filter((a): a is Extract<Action, { op: K }> => a.op === op);
