// Fixtures for tests that use the stand-in: an admin token, a namespace, and a service account whose rights are a
// namespace Role (as the Caravan site's own Role would be).
import { createCa, issueCertificate } from '../../../src/site/certs/index.js';
import { KubeApiServer, type KubeApiServerOptions } from './server.js';
import { serviceAccountUser } from './rbac.js';
import type { JsonObject } from './status.js';

export const ADMIN_TOKEN = 'admin-token';

let standInCa: ReturnType<typeof createCa> | undefined;
const serverTls = new Map<string, Promise<{ key: string; cert: string; ca: string }>>();

/**
 * One CA per test process, and one server certificate per set of addresses it names (127.0.0.1 and `ips`):
 * client-node refuses plain HTTP without skipTLSVerify.
 */
export function standInTls(ips: readonly string[] = []): Promise<{ key: string; cert: string; ca: string }> {
  const names = [...new Set(['127.0.0.1', ...ips])].sort();
  const key = names.join(',');
  let tls = serverTls.get(key);
  if (!tls) {
    tls = (async () => {
      standInCa ??= createCa({ commonName: 'kube-standin-ca' });
      const ca = await standInCa;
      const c = await issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', ips: names });
      return { key: c.keyPem, cert: c.certPem, ca: ca.certPem };
    })();
    serverTls.set(key, tls);
  }
  return tls;
}

/** A stand-in over HTTPS (see standInTls; its certificate names `opts.host` too) with the admin token. */
export async function startStandIn(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  return KubeApiServer.start({
    tls: await standInTls(opts.host !== undefined ? [opts.host] : []),
    ...opts,
    tokens: {
      [ADMIN_TOKEN]: { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      ...opts.tokens,
    },
  });
}

export function addNamespace(server: KubeApiServer, name: string): JsonObject {
  return server.put('', 'namespaces', { metadata: { name } });
}

/**
 * A ServiceAccount `name` in `namespace` bound to a Role with `rules`; requests with `token` act as it.
 */
export function addServiceAccount(
  server: KubeApiServer,
  namespace: string,
  name: string,
  token: string,
  rules: JsonObject[],
): void {
  server.put('', 'serviceaccounts', { metadata: { name, namespace } });
  server.put('rbac.authorization.k8s.io', 'roles', { metadata: { name, namespace }, rules });
  server.put('rbac.authorization.k8s.io', 'rolebindings', {
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
  server.tokens.set(token, serviceAccountUser(namespace, name));
}

/** A small CRD (`widgets.example.com`, namespaced, v1, status subresource) with a schema that exercises validation. */
export function widgetCrd(): JsonObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['host', 'port'],
                  properties: {
                    host: { type: 'string', maxLength: 63, pattern: '^[a-z0-9.-]+$' },
                    port: { type: 'integer', minimum: 1, maximum: 65535 },
                    mode: { type: 'string', enum: ['tcp', 'http'], default: 'tcp' },
                    labels: { type: 'object', additionalProperties: { type: 'string' } },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    ready: { type: 'boolean' },
                    observedGeneration: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * A kubeconfig (JSON, which is YAML too) for the stand-in: one user per entry of `users` (name → bearer token),
 * each with a context of the same name in `namespace`; the first is the current context.
 */
export function standInKubeconfig(
  server: KubeApiServer,
  users: Record<string, string>,
  namespace: string,
): string {
  const ca = Buffer.from(server.caPem ?? '').toString('base64');
  const names = Object.keys(users);
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'standin', cluster: { server: server.url, 'certificate-authority-data': ca } }],
    users: names.map((n) => ({ name: n, user: { token: users[n] } })),
    contexts: names.map((n) => ({ name: n, context: { cluster: 'standin', user: n, namespace } })),
    'current-context': names[0],
  });
}
