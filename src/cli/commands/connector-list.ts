import type { CommandSpec } from '../command.js';
import { connectorData, printConnectors } from './service-common.js';

export const connectorList: CommandSpec = {
  name: 'connector list',
  summary: 'connectors of this site and whether the network sees them',
  examples: ['caravan connector list', 'caravan connector list -o yaml'],
  async run(ctx) {
    const d = await connectorData(ctx);
    ctx.out.emit(d.rows, () => {
      printConnectors(ctx, d.rows, `Site ${d.site} has no connectors.`);
      if (!d.running) ctx.out.note(`(site ${d.site} is not running)`);
    });
  },
};
