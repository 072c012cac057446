/**
 * How Caravan marks the core objects it makes (Services, Secrets), and the one rule that protects everything
 * else: an object is Caravan's only when it carries both the managed-by label below and an owner reference to a
 * caravan.dev resource. Objects made by people, Helm or the install manifests never carry both, so the core never
 * updates or deletes them.
 */
import { API_VERSION, type Kind } from '../../api/index.js';
import type { KubeMeta, OwnerReference } from './objects.js';

/** Value distinct from what install manifests use, so the reconciler never claims an installed object. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'caravan-router';
/** Which resource an object is made for (`Listener`), and its name. */
export const OWNER_KIND_LABEL = 'caravan.dev/owner-kind';
export const OWNER_NAME_LABEL = 'caravan.dev/owner-name';
/** Annotation telling people not to edit the object by hand (the router rewrites it). */
export const CONTROLLED_ANNOTATION = 'caravan.dev/controlled';

/** The owner reference the core puts on an object it makes for `owner`. */
export function ownerReference(kind: Kind, meta: KubeMeta): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind,
    name: meta.name,
    uid: meta.uid ?? '',
    controller: true,
    blockOwnerDeletion: false,
  };
}

/** Labels of an object the core makes for `owner`. */
export function ownedLabels(kind: Kind, name: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_KIND_LABEL]: kind, [OWNER_NAME_LABEL]: name };
}

export const ownedAnnotations = (): Record<string, string> => ({
  [CONTROLLED_ANNOTATION]: 'Made by the Caravan router; edits are overwritten',
});

/** The caravan.dev owner reference of an object, when it has one. */
export function caravanOwner(meta: KubeMeta): OwnerReference | undefined {
  return meta.ownerReferences?.find((r) => r.apiVersion === API_VERSION);
}

/** Caravan's object: the managed-by label and a caravan.dev owner reference, both. */
export function isCaravanOwned(meta: KubeMeta): boolean {
  return meta.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && caravanOwner(meta) !== undefined;
}

/** Caravan's object made for this very resource (same kind, name and uid). */
export function isOwnedBy(meta: KubeMeta, kind: Kind, owner: KubeMeta): boolean {
  if (!isCaravanOwned(meta)) return false;
  const ref = caravanOwner(meta);
  return ref?.kind === kind && ref.name === owner.name && (owner.uid === undefined || ref.uid === owner.uid);
}
