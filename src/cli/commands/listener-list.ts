import type { CommandSpec } from '../command.js';
import { listenerData, printListeners } from './service-common.js';

export const listenerList: CommandSpec = {
  name: 'listener list',
  summary: 'listeners of this site and whether a connector matches each',
  examples: ['caravan listener list', 'caravan listener list -o yaml'],
  async run(ctx) {
    const d = await listenerData(ctx);
    ctx.out.emit(d.rows, () => {
      printListeners(ctx, d.rows, `Site ${d.site} has no listeners.`);
      if (!d.running) ctx.out.note(`(site ${d.site} is not running)`);
    });
  },
};
