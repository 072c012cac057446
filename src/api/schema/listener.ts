/** The Listener kind: the schema of its fields and the rules between them. */
import { isIP } from 'node:net';
import { AFFINITIES, DEFAULTS, DISTRIBUTIONS, listenerKeys } from '../types.js';
import { host, port, routingKey, routingKeyText, statusOf } from './common.js';
import { bool, int, list, map, obj, oneOf, str } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';
import { describeValue } from './messages.js';
import { forwardedFor, idleTimeoutMs, maxSessions, onlyForType, serviceType } from './service-options.js';

/** At most this many routing keys behind one listener (`priority` / `weighted`). */
const MAX_LISTENER_KEYS = 16;
/** Largest weight of a key in `weighted`. */
const MAX_KEY_WEIGHT = 1000;

const keyCount = (n: number): string =>
  `must name 2-${MAX_LISTENER_KEYS} routing keys (got ${n}); with one key, use routingKey`;

function cidrProblem(e: string): string | undefined {
  const [addr = '', prefix, extra] = e.split('/');
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined)
    return `must be an IPv4/IPv6 address or CIDR prefix like 10.0.0.0/8 (got ${describeValue(e)})`;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max))
    return `prefix length must be 0-${max} (got ${describeValue(e)})`;
  return undefined;
}

const multiKeyTypes = onlyForType('tcp', 'http1', 'http2');

export const listenerTls = obj(
  {
    cert: str({ description: 'PEM certificate file.', required: true, docType: 'path' }),
    key: str({ description: 'PEM private key file.', required: true, docType: 'path' }),
    clientCa: str({
      description: 'Require client certificates issued by this CA (PEM file); without it, clients need none.',
      docType: 'path',
    }),
  },
  {
    description:
      'http2: serve TLS (ALPN h2) with these PEM files; without it, h2c with prior knowledge. amqp: serve amqps.',
    onlyFor: onlyForType('http2', 'amqp'),
  },
);

export const listenerUser = obj(
  {
    name: str({ description: 'User name.', required: true, maxLength: 256 }),
    passwordFile: str({
      description: 'File holding the password (read at every login).',
      required: true,
      maxLength: 4096,
      docType: 'path',
    }),
  },
  { description: 'A user.', required: true },
);

export const listenerSpec = obj(
  {
    routingKey: routingKey(
      'The service this listener reaches.',
      'the first `priority`/`weighted` key, else `metadata.name`',
    ),
    host: host('Address the listener binds.', DEFAULTS.listenerHost),
    port: port('Port the listener binds.'),
    type: serviceType,
    distribution: oneOf(DISTRIBUTIONS, {
      description: 'How a connector is chosen: `balanced` (least loaded) or `closest` (lowest cost).',
      default: DEFAULTS.distribution,
    }),
    priority: list(routingKeyText, {
      description:
        'Several routing keys behind this listener, first choice first. Each connection (request) goes to the first key that has a reachable connector, and to the next one if every connector of that key refuses. `routingKey` is then the first key.',
      minItems: 2,
      maxItems: MAX_LISTENER_KEYS,
      notList: 'must be a list of routing keys, first choice first',
      sizeMessage: keyCount,
      onlyFor: multiKeyTypes,
    }),
    weighted: map(
      routingKeyText,
      int({
        description: 'Weight of the key.',
        min: 1,
        max: MAX_KEY_WEIGHT,
        invalid: `must be a weight, an integer 1-${MAX_KEY_WEIGHT}`,
      }),
      {
        description:
          'Several routing keys behind this listener with weights (`{api-v1: 9, api-v2: 1}`): connections (requests) are shared among the keys that have a reachable connector, in proportion to their weights. `routingKey` is then the first key.',
        minItems: 2,
        maxItems: MAX_LISTENER_KEYS,
        notMap: 'must map routing keys to weights, like {api-v1: 9, api-v2: 1}',
        sizeMessage: keyCount,
        onlyFor: multiKeyTypes,
      },
    ),
    multicast: list(
      str({ description: 'An address prefix.', maxLength: 252, invalid: 'must be an address prefix' }),
      {
        description:
          'Addresses starting with one of these prefixes are multicast (every receiver gets a copy); the others are anycast (one receiver, by `distribution`). Each prefix lies under the routing key (`bus.events.`).',
        notList: 'must be a list of address prefixes under the routing key, like [<routingKey>.events.]',
        onlyFor: onlyForType('amqp'),
      },
    ),
    users: list(listenerUser, {
      description:
        'Clients must log in (SASL PLAIN) as one of these users. Absent: no login (SASL ANONYMOUS or none).',
      minItems: 1,
      notList: 'must be a list of {name, passwordFile}',
      onlyFor: onlyForType('amqp'),
    }),
    affinity: oneOf(AFFINITIES, {
      description:
        '`client`: the same client address keeps going to the same connector while it stays reachable.',
    }),
    earlyData: bool({
      description:
        'Send the client’s first bytes (up to 64 KiB) with the flow’s OPEN instead of after the far end accepted, saving one round trip per connection; a flow whose path breaks after that is not retried.',
      onlyFor: onlyForType('tcp'),
    }),
    allow: list(
      str({
        description: 'An address or CIDR prefix.',
        invalid: 'must be an address or CIDR prefix',
        check: cidrProblem,
      }),
      {
        description:
          'Only clients from these addresses or CIDR prefixes (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`) may connect; others are closed at once (udp: their datagrams dropped). Absent: any client. An empty list admits nobody.',
        notList: 'must be a list of addresses or CIDR prefixes',
      },
    ),
    idleTimeoutMs: idleTimeoutMs('client'),
    maxSessions: maxSessions('client'),
    forwardedFor: forwardedFor('Append the client address to `X-Forwarded-For`.'),
    tls: listenerTls,
  },
  {
    description: 'A listener: a local port that reaches a service of the network.',
    required: true,
    exclusive: [['priority', 'weighted']],
  },
);

export const listener: KindSchema<'Listener'> = {
  kind: 'Listener',
  plural: 'listeners',
  description: 'A local address where clients reach a service of the network (by its routing key).',
  spec: listenerSpec,
  status: statusOf({}),
  columns: [
    { name: 'Routing Key', type: 'string', jsonPath: '.spec.routingKey' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port' },
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    conditionColumn('Matched'),
    conditionColumn('Ready'),
  ],
  finish(c, { meta, spec, raw }) {
    const s = spec as {
      routingKey?: string;
      type: string;
      priority?: string[];
      weighted?: Record<string, number>;
      multicast?: string[];
      users?: { name: string }[];
      affinity?: string;
      earlyData?: boolean;
    };
    const keys = listenerKeys(s);
    const strategy = s.priority ? 'priority' : 'weighted';
    if (keys) {
      const seen = new Set<string>();
      for (const k of keys.keys) {
        if (seen.has(k.routingKey)) c.add(`spec.${strategy}`, `names routing key '${k.routingKey}' twice`);
        seen.add(k.routingKey);
      }
    }
    const primary = keys?.keys[0]?.routingKey;
    if (raw['routingKey'] == null) s.routingKey = primary ?? meta.name;
    else if (primary !== undefined && s.routingKey !== undefined && s.routingKey !== primary)
      c.add(
        'spec.routingKey',
        `leave it out with ${strategy}: the listener's routing key is then its first key, '${primary}'`,
      );
    s.routingKey ??= primary ?? meta.name;
    if (keys) {
      for (const f of ['affinity', 'earlyData'] as const)
        if (raw[f] != null) {
          c.add(`spec.${f}`, `applies only to a listener with one routing key (not with ${strategy})`);
          delete s[f];
        }
    }
    if (s.affinity !== undefined && s.type === 'amqp') {
      c.add('spec.affinity', 'does not apply to type amqp (messages, not connections, are routed)');
      delete s.affinity;
    }
    const key = s.routingKey;
    const rawList = (f: string): unknown[] => (Array.isArray(raw[f]) ? (raw[f] as unknown[]) : []);
    if (s.multicast)
      rawList('multicast').forEach((p, i) => {
        if (typeof p !== 'string' || !s.multicast?.includes(p)) return;
        if (p !== key && !p.startsWith(`${key}.`) && !p.startsWith(`${key}/`))
          c.add(
            `spec.multicast[${i}]`,
            `must lie under the routing key: '${key}', '${key}.…' or '${key}/…' (got ${describeValue(p)})`,
          );
      });
    const names = new Set<string>();
    if (s.users)
      rawList('users').forEach((u, i) => {
        const name = (u as { name?: unknown } | null)?.name;
        if (typeof name !== 'string' || !s.users?.some((x) => x.name === name)) return;
        if (names.has(name)) c.add(`spec.users[${i}].name`, `user '${name}' is listed twice`);
        names.add(name);
      });
  },
};
