import type { CommandSpec } from '../command.js';
import { statusOf } from './service-common.js';

export const connectorStatus: CommandSpec = {
  name: 'connector status',
  summary: 'whether the connector is healthy and advertised, and where else its key is served',
  synopsis: '[name]',
  args: { min: 0, max: 1 },
  examples: ['caravan connector status', 'caravan connector status db -o json'],
  run: (ctx) => statusOf(ctx, 'Connector'),
};
