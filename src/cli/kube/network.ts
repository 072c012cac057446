/**
 * `network status --kube`: the router's view of the network lives in the router's process, whose admin socket is
 * only inside its pod; the router writes a bounded summary of it into its Site's `status.network`
 * (src/kube/controller/network-status.ts). This reads it and prints the same table and `-o json|yaml` shape as
 * on a host site. The summary comes from the cluster (and its names from peers): every entry is checked for
 * its shape here, and the output escapes every string for the terminal as on a host site.
 */
import type { NetworkSite } from '../../admin/network-view.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { Context } from '../command.js';
import { printNetworkSites } from '../commands/network-status.js';
import { kubeTarget } from './connect.js';
import { namespaceSite } from './site.js';

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function siteOf(v: unknown): NetworkSite | undefined {
  if (!isObj(v) || !isStr(v['site']) || !isStr(v['router'])) return undefined;
  const links = Array.isArray(v['links']) ? v['links'] : [];
  const services = Array.isArray(v['services']) ? v['services'] : [];
  return {
    site: v['site'],
    router: v['router'],
    mode: v['mode'] === 'edge' ? 'edge' : 'interior',
    reachable: v['reachable'] === true,
    self: v['self'] === true,
    ...(isStr(v['platform']) ? { platform: v['platform'] } : {}),
    ...(isCount(v['listeners']) ? { listeners: v['listeners'] } : {}),
    links: links
      .filter((l): l is Record<string, unknown> => isObj(l) && isStr(l['site']) && isStr(l['router']))
      .map((l) => ({
        site: l['site'] as string,
        router: l['router'] as string,
        cost: isCount(l['cost']) ? l['cost'] : 0,
      })),
    services: services
      .filter((x): x is Record<string, unknown> => isObj(x) && isStr(x['key']))
      .map((x) => ({ key: x['key'] as string, connectors: isCount(x['connectors']) ? x['connectors'] : 1 })),
  };
}

export async function kubeNetworkStatus(ctx: Context): Promise<void> {
  const t = await kubeTarget(ctx);
  const site = await namespaceSite(t);
  if (!site)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `namespace ${t.namespace} has no Site; create one with 'caravan site create NAME --kube --namespace ${t.namespace}'`,
    );
  const name = site.metadata.name;
  const network = site.status?.['network'];
  if (!isObj(network) || !Array.isArray(network['sites']))
    throw new CaravanError(
      ErrorCodes.SITE_NOT_RUNNING,
      `site ${name} has no status.network yet: its router writes it once it runs (kubectl -n ${t.namespace} get pods -l app.kubernetes.io/name=caravan-router)`,
    );
  const sites = network['sites'].map(siteOf).filter((s): s is NetworkSite => s !== undefined);
  const updatedAt = isStr(network['updatedAt']) ? network['updatedAt'] : undefined;
  const omitted = isCount(network['omittedSites']) ? network['omittedSites'] : 0;
  const data = {
    from: name,
    namespace: t.namespace,
    ...(updatedAt ? { updatedAt } : {}),
    sites,
    ...(omitted > 0 ? { omittedSites: omitted } : {}),
  };
  ctx.out.emit(data, () => {
    printNetworkSites(ctx, name, sites);
    ctx.out.line();
    if (omitted > 0) ctx.out.line(`${omitted} more site${omitted === 1 ? '' : 's'} left out of the summary.`);
    ctx.out.line(
      `As the router of namespace ${t.namespace} last wrote it${updatedAt ? ` (${updatedAt})` : ''}; traffic is shown by 'caravan network status' at a host site.`,
    );
  });
}
