import { type CommandSpec, type Context } from '../command.js';
import { networkView, networkViewFromModel, type NetworkSite } from '../network.js';
import { adminClient, requireRunning } from '../router.js';
import { contextSite } from '../sites.js';
import type { NetworkModel } from '../../observe/model.js';

function rate(bytesPerSec: number | undefined): string {
  const v = bytesPerSec ?? 0;
  if (v <= 0) return '-';
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} GB/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} MB/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(v)} B/s`;
}

/** The per-site table of `network status` (host, and --kube from the Site's status.network). */
export function printNetworkSites(ctx: Context, from: string, sites: readonly NetworkSite[]): void {
  ctx.out.line(`Network seen from site ${from}: ${sites.length} site${sites.length === 1 ? '' : 's'}`);
  ctx.out.line();
  ctx.out.table(
    ['SITE', 'ROUTER', 'MODE', 'REACHABLE', 'LINKS (COST)', 'SERVICES'],
    sites.map((s) => [
      s.self ? `${s.site} (this site)` : s.site,
      s.router,
      s.mode,
      ctx.out.state(s.reachable ? 'yes' : 'no'),
      s.links.length ? s.links.map((l) => `${l.site}(${l.cost})`).join(', ') : '-',
      s.services.length
        ? s.services.map((x) => (x.connectors > 1 ? `${x.key}(${x.connectors})` : x.key)).join(', ')
        : '-',
    ]),
  );
}

export const networkStatus: CommandSpec = {
  name: 'network status',
  summary: 'every site in the network with its links and services, seen from this site',
  description:
    'Built by the router from its link-state database and what every reachable router reports over the ' +
    'network (traffic, link round-trip times); the site must be running.\n' +
    "With --kube: the summary the namespace's router writes into its Site's status.network (sites, links " +
    'and services; no traffic), at most a few seconds old.',
  examples: [
    'caravan network status',
    'caravan network status --site west -o json',
    'caravan network status --kube --namespace shop',
  ],
  async run(ctx) {
    const site = await contextSite(ctx);
    const status = await requireRunning(site);
    let model: NetworkModel | undefined;
    try {
      model = await (await adminClient(site.dir, 15_000)).network();
    } catch {
      model = undefined; // an older router without GET /v1/network: its status still describes the topology
    }
    const sites = model ? networkViewFromModel(model) : networkView(status);
    ctx.out.emit({ from: site.name, sites, ...(model ? { model } : {}) }, () => {
      printNetworkSites(ctx, site.name, sites);
      if (!model) return;
      const name = new Map(sites.map((s) => [s.router, s.site]));
      const siteName = (id: string): string => name.get(id) ?? id;
      if (model.links.length) {
        ctx.out.line();
        ctx.out.table(
          ['LINK', 'STATE', 'COST', 'RTT'],
          model.links.map((l) => [
            `${siteName(l.from)} -- ${siteName(l.to)}`,
            ctx.out.state(l.state),
            String(l.cost),
            l.rttMs !== undefined ? `${l.rttMs.toFixed(1)} ms` : '-',
          ]),
        );
      }
      if (model.services.length) {
        ctx.out.line();
        ctx.out.table(
          ['SERVICE', 'PROTOCOL', 'LISTENERS AT', 'CONNECTORS AT', 'MATCHED', 'TRAFFIC'],
          model.services.map((s) => [
            s.routingKey,
            s.protocol ?? '-',
            s.listeners.map((l) => siteName(l.site)).join(', ') || '-',
            s.connectors.map((c) => siteName(c.site)).join(', ') || '-',
            ctx.out.state(s.matched ? 'yes' : 'no'),
            rate(s.bytesPerSec),
          ]),
        );
      }
      if (model.unanswered?.length) {
        ctx.out.line();
        ctx.out.line(
          `Did not answer (traffic missing): ${model.unanswered.map((u) => siteName(u.router)).join(', ')}`,
        );
      }
    });
  },
};
