/** The Connector kind: the schema of its fields and the rules between them. */
import { DEFAULTS, type HostPort } from '../types.js';
import { endpoint, host, routingKey, statusOf } from './common.js';
import { bool, int, list, obj, str, withOpts } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';
import { forwardedFor, idleTimeoutMs, maxSessions, onlyForType, serviceType } from './service-options.js';

export const connectorTls = obj(
  {
    ca: str({
      description: 'PEM CA file to verify targets with; default: Node’s built-in roots.',
      docType: 'path',
    }),
    insecure: bool({ description: 'Do not verify the target’s certificate.' }),
    servername: withOpts(
      host('Name for SNI and verification; default: the target host unless it is an IP address.'),
      {
        required: false,
      },
    ),
  },
  {
    description:
      'http2: speak TLS (ALPN h2) to the target(s); without it, h2c with prior knowledge. amqp: speak amqps. `tls: {}` means TLS with Node’s roots.',
    onlyFor: onlyForType('http2', 'amqp'),
  },
);

export const connectorSpec = obj(
  {
    routingKey: routingKey('The service this connector delivers.', '`metadata.name`'),
    host: withOpts(host('The target’s host name or address.', DEFAULTS.connectorHost), {
      docDefault: `the first target's host, else \`${DEFAULTS.connectorHost}\``,
    }),
    port: int({
      description: 'The target’s port; required unless `targets` is given.',
      min: 1,
      max: 65535,
    }),
    type: serviceType,
    targets: list(endpoint('A target.'), {
      description:
        'Several targets, alternative to host/port: flows balance across them (fewest active, failed ones skipped). When given, `host`/`port` mirror the first target (they may be written only if equal to it).',
      minItems: 1,
      notList: 'must be a non-empty list of {host, port}',
    }),
    address: str({
      description:
        'The address at the broker (default: the routing key), e.g. `/queue/orders` for RabbitMQ. The broker queue becomes the waypoint of the network address named by the routing key.',
      maxLength: 1024,
      onlyFor: onlyForType('amqp'),
    }),
    username: str({
      description: 'Authenticate to the broker with SASL PLAIN as this user (with passwordFile).',
      maxLength: 256,
      onlyFor: onlyForType('amqp'),
    }),
    passwordFile: str({
      description: 'A file holding the broker password (read at every connection).',
      maxLength: 4096,
      onlyFor: onlyForType('amqp'),
      docType: 'path',
    }),
    idleTimeoutMs: idleTimeoutMs(''),
    maxSessions: maxSessions(''),
    forwardedFor: forwardedFor('Append the client address (as the listener saw it) to `X-Forwarded-For`.'),
    tls: connectorTls,
  },
  {
    description: 'A connector: where this site delivers a service of the network.',
    required: true,
    together: [['username', 'passwordFile']],
  },
);

export const connector: KindSchema<'Connector'> = {
  kind: 'Connector',
  plural: 'connectors',
  description: 'A local target (or several) that serves a routing key to the network.',
  spec: connectorSpec,
  status: statusOf({}),
  columns: [
    { name: 'Routing Key', type: 'string', jsonPath: '.spec.routingKey' },
    { name: 'Host', type: 'string', jsonPath: '.spec.host' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port' },
    conditionColumn('Matched'),
    conditionColumn('Ready'),
  ],
  finish(c, { meta, spec, raw }) {
    const s = spec as {
      routingKey?: string;
      host: string;
      port?: number;
      type: string;
      targets?: HostPort[];
    };
    s.routingKey ??= meta.name;
    const rawTargets = raw['targets'];
    // a target that is wrong was reported; host/port are then checked as if there were none
    const targets =
      Array.isArray(rawTargets) && s.targets?.length === rawTargets.length ? s.targets : undefined;
    if (!targets) delete s.targets;
    const first = targets?.[0];
    if (first && raw['host'] == null) s.host = first.host;
    if (first && raw['port'] == null) s.port = first.port;
    if (s.port === undefined) {
      if (raw['port'] == null && !targets) c.add('spec.port', 'is required');
      s.port = 0;
    }
    if (first && (s.host !== first.host || s.port !== first.port))
      c.add(
        'spec.targets',
        `use either host/port or targets (host/port may only repeat the first target, ${first.host}:${first.port})`,
      );
    if (s.type === 'amqp' && targets)
      c.add(
        'spec.targets',
        'an amqp connector reaches one broker: give host and port (a broker cluster behind one address)',
      );
  },
};
