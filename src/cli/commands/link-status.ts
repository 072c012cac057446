import { CaravanError, ErrorCodes } from '../../errors.js';
import { type CommandSpec } from '../command.js';
import { linkRows } from '../links-view.js';
import { conditionPairs } from '../conditions-view.js';
import { renderPairs } from '../output.js';
import { resourcesOfKind } from '../resources.js';
import { routerState } from '../router.js';
import { contextSite } from '../sites.js';
import { printLinks } from './link-list.js';

export const linkStatus: CommandSpec = {
  name: 'link status',
  summary: 'state of one link (or of all): peer, cost, RTT, traffic, last error',
  synopsis: '[name]',
  args: { min: 0, max: 1 },
  examples: ['caravan link status', 'caravan link status hub'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const st = await routerState(site.dir);
    const rows = linkRows(await resourcesOfKind(site.dir, 'Link'), st.status);
    const name = ctx.args[0];
    if (name === undefined) {
      ctx.out.emit(rows, () => printLinks(ctx, rows, `Site ${site.name} has no links.`));
      return;
    }
    const r = rows.find((x) => x.name === name);
    if (!r) {
      throw new CaravanError(
        ErrorCodes.INVALID_RESOURCE,
        `no link named '${name}' at site ${site.name}${rows.length ? ` (links: ${rows.map((x) => x.name).join(', ')})` : ''}`,
      );
    }
    ctx.out.emit(r, () => {
      const pairs: Array<[string, string]> = [
        ['Link', r.name],
        ['Direction', r.direction === 'out' ? 'outbound (this site dials)' : 'inbound (the peer dialled)'],
        ['State', ctx.out.state(r.state)],
        ['Peer', r.peer ? `${r.peer} (router ${r.peerRouter})` : '-'],
        ['Cost', r.cost !== undefined ? String(r.cost) : '-'],
      ];
      if (r.endpoints) pairs.push(['Endpoints', r.endpoints.join(', ')]);
      if (r.proxy) pairs.push(['Via proxy', r.proxy]);
      if (r.rttMs !== undefined) pairs.push(['RTT', `${r.rttMs.toFixed(2)} ms`]);
      if (r.bytesIn !== undefined)
        pairs.push([
          'Traffic',
          `${r.bytesIn} bytes in, ${r.bytesOut} bytes out, ${r.activeFlows} active flows`,
        ]);
      if (r.lastError) pairs.push(['Last error', r.lastError]);
      pairs.push(...conditionPairs(r.status?.conditions));
      ctx.out.stdout.write(renderPairs(pairs));
    });
  },
};
