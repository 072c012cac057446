/**
 * Fields only a Kubernetes site reads: they are not in the kinds' schemas (a host site refuses them), the CRDs
 * declare them (crd.ts) and the router in Kubernetes mode checks them (src/kube/reconcile/spec.ts). A host site
 * refuses them with a message that names `--kube`, so a file written for a namespace is not a puzzle on a host.
 * Pure: no I/O.
 */
import type { Kind } from '../types.js';

/** kind → field path → what the field is. */
export const KUBE_ONLY_FIELDS: Partial<Record<Kind, Record<string, string>>> = {
  Connector: { 'spec.selector': 'the label selector of the pods to deliver to' },
  Site: { 'spec.linkAccess.type': 'the type of the link-access Service' },
};

/** The host validator's message for a Kubernetes-only field, or undefined when `path` is not one. */
export function kubeOnlyMessage(kind: Kind, path: string): string | undefined {
  const what = KUBE_ONLY_FIELDS[kind]?.[path];
  return what === undefined
    ? undefined
    : `only a Kubernetes site reads this field (${what}): apply the file to a namespace with --kube, or remove it for a host site`;
}
