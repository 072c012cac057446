/** The REST addresses of what the controller watches: the six Caravan kinds and the namespace's Services, Secrets, Pods. */
import { API_VERSION, KINDS, type Kind } from '../../api/index.js';
import { SCHEMAS } from '../../api/schema/index.js';
import type { ResourceRef } from '../api.js';

const [GROUP = 'caravan.dev', VERSION = 'v1alpha1'] = API_VERSION.split('/');

export const kindRef = (kind: Kind): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural: SCHEMAS[kind].plural,
});

export const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services' };
export const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets' };
export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods' };

/** What the controller watches, by the name its cache and metrics use. */
export type WatchName = Kind | 'Service' | 'Secret' | 'Pod';

export const WATCHED: ReadonlyArray<{ name: WatchName; ref: ResourceRef }> = [
  ...KINDS.map((k) => ({ name: k, ref: kindRef(k) })),
  { name: 'Service', ref: SERVICES },
  { name: 'Secret', ref: SECRETS },
  { name: 'Pod', ref: PODS },
];
