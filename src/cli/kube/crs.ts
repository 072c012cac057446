/**
 * The Caravan Custom Resources of one namespace, through KubeApi: their REST addresses, create/list/get/delete,
 * and the API's failures turned into messages a user can act on (each with its stable code): the CRDs are not
 * installed, the namespace does not exist, RBAC forbids the verb, the name is taken, no such object.
 */
import { API_VERSION, type Kind } from '../../api/index.js';
import { SCHEMAS } from '../../api/schema/index.js';
import { GROUP } from '../../api/schema/crd.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { ResourceRef } from '../../kube/api.js';
import { KubeApiError } from '../../kube/errors.js';
import type { CaravanObject } from '../../kube/reconcile/index.js';
import type { KubeTarget } from './connect.js';

export function crRef(kind: Kind): ResourceRef {
  return { group: GROUP, version: API_VERSION.split('/')[1] as string, plural: SCHEMAS[kind].plural };
}

/** A new Custom Resource: the spec as the user gave it (the router applies the defaults, as on a host site). */
export function newCr(
  kind: Kind,
  name: string,
  namespace: string,
  spec: Record<string, unknown>,
): CaravanObject {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'caravan-cli' } },
    spec,
  };
}

type Verb = 'create' | 'update' | 'list' | 'get' | 'delete' | 'read';

/** The error to show for a failed request on `kind` (and `name`) in the target's namespace. */
export function explain(e: unknown, t: KubeTarget, verb: Verb, kind: Kind, name?: string): unknown {
  if (!(e instanceof KubeApiError)) return e;
  const plural = SCHEMAS[kind].plural;
  const ns = t.namespace;
  const what = `${plural}.${GROUP}`;
  switch (e.httpStatus) {
    case 0:
      return new CaravanError(
        ErrorCodes.KUBE_API,
        `cannot reach the Kubernetes API at ${t.server} (kubeconfig ${t.file}): ${e.message.replace(/^[^:]*: /, '')}`,
        { cause: e },
      );
    case 401:
      return new CaravanError(
        ErrorCodes.KUBE_UNAUTHORIZED,
        `the cluster at ${t.server} did not accept the credentials of kubeconfig ${t.file} (401); log in again or pick another --context`,
        { cause: e },
      );
    case 403:
      return new CaravanError(
        ErrorCodes.KUBE_FORBIDDEN,
        `forbidden: you may not ${verb === 'read' ? 'get' : verb} ${what} in namespace ${ns}; ask the namespace's admin for a Role that allows it (check with 'kubectl auth can-i ${verb === 'read' ? 'get' : verb} ${what} -n ${ns}')`,
        { cause: e },
      );
    case 404: {
      if (/namespaces "[^"]*" not found/.test(e.message))
        return new CaravanError(ErrorCodes.KUBE_NOT_FOUND, `namespace ${ns} does not exist in the cluster`, {
          cause: e,
        });
      if (name !== undefined && e.message.includes(`${what} "${name}" not found`))
        return new CaravanError(
          ErrorCodes.KUBE_NOT_FOUND,
          `no ${kind.toLowerCase()} named '${name}' in namespace ${ns}`,
          { cause: e },
        );
      return new CaravanError(
        ErrorCodes.KUBE_NO_CRDS,
        `the Caravan CRDs are not installed in the cluster at ${t.server} (no ${what}); a cluster admin installs them once: 'caravan kube manifests --crds-only | kubectl apply -f -'`,
        { cause: e },
      );
    }
    case 409:
      if (e.reason === 'AlreadyExists')
        return new CaravanError(
          ErrorCodes.KUBE_ALREADY_EXISTS,
          `${kind} "${name ?? ''}" already exists in namespace ${ns}; delete it first or change it with 'kubectl apply'`,
          { cause: e },
        );
      return e;
    case 422:
      return new CaravanError(ErrorCodes.KUBE_INVALID, `the cluster refused the ${kind}: ${e.message}`, {
        cause: e,
      });
    default:
      return e;
  }
}

export async function createCr(t: KubeTarget, obj: CaravanObject): Promise<CaravanObject> {
  try {
    return await t.api.create(crRef(obj.kind), t.namespace, obj);
  } catch (e) {
    throw explain(e, t, 'create', obj.kind, obj.metadata.name);
  }
}

/** PUT with the object's resourceVersion; a stale one stays KUBE_CONFLICT (the caller re-reads and retries). */
export async function updateCr(t: KubeTarget, obj: CaravanObject): Promise<CaravanObject> {
  try {
    return await t.api.update(crRef(obj.kind), t.namespace, obj);
  } catch (e) {
    throw explain(e, t, 'update', obj.kind, obj.metadata.name);
  }
}

export async function listCrs(t: KubeTarget, kind: Kind): Promise<CaravanObject[]> {
  try {
    const l = await t.api.list<CaravanObject>(crRef(kind), t.namespace);
    const items = l.items.map((o) => ({ ...o, kind }) as CaravanObject);
    return items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  } catch (e) {
    throw explain(e, t, 'list', kind);
  }
}

/** The object, or undefined when there is none of that name. */
export async function getCr(t: KubeTarget, kind: Kind, name: string): Promise<CaravanObject | undefined> {
  try {
    return await t.api.get<CaravanObject>(crRef(kind), t.namespace, name);
  } catch (e) {
    const x = explain(e, t, 'get', kind, name);
    if (
      x instanceof CaravanError &&
      x.code === ErrorCodes.KUBE_NOT_FOUND &&
      !x.message.startsWith('namespace')
    )
      return undefined;
    throw x;
  }
}

/** Deletes `name`; KUBE_NOT_FOUND naming the ones there are when it does not exist. */
export async function deleteCr(t: KubeTarget, kind: Kind, name: string): Promise<void> {
  try {
    await t.api.delete(crRef(kind), t.namespace, name);
  } catch (e) {
    const x = explain(e, t, 'delete', kind, name);
    if (
      x instanceof CaravanError &&
      x.code === ErrorCodes.KUBE_NOT_FOUND &&
      !x.message.startsWith('namespace')
    ) {
      const names = (await listCrs(t, kind).catch(() => [])).map((o) => o.metadata.name);
      throw new CaravanError(
        ErrorCodes.KUBE_NOT_FOUND,
        `${x.message}${names.length ? ` (${SCHEMAS[kind].plural}: ${names.join(', ')})` : ''}`,
        { cause: e },
      );
    }
    throw x;
  }
}
