import { DEFAULTS, DISTRIBUTIONS, SERVICE_TYPES, type ListenerSpec } from '../../api/index.js';
import { optList, optString, usageError, type CommandSpec } from '../command.js';
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
    'tls-cert': {
      type: 'string',
      value: 'FILE',
      help: 'http2/amqp: serve TLS with this certificate (PEM, relative to the site directory), with --tls-key',
    },
    'tls-key': { type: 'string', value: 'FILE', help: "http2/amqp: the certificate's private key (PEM)" },
    'client-ca': {
      type: 'string',
      value: 'FILE',
      help: 'http2/amqp with TLS: admit only clients with a certificate from this CA (PEM)',
    },
    'early-data': {
      type: 'boolean',
      help: "tcp: send the client's first bytes with the flow setup (one round trip less; docs/adr/0004)",
    },
    priority: {
      type: 'string',
      multiple: true,
      value: 'KEY',
      help: 'tcp/http1/http2: several routing keys, first choice first; each connection (request) goes to the first with a reachable connector (repeat: 2 or more)',
    },
    weighted: {
      type: 'string',
      multiple: true,
      value: 'KEY=WEIGHT',
      help: 'tcp/http1/http2: several routing keys sharing the connections (requests) by weight, e.g. --weighted api-v1=9 --weighted api-v2=1',
    },
    multicast: {
      type: 'string',
      multiple: true,
      value: 'PREFIX',
      help: 'amqp: addresses starting with PREFIX go to every receiver (repeatable; the others are anycast)',
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
    'caravan listener create db 5432 --priority db-east --priority db-west',
    'caravan listener create api 8080 --weighted api-v1=9 --weighted api-v2=1',
    'caravan listener create bus 5672 --type amqp --multicast bus.events.',
    'caravan listener create bus 5671 --type amqp --tls-cert certs/bus.crt --tls-key certs/bus.key --client-ca certs/clients.crt',
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
      (r) => `${r.spec.host}:${r.spec.port} -> ${describeKeys(r.spec)}`,
      [['early-data', 'earlyData']],
      [
        ['allow', 'allow'],
        ['priority', 'priority'],
        ['multicast', 'multicast'],
      ],
      (spec) => {
        const w = optList(ctx, 'weighted');
        if (w.length > 0) spec['weighted'] = parseWeights(w);
        const tls = tlsOptions(
          optString(ctx, 'tls-cert'),
          optString(ctx, 'tls-key'),
          optString(ctx, 'client-ca'),
        );
        if (tls) spec['tls'] = tls;
      },
    ),
};

/** `--tls-cert C --tls-key K [--client-ca A]` -> `{cert, key, clientCa?}` (checked with the resource). */
function tlsOptions(
  cert: string | undefined,
  key: string | undefined,
  clientCa: string | undefined,
): Record<string, string> | undefined {
  if (cert === undefined && key === undefined && clientCa === undefined) return undefined;
  if (cert === undefined || key === undefined) throw usageError('--tls-cert and --tls-key go together');
  return { cert, key, ...(clientCa !== undefined ? { clientCa } : {}) };
}

/** `--weighted a=3 --weighted b=1` -> `{a: 3, b: 1}` (the weights are checked with the resource). */
function parseWeights(items: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const m = /^([^=]+)=(\d+)$/.exec(item);
    if (!m) throw usageError(`--weighted takes KEY=WEIGHT, like api-v1=9 (got '${item}')`);
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

function describeKeys(spec: ListenerSpec): string {
  if (spec.priority) return `routing keys ${spec.priority.join(', then ')}`;
  if (spec.weighted)
    return `routing keys ${Object.entries(spec.weighted)
      .map(([k, w]) => `${k} (weight ${w})`)
      .join(', ')}`;
  return `routing key ${spec.routingKey}`;
}
