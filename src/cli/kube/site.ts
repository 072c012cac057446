/**
 * `site create --kube`: the Site Custom Resource of a namespace (its router must already be installed there:
 * `caravan kube manifests`). `site status --kube`: the Site's conditions and link address as the router wrote
 * them.
 */
import { NAME_PATTERN, type SiteResource } from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { CaravanObject } from '../../kube/reconcile/index.js';
import { LINK_ACCESS_TYPES } from '../../kube/reconcile/index.js';
import {
  optBool,
  optList,
  optString,
  parseInteger,
  usageError,
  type Context,
  type OptionSpec,
} from '../command.js';
import { conditionPairs, readyText } from '../conditions-view.js';
import { renderPairs } from '../output.js';
import { kubeTarget, type KubeTarget } from './connect.js';
import { kubeCreate } from './create.js';
import { listCrs } from './crs.js';
import { condition } from './views.js';

export const SITE_KUBE_OPTIONS: Record<string, OptionSpec> = {
  'service-type': {
    type: 'string',
    value: 'TYPE',
    help: `with --kube --link-access: the link-access Service, ${LINK_ACCESS_TYPES.join(' | ')} (default LoadBalancer)`,
  },
};

export async function kubeSiteCreate(ctx: Context): Promise<void> {
  const name = ctx.args[0] as string;
  if (!NAME_PATTERN.test(name)) throw usageError(`invalid site name '${name}'`);
  const linkAccess = optBool(ctx, 'link-access');
  if (optBool(ctx, 'edge') && linkAccess)
    throw usageError('an edge site cannot accept links: use either --edge or --link-access');
  for (const k of ['bind', 'console-port'])
    if (optString(ctx, k) !== undefined)
      throw usageError(`--${k} does not apply with --kube (the router binds every address of its pod)`);
  const port = parseInteger(optString(ctx, 'port'), '--port', 1, 65535);
  const grantPort = parseInteger(optString(ctx, 'grant-port'), '--grant-port', 1, 65535);
  const hosts = optList(ctx, 'host');
  const type = optString(ctx, 'service-type');
  if (!linkAccess && (port !== undefined || grantPort !== undefined || hosts.length || type !== undefined))
    throw usageError('--port, --grant-port, --host and --service-type need --link-access');
  const spec: Record<string, unknown> = { mode: optBool(ctx, 'edge') ? 'edge' : 'interior' };
  if (linkAccess)
    spec['linkAccess'] = {
      ...(type !== undefined ? { type } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(grantPort !== undefined ? { grantPort } : {}),
      ...(hosts.length ? { hosts } : {}),
    };
  await kubeCreate<SiteResource>(ctx, 'Site', name, spec, (r) =>
    r.spec.linkAccess ? `accepts links on port ${r.spec.linkAccess.port}` : 'dials out only',
  );
}

/** The namespace's Site: the oldest one (the router runs only that one; others get DuplicateSite). */
export async function namespaceSite(t: KubeTarget): Promise<CaravanObject | undefined> {
  const sites = await listCrs(t, 'Site');
  return sites.sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
  )[0];
}

export function siteData(t: KubeTarget, s: CaravanObject | undefined): Record<string, unknown> {
  if (!s) return { namespace: t.namespace, site: null };
  const spec = (s.spec ?? {}) as { mode?: string; linkAccess?: unknown };
  return {
    namespace: t.namespace,
    site: s.metadata.name,
    mode: spec.mode ?? 'interior',
    ...(s.metadata.generation !== undefined ? { generation: s.metadata.generation } : {}),
    linkAccess: s.status?.['linkAccess'] ?? (spec.linkAccess ? 'pending' : null),
    status: { conditions: s.status?.conditions ?? [] },
  };
}

export function siteLines(ctx: Context, t: KubeTarget, s: CaravanObject): Array<[string, string]> {
  const la = s.status?.['linkAccess'] as { host?: string; hosts?: string[]; port?: number } | undefined;
  const spec = (s.spec ?? {}) as { mode?: string; linkAccess?: unknown };
  const addr = la ? `${la.hosts?.join(',') ?? la.host ?? '?'}${la.port ? `:${la.port}` : ''}` : undefined;
  return [
    ['Site', `${s.metadata.name} (namespace ${t.namespace})`],
    ['Mode', spec.mode ?? 'interior'],
    ['Link access', spec.linkAccess ? (addr ?? 'address pending') : 'no (this site only dials out)'],
    ['Ready', condition(s, 'Ready') ? readyText(ctx.out, s.status?.conditions) : 'unknown (no status yet)'],
  ];
}

export async function kubeSiteStatus(ctx: Context): Promise<void> {
  const t = await kubeTarget(ctx);
  const s = await namespaceSite(t);
  if (!s)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `namespace ${t.namespace} has no Site; create one with 'caravan site create NAME --kube --namespace ${t.namespace}'`,
    );
  ctx.out.emit(siteData(t, s), () => {
    const pairs = siteLines(ctx, t, s);
    pairs.push(...conditionPairs(s.status?.conditions));
    if (!s.status?.conditions?.length)
      pairs.push(['Note', `no status yet: is the router installed and running in namespace ${t.namespace}?`]);
    ctx.out.stdout.write(renderPairs(pairs));
  });
}
