/**
 * `--kube`: which cluster and namespace a verb acts on. The kubeconfig is `--kubeconfig FILE`, else the first
 * file of $KUBECONFIG, else ~/.kube/config; `--context` picks a context (default: the current one); the
 * namespace is `--namespace`, else the context's, else `default`. `CARAVAN_PLATFORM=kubernetes` selects this mode
 * as `--kube` does (`host`, or unset, keeps host sites). The client library loads only in this mode.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { KubeApi } from '../../kube/api.js';
import { optBool, optString, type Context, type OptionSpec } from '../command.js';

export const KUBE_OPTIONS: Record<string, OptionSpec> = {
  kube: {
    type: 'boolean',
    help: 'act on the Custom Resources of a Kubernetes namespace instead of a host site (also CARAVAN_PLATFORM=kubernetes)',
  },
  kubeconfig: {
    type: 'string',
    value: 'FILE',
    help: 'with --kube: the kubeconfig (default $KUBECONFIG, else ~/.kube/config)',
  },
  context: {
    type: 'string',
    value: 'NAME',
    help: 'with --kube: the kubeconfig context (default: the current one)',
  },
  namespace: {
    type: 'string',
    value: 'NS',
    help: "with --kube: the site's namespace (default: the context's, else default)",
  },
};

/** A cluster and namespace to act on. */
export interface KubeTarget {
  api: KubeApi;
  namespace: string;
  /** the kubeconfig file, for messages */
  file: string;
  /** the API server's URL, for messages */
  server: string;
}

/** The values of `CARAVAN_PLATFORM`: `host` (the default) or `kubernetes` (as if `--kube` were given). */
export const PLATFORMS = ['host', 'kubernetes'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** `CARAVAN_PLATFORM` (unset or empty: host); USAGE naming the valid values for anything else. */
export function platformOf(env: NodeJS.ProcessEnv): Platform {
  const v = env.CARAVAN_PLATFORM;
  if (v === undefined || v === '') return 'host';
  if ((PLATFORMS as readonly string[]).includes(v)) return v as Platform;
  throw new CaravanError(
    ErrorCodes.USAGE,
    `CARAVAN_PLATFORM must be one of: ${PLATFORMS.join(', ')} (got '${v}'); unset it for host sites`,
  );
}

/** `--kube`, or `CARAVAN_PLATFORM=kubernetes`. */
export function isKube(ctx: Context): boolean {
  return optBool(ctx, 'kube') || platformOf(ctx.env) === 'kubernetes';
}

function kubeconfigFile(ctx: Context): string {
  const given = optString(ctx, 'kubeconfig');
  if (given !== undefined) {
    const f = resolve(ctx.cwd, given);
    if (!existsSync(f))
      throw new CaravanError(ErrorCodes.KUBE_CONFIG, `no kubeconfig at ${f} (--kubeconfig)`);
    return f;
  }
  const env = (ctx.env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  for (const p of env) {
    const f = resolve(ctx.cwd, p);
    if (existsSync(f)) return f;
  }
  const home = ctx.env.HOME || homedir();
  const def = join(home, '.kube', 'config');
  if (existsSync(def)) return def;
  throw new CaravanError(
    ErrorCodes.KUBE_CONFIG,
    `no kubeconfig: ${env.length ? `none of $KUBECONFIG (${env.join(delimiter)}) exists, ` : ''}${def} does not exist; give --kubeconfig FILE or set KUBECONFIG`,
  );
}

/** Loads the kubeconfig and makes the API client (KUBE_CONFIG when there is none or it cannot be used). */
export async function kubeTarget(ctx: Context): Promise<KubeTarget> {
  const file = kubeconfigFile(ctx);
  const context = optString(ctx, 'context');
  // loaded here so that host-site verbs never load the client library
  const { loadKubeConfig } = await import('../../kube/config.js');
  const { ClientNodeKubeApi } = await import('../../kube/client-node.js');
  const { kc, namespace } = loadKubeConfig({ mode: 'kubeconfig', file, ...(context ? { context } : {}) });
  const api = new ClientNodeKubeApi(kc, { requestTimeoutMs: 15_000 });
  const ns = optString(ctx, 'namespace') ?? namespace ?? 'default';
  return { api, namespace: ns, file, server: kc.getCurrentCluster()?.server ?? '?' };
}
