/**
 * Where the Kubernetes API is and who we are to it: in-cluster (the pod's service-account files), a kubeconfig
 * file, or explicit settings. The result is a client-node `KubeConfig`; its token-file provider re-reads a
 * projected service-account token, so rotated tokens are picked up without a restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeConnection =
  | {
      mode: 'in-cluster';
      /** Default /var/run/secrets/kubernetes.io/serviceaccount (ca.crt, token, namespace). */
      dir?: string;
      /** Default $KUBERNETES_SERVICE_HOST / $KUBERNETES_SERVICE_PORT. */
      host?: string;
      port?: string;
    }
  | { mode: 'kubeconfig'; file: string; context?: string }
  | {
      mode: 'explicit';
      /** e.g. https://10.0.0.1:6443 */
      server: string;
      token?: string;
      /** A file holding the token, re-read when it changes. */
      tokenFile?: string;
      caPem?: string;
      caFile?: string;
      /** Namespace to use when the caller names none. */
      namespace?: string;
    };

export interface LoadedKubeConfig {
  kc: KubeConfig;
  /** The namespace the configuration names (in-cluster: the pod's own), if any. */
  namespace: string | undefined;
}

function configError(message: string, cause?: unknown): CaravanError {
  return new CaravanError(ErrorCodes.KUBE_CONFIG, message, cause === undefined ? undefined : { cause });
}

export function loadKubeConfig(c: KubeConnection, env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig {
  const kc = new KubeConfig();
  switch (c.mode) {
    case 'in-cluster': {
      const dir = c.dir ?? SERVICE_ACCOUNT_DIR;
      const host = c.host ?? env['KUBERNETES_SERVICE_HOST'];
      const port = c.port ?? env['KUBERNETES_SERVICE_PORT'] ?? '443';
      if (!host)
        throw configError('in-cluster mode: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
      for (const f of ['token', 'ca.crt'])
        if (!existsSync(join(dir, f))) throw configError(`in-cluster mode: ${join(dir, f)} does not exist`);
      const nsFile = join(dir, 'namespace');
      const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
      kc.loadFromClusterAndUser(
        {
          name: 'in-cluster',
          server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
          caFile: join(dir, 'ca.crt'),
          skipTLSVerify: false,
        },
        {
          name: 'service-account',
          authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
        },
      );
      return { kc, namespace: namespace || undefined };
    }
    case 'kubeconfig': {
      try {
        kc.loadFromFile(c.file);
      } catch (e) {
        throw configError(`cannot read kubeconfig ${c.file}: ${errorMessage(e)}`, e);
      }
      if (c.context !== undefined) {
        if (!kc.getContextObject(c.context))
          throw configError(`kubeconfig ${c.file} has no context "${c.context}"`);
        kc.setCurrentContext(c.context);
      }
      if (!kc.getCurrentCluster())
        throw configError(`kubeconfig ${c.file}: the current context names no cluster`);
      return { kc, namespace: kc.getContextObject(kc.getCurrentContext())?.namespace || undefined };
    }
    case 'explicit': {
      let url: URL;
      try {
        url = new URL(c.server);
      } catch (e) {
        throw configError(`not a URL: ${c.server}`, e);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw configError(`not an http(s) URL: ${c.server}`);
      kc.loadFromClusterAndUser(
        {
          name: 'explicit',
          server: c.server.replace(/\/+$/, ''),
          skipTLSVerify: false,
          ...(c.caPem ? { caData: Buffer.from(c.caPem).toString('base64') } : {}),
          ...(c.caFile ? { caFile: c.caFile } : {}),
        },
        c.tokenFile
          ? { name: 'explicit', authProvider: { name: 'tokenFile', config: { tokenFile: c.tokenFile } } }
          : { name: 'explicit', ...(c.token ? { token: c.token } : {}) },
      );
      return { kc, namespace: c.namespace };
    }
  }
}
