import { CaravanError, ErrorCodes } from '../../errors.js';
import { type CommandSpec } from '../command.js';
import { deleteResources, resourcesOfKind } from '../resources.js';
import { contextSite } from '../sites.js';
import { appliedNote } from './common.js';

export const linkDelete: CommandSpec = {
  name: 'link delete',
  summary: 'delete an outbound link (its Link resource and certificates)',
  synopsis: '<name>',
  description: "Inbound links are cut at this site with 'caravan link revoke'.",
  args: { min: 1, max: 1 },
  examples: ['caravan link delete hub'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const name = ctx.args[0] as string;
    const links = await resourcesOfKind(site.dir, 'Link');
    if (!links.some((l) => l.metadata.name === name)) {
      throw new CaravanError(
        ErrorCodes.INVALID_RESOURCE,
        `no outbound link named '${name}' at site ${site.name}${links.length ? ` (links: ${links.map((l) => l.metadata.name).join(', ')})` : ''}; inbound links are cut with 'caravan link revoke'`,
      );
    }
    await deleteResources(site.dir, [{ kind: 'Link', name }]);
    const note = await appliedNote(site);
    ctx.out.emit({ site: site.name, link: name, deleted: true }, () =>
      ctx.out.line(`Link ${name} deleted; ${note}`),
    );
  },
};
