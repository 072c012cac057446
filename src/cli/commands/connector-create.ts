import { DEFAULTS, SERVICE_TYPES } from '../../api/index.js';
import { optString, type CommandSpec } from '../command.js';
import { createService } from './service-common.js';

export const connectorCreate: CommandSpec = {
  name: 'connector create',
  summary: 'deliver a routing key to a server reachable from this site',
  synopsis: '<name> <port> [options]',
  description: 'Flows for the routing key, from listeners anywhere in the network, go to HOST:PORT.',
  args: { min: 2, max: 2 },
  options: {
    'routing-key': { type: 'string', value: 'KEY', help: 'routing key (default: the name)' },
    host: { type: 'string', value: 'HOST', help: `the server's address (default ${DEFAULTS.connectorHost})` },
    type: { type: 'string', value: 'TYPE', help: `${SERVICE_TYPES.join(' | ')} (default tcp)` },
    address: {
      type: 'string',
      value: 'ADDR',
      help: 'amqp: the queue at the broker (default: the routing key), e.g. /queue/orders for RabbitMQ',
    },
    username: { type: 'string', value: 'USER', help: 'amqp: log in to the broker as USER (SASL PLAIN)' },
    'password-file': {
      type: 'string',
      value: 'FILE',
      help: "amqp: the file holding USER's password (relative to the site directory)",
    },
  },
  examples: [
    'caravan connector create db 5432 --host 10.0.0.7',
    'caravan connector create redis 6379 -o yaml',
    'caravan connector create orders 5672 --type amqp --routing-key bus.orders --address /queue/orders',
    'caravan connector create redis 6379 --kube --namespace shop --selector app=redis',
  ],
  run: (ctx) =>
    createService(
      ctx,
      'Connector',
      [
        ['routing-key', 'routingKey'],
        ['host', 'host'],
        ['type', 'type'],
        ['address', 'address'],
        ['username', 'username'],
        ['password-file', 'passwordFile'],
        // --kube only (the option is added with it): the ready pods matching the selector are the targets
        ['selector', 'selector'],
      ],
      (r) =>
        `routing key ${r.spec.routingKey} -> ${optString(ctx, 'selector') !== undefined ? `pods ${optString(ctx, 'selector')}` : r.spec.host}:${r.spec.port}`,
    ),
};
