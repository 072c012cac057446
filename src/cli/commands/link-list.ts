import { readyText } from '../conditions-view.js';
import { type CommandSpec, type Context } from '../command.js';
import { linkRows, type LinkRow } from '../links-view.js';
import { resourcesOfKind } from '../resources.js';
import { routerState } from '../router.js';
import { contextSite } from '../sites.js';

export function printLinks(ctx: Context, rows: LinkRow[], empty: string): void {
  ctx.out.table(
    ['NAME', 'DIRECTION', 'STATE', 'PEER', 'COST', 'RTT', 'ENDPOINT', 'READY'],
    rows.map((r) => [
      r.name,
      r.direction === 'out' ? 'outbound' : 'inbound',
      ctx.out.state(r.state),
      r.peer ?? '-',
      r.cost !== undefined ? String(r.cost) : '-',
      r.rttMs !== undefined ? `${r.rttMs.toFixed(1)}ms` : '-',
      r.endpoints?.join(',') ?? '-',
      r.direction === 'out' ? readyText(ctx.out, r.status?.conditions) : '-',
    ]),
    empty,
  );
}

export const linkList: CommandSpec = {
  name: 'link list',
  summary: 'links of this site (outbound from tokens it redeemed, inbound from sites it let in)',
  examples: ['caravan link list', 'caravan link list -o json'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const st = await routerState(site.dir);
    const rows = linkRows(await resourcesOfKind(site.dir, 'Link'), st.status);
    ctx.out.emit(rows, () => {
      printLinks(ctx, rows, `Site ${site.name} has no links.`);
      if (!st.running) ctx.out.note(`(site ${site.name} is not running)`);
    });
  },
};
