/** Fields that Listeners and Connectors share: routing key, protocol, and the options of one protocol each. */
import { DEFAULTS, SERVICE_TYPES } from '../types.js';
import { MAX_INT32 } from './common.js';
import { bool, int, oneOf } from './dsl.js';

export const serviceType = oneOf(SERVICE_TYPES, {
  description: 'The protocol carried.',
  default: DEFAULTS.serviceType,
});

export const onlyForType = (...values: string[]) => ({ field: 'type', values });

export const idleTimeoutMs = (who: string) =>
  int({
    description: `Close a ${who ? `${who} ` : ''}session after this long without a datagram either way, in milliseconds (default 60000).`,
    min: 100,
    max: MAX_INT32,
    onlyFor: onlyForType('udp'),
  });

export const maxSessions = (who: string) =>
  int({
    description: `At most this many concurrent ${who ? `${who} ` : ''}sessions (default 10000).`,
    min: 1,
    max: 1_000_000,
    onlyFor: onlyForType('udp'),
  });

export const forwardedFor = (description: string) => bool({ description, onlyFor: onlyForType('http1') });
