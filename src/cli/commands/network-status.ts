import { type CommandSpec } from '../command.js';
import { networkView } from '../network.js';
import { requireRunning } from '../router.js';
import { contextSite } from '../sites.js';

export const networkStatus: CommandSpec = {
  name: 'network status',
  summary: 'every site in the network with its links and services, seen from this site',
  description: "Built from the router's link-state database; the site must be running.",
  examples: ['caravan network status', 'caravan network status --site west -o json'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const status = await requireRunning(site);
    const sites = networkView(status);
    ctx.out.emit({ from: site.name, sites }, () => {
      ctx.out.line(
        `Network seen from site ${site.name}: ${sites.length} site${sites.length === 1 ? '' : 's'}`,
      );
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
    });
  },
};
