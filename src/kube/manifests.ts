/**
 * What `caravan kube manifests` prints: the CRDs (cluster-scoped, installed once by a cluster admin) and the
 * namespace install (ServiceAccount, a namespace-scoped Role and its RoleBinding, the router Deployment). The Role is
 * built from ROUTER_ACCESS, the one list of what the router touches in its namespace and why. Pure: no I/O.
 */
import { stringify } from 'yaml';
import { KINDS } from '../api/index.js';
import { crds, GROUP } from '../api/schema/crd.js';
import { SCHEMAS } from '../api/schema/index.js';

export const DEFAULT_NAMESPACE = 'caravan';
export const ROUTER_NAME = 'caravan-router';
/** Where the router keeps its scratch files (logs, runtime files) in the pod: an emptyDir. */
export const WORK_DIR = '/var/lib/caravan';
/** The uid and gid of the image's `caravan` user (Dockerfile). */
export const RUN_AS = 10001;
/** The router's health endpoint in the pod (`--health-port`): `/healthz` for liveness, `/readyz` for readiness. */
export const HEALTH_PORT = 8086;

export interface ManifestOptions {
  namespace: string;
  image: string;
}

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string };

/** One rule of the router's Role, with the reason each verb is there (for the docs). */
export interface AccessRule {
  apiGroup: string;
  resources: readonly string[];
  verbs: readonly string[];
  why: string;
}

const plurals = KINDS.map((k) => SCHEMAS[k].plural);

/** Everything the router reads or writes through the Kubernetes API, all in its own namespace. */
export const ROUTER_ACCESS: readonly AccessRule[] = [
  {
    apiGroup: GROUP,
    resources: plurals,
    verbs: ['get', 'list', 'watch'],
    why: 'list and watch the Caravan resources of the namespace: they are the configuration of the site',
  },
  {
    apiGroup: GROUP,
    resources: ['links'],
    verbs: ['create', 'update', 'patch', 'delete'],
    why: 'an AccessToken redeemed by the router becomes a Link it writes (and deletes with the token)',
  },
  {
    apiGroup: GROUP,
    resources: plurals.map((p) => `${p}/status`),
    verbs: ['get', 'update', 'patch'],
    why: 'write status conditions (and a grant’s URL and redemptions, the Site’s view of the network) through the status subresource',
  },
  {
    apiGroup: '',
    resources: ['secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    why: 'the site CA, link certificates and keys, grant state; deleted when their resource goes',
  },
  {
    apiGroup: '',
    resources: ['services'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    why: 'one Service per Listener and one for the Site’s link access; watch reads a LoadBalancer’s address',
  },
  {
    apiGroup: '',
    resources: ['pods'],
    verbs: ['get', 'list', 'watch'],
    why: 'a Connector’s `selector`: the ready pods’ IPs become its targets, followed live',
  },
];

const labels = (component: string): Record<string, string> => ({
  'app.kubernetes.io/name': ROUTER_NAME,
  'app.kubernetes.io/part-of': 'caravan',
  'app.kubernetes.io/component': component,
});

/** The pod labels the Deployment selects; never changed, since a Deployment's selector is immutable. */
export const SELECTOR: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': ROUTER_NAME };

function meta(name: string, o: ManifestOptions, component: string): Record<string, unknown> {
  return { name, namespace: o.namespace, labels: labels(component) };
}

export function serviceAccount(o: ManifestOptions): Manifest {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(ROUTER_NAME, o, 'router') };
}

export function role(o: ManifestOptions): Manifest {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(ROUTER_NAME, o, 'router'),
    rules: ROUTER_ACCESS.map((r) => ({
      apiGroups: [r.apiGroup],
      resources: [...r.resources],
      verbs: [...r.verbs],
    })),
  };
}

export function roleBinding(o: ManifestOptions): Manifest {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(ROUTER_NAME, o, 'router'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROUTER_NAME },
    subjects: [{ kind: 'ServiceAccount', name: ROUTER_NAME, namespace: o.namespace }],
  };
}

export function deployment(o: ManifestOptions): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ROUTER_NAME, o, 'router'),
    spec: {
      // one router per site: its id is kept in the cluster, and two pods with one id must never run at once
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { ...SELECTOR } },
      template: {
        metadata: { labels: labels('router') },
        spec: {
          serviceAccountName: ROUTER_NAME,
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            fsGroup: RUN_AS,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'router',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['--kube', '--health-port', String(HEALTH_PORT)],
              env: [{ name: 'CARAVAN_SITE_DIR', value: WORK_DIR }],
              ports: [{ name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' }],
              // a stuck event loop restarts the pod; a router that has not started its site gets no traffic
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'health' },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'health' },
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 2,
              },
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { cpu: '1', memory: '512Mi' },
              },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'work', mountPath: WORK_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'work', emptyDir: { sizeLimit: '256Mi' } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
}

/** The objects of the namespace install, in the order they are applied. */
export function namespaceInstall(o: ManifestOptions): Manifest[] {
  return [serviceAccount(o), role(o), roleBinding(o), deployment(o)];
}

export function crdManifests(): Manifest[] {
  return crds() as Manifest[];
}

/** Several objects as one multi-document YAML text, after a comment header. */
export function toYamlStream(header: string, objects: readonly Manifest[]): string {
  const head = header
    .split('\n')
    .map((l) => (l ? `# ${l}` : '#'))
    .join('\n');
  return `${head}\n${objects.map((m) => `---\n${stringify(m, { lineWidth: 0 })}`).join('')}`;
}

export const CRDS_HEADER =
  'Caravan CRDs (caravan.dev/v1alpha1): cluster-scoped, installed once per cluster by a cluster admin.\nGenerated by `caravan kube manifests --crds-only`; do not edit.';

export function namespaceHeader(o: ManifestOptions): string {
  return `Caravan site in namespace ${o.namespace}: ServiceAccount, Role, RoleBinding, router Deployment.\nNeeds the CRDs and the namespace. Generated by \`caravan kube manifests --no-crds --namespace ${o.namespace} --image ${o.image}\`; do not edit.`;
}

export type ManifestSet = 'all' | 'crds' | 'namespace';

/** The objects of a set, CRDs first. */
export function manifestObjects(o: ManifestOptions, what: ManifestSet = 'all'): Manifest[] {
  return [...(what !== 'namespace' ? crdManifests() : []), ...(what !== 'crds' ? namespaceInstall(o) : [])];
}

/** What the command prints: the CRDs, the namespace install, or both (CRDs first). */
export function manifests(o: ManifestOptions, what: ManifestSet = 'all'): string {
  const parts: string[] = [];
  if (what !== 'namespace') parts.push(toYamlStream(CRDS_HEADER, crdManifests()));
  if (what !== 'crds') parts.push(toYamlStream(namespaceHeader(o), namespaceInstall(o)));
  return parts.join('');
}
