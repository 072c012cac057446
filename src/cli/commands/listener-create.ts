import { DEFAULTS, DISTRIBUTIONS, SERVICE_TYPES } from '../../api/index.js';
import type { CommandSpec } from '../command.js';
import { createService } from './service-common.js';

export const listenerCreate: CommandSpec = {
  name: 'listener create',
  summary: 'expose a routing key at this site on a local host:port',
  synopsis: '<name> <port> [options]',
  description:
    'Clients connect to HOST:PORT at this site; each connection is carried to a connector with the same\n' +
    'routing key anywhere in the network.',
  args: { min: 2, max: 2 },
  options: {
    'routing-key': { type: 'string', value: 'KEY', help: 'routing key (default: the name)' },
    host: { type: 'string', value: 'HOST', help: `address to listen on (default ${DEFAULTS.listenerHost})` },
    type: { type: 'string', value: 'TYPE', help: `${SERVICE_TYPES.join(' | ')} (default tcp)` },
    distribution: { type: 'string', value: 'D', help: `${DISTRIBUTIONS.join(' | ')} (default balanced)` },
    'early-data': {
      type: 'boolean',
      help: "tcp: send the client's first bytes with the flow setup (one round trip less; docs/adr/0004)",
    },
    allow: {
      type: 'string',
      multiple: true,
      value: 'CIDR',
      help: 'only clients from this address or CIDR prefix may connect (repeatable; default: any)',
    },
  },
  examples: [
    'caravan listener create db 5432',
    'caravan listener create web 8080 --routing-key frontend -o yaml',
    'caravan listener create cache 6379 --early-data',
    'caravan listener create db 5432 --allow 10.1.0.0/16 --allow 192.168.7.20',
  ],
  run: (ctx) =>
    createService(
      ctx,
      'Listener',
      [
        ['routing-key', 'routingKey'],
        ['host', 'host'],
        ['type', 'type'],
        ['distribution', 'distribution'],
      ],
      (r) => `${r.spec.host}:${r.spec.port} -> routing key ${r.spec.routingKey}`,
      [['early-data', 'earlyData']],
      [['allow', 'allow']],
    ),
};
