import type { RevokeResult } from '../../admin/types.js';
import { revokeLink } from '../../site/grants/index.js';
import { type CommandSpec } from '../command.js';
import { routerState, adminClient } from '../router.js';
import { contextSite } from '../sites.js';

export const linkRevoke: CommandSpec = {
  name: 'link revoke',
  summary: 'cut and refuse the links this site let in from a site (or by link or grant name)',
  synopsis: '<site-or-link>',
  description:
    'At a site that accepts links: every certificate this site issued to the target (and its future\n' +
    'renewals) is refused from now on, and its open links are cut. The other site must redeem a new token\n' +
    'to link again.',
  args: { min: 1, max: 1 },
  examples: ['caravan link revoke west'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const target = ctx.args[0] as string;
    const st = await routerState(site.dir, 2000);
    let r: RevokeResult;
    if (st.status) r = await (await adminClient(site.dir, 15_000)).revokeLink(target);
    else r = await revokeLink(site.dir, target);
    ctx.out.emit({ site: site.name, target, running: st.running, ...r }, () => {
      const who = r.sites.join(', ') || target;
      if (r.alreadyRevoked) ctx.out.line(`The links to ${who} were already revoked.`);
      else
        ctx.out.line(
          `Revoked ${r.revoked.length} certificate${r.revoked.length === 1 ? '' : 's'} issued to ${who}${
            r.cut !== undefined ? `; ${r.cut} open link${r.cut === 1 ? '' : 's'} cut` : ''
          }.`,
        );
      if (!st.running)
        ctx.out.line(`(site ${site.name} is not running; the revocation applies when it starts)`);
    });
  },
};
