/** Schema nodes that several kinds share: hosts, ports, routing keys, TLS files, endpoints, status conditions. */
import { CONDITION_STATUSES, ROUTING_KEY_PATTERN } from '../types.js';
import { int, list, obj, oneOf, str, type Fields, type StringNode } from './dsl.js';
import { describeValue } from './messages.js';

export const MAX_INT32 = 2 ** 31 - 1;

export const host = (description: string, def?: string): StringNode =>
  str({
    description,
    ...(def !== undefined ? { default: def } : { required: true }),
    maxLength: 253,
    pattern: /^[^\s/]+$/,
    patternHelp: 'must be a host name or IP address (no spaces, scheme or path)',
    docType: 'host',
  });

export const port = (description: string): ReturnType<typeof int> =>
  int({ description, min: 1, max: 65535, required: true });

export const ROUTING_KEY_HELP =
  'must be a routing key: 1-252 letters, digits, ".", "_" or "-", starting with a letter or digit (a service name, never a host:port)';

export const routingKey = (description: string, docDefault: string): StringNode =>
  str({
    description,
    pattern: ROUTING_KEY_PATTERN,
    patternHelp: ROUTING_KEY_HELP,
    docType: 'routing key',
    docDefault,
  });

/** A routing key inside a list or as a mapping key: one message for every way it can be wrong. */
export const routingKeyText: StringNode = str({
  description: 'A routing key.',
  pattern: ROUTING_KEY_PATTERN,
  invalid: ROUTING_KEY_HELP,
  docType: 'routing key',
});

const rfc3339 = (v: string): string | undefined =>
  Number.isNaN(Date.parse(v)) ? `must be an RFC 3339 time (got ${describeValue(v)})` : undefined;

export const time = (description: string, maxLength?: number): StringNode =>
  str({ description, check: rfc3339, format: 'date-time', ...(maxLength ? { maxLength } : {}) });

/** `{host, port}`, both required. */
export const endpoint = (description: string) =>
  obj(
    {
      host: host('Host name or IP address.'),
      port: port('TCP port.'),
    },
    { description, required: true },
  );

/**
 * `{ca, cert, key}` PEM file paths, each with its default, or with the default a kind's rule fills in (`docDefaults`,
 * shown in the docs).
 */
export function tlsFiles(
  description: string,
  defaults?: { ca: string; cert: string; key: string },
  docDefaults?: { ca: string; cert: string; key: string },
) {
  const file = (what: string, def?: string, docDefault?: string): StringNode =>
    str({
      description: `PEM file of the ${what}.`,
      ...(def !== undefined ? { default: def } : {}),
      ...(docDefault !== undefined ? { docDefault } : {}),
      docType: 'path',
    });
  return obj(
    {
      ca: file('CA certificate', defaults?.ca, docDefaults?.ca),
      cert: file('certificate', defaults?.cert, docDefaults?.cert),
      key: file('private key', defaults?.key, docDefaults?.key),
    },
    { description },
  );
}

export const condition = obj(
  {
    type: str({ description: '`Configured`, `Ready`, `Matched`, ...', required: true }),
    status: oneOf(CONDITION_STATUSES, { description: '`True`, `False` or `Unknown`.', required: true }),
    reason: str({ description: 'One CamelCase word saying why.' }),
    message: str({
      description: 'One line for people, naming the field when a spec is wrong.',
      allowEmpty: true,
    }),
    observedGeneration: int({
      description: 'The `metadata.generation` this condition describes.',
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    }),
    lastTransitionTime: time('When `status` last changed (RFC 3339).'),
  },
  { description: 'One condition.', required: true },
);

/** The status of a kind: its conditions, then the kind's own fields. */
export function statusOf<F extends Fields>(fields: F, description = 'Written by the router.') {
  return obj(
    {
      conditions: list(condition, { description: 'The state of the resource, as conditions.' }),
      ...fields,
    },
    { description },
  );
}
