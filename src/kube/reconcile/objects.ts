/**
 * The Kubernetes objects the reconcile core reads and writes, reduced to the fields it uses. Shapes follow the
 * Kubernetes API (core/v1 Service, Secret, Pod; meta/v1 ObjectMeta, OwnerReference, LabelSelector); anything
 * else an object carries is kept untouched by the core (updates start from the observed object).
 */
import type { Condition, Kind } from '../../api/index.js';

/** meta/v1 OwnerReference (one definition, with the API client's). */
export type { OwnerReference } from '../api.js';
import type { OwnerReference } from '../api.js';

/** meta/v1 ObjectMeta, the fields the core reads or sets. */
export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** One of the six caravan.dev/v1alpha1 Custom Resources, as the API server returns it (spec not yet validated). */
export interface CaravanObject {
  apiVersion: string;
  kind: Kind;
  metadata: KubeMeta;
  spec?: unknown;
  status?: CaravanStatus;
}

/** Status of a Caravan Custom Resource: conditions plus kind-specific fields the core leaves as they are. */
export interface CaravanStatus {
  conditions?: Condition[];
  [field: string]: unknown;
}

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** core/v1 Service. */
export interface ServiceObject {
  apiVersion?: 'v1';
  kind?: 'Service';
  metadata: KubeMeta;
  spec: {
    type?: ServiceType | 'ExternalName';
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    [field: string]: unknown;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** core/v1 Secret; `data` values are base64 as on the wire. */
export interface SecretObject {
  apiVersion?: 'v1';
  kind?: 'Secret';
  metadata: KubeMeta;
  type?: string;
  data?: Record<string, string>;
}

/** core/v1 Pod, the fields that decide whether it is a connector target. */
export interface PodObject {
  metadata: KubeMeta;
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    podIP?: string;
    conditions?: { type: string; status: 'True' | 'False' | 'Unknown' }[];
  };
}

/** meta/v1 LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
