import type { CommandSpec } from '../command.js';
import { statusOf } from './service-common.js';

export const listenerStatus: CommandSpec = {
  name: 'listener status',
  summary: 'whether a connector for the routing key exists anywhere in the network',
  synopsis: '[name]',
  args: { min: 0, max: 1 },
  examples: ['caravan listener status', 'caravan listener status db -o json'],
  run: (ctx) => statusOf(ctx, 'Listener'),
};
