/**
 * The running router's status snapshot (what `caravan status` shows) → the facts the reconcile core reads for
 * Ready and Matched: which listeners are bound, which routing keys have a reachable connector, each link's state,
 * whether link access is bound. Pure.
 */
import type { StatusSnapshot } from '../../admin/types.js';
import type { RouterFacts } from '../reconcile/index.js';

type LinkState = 'up' | 'connecting' | 'down';

export function routerFacts(s: StatusSnapshot, linkAccessWanted: boolean): RouterFacts {
  const listeners: Record<string, { bound: boolean; error?: string }> = {};
  for (const l of s.listeners)
    listeners[l.name] =
      l.error !== undefined
        ? { bound: false, error: l.error }
        : l.port !== undefined
          ? { bound: true }
          : { bound: false, error: 'not bound yet' };
  const links: Record<string, { state: LinkState; error?: string }> = {};
  for (const l of s.links) {
    if (l.direction !== 'out') continue;
    const prev = links[l.id];
    if (prev?.state === 'up') continue;
    const state: LinkState = l.state === 'up' ? 'up' : l.state === 'down' ? 'down' : 'connecting';
    links[l.id] = { state, ...(l.lastError !== undefined && state !== 'up' ? { error: l.lastError } : {}) };
  }
  const connectorKeys = s.addresses
    .filter((a) => a.destinations.length > 0)
    .map((a) => a.key)
    .sort();
  return {
    listeners,
    connectorKeys,
    links,
    ...(linkAccessWanted
      ? {
          linkAccess: s.router.linkAccess
            ? { bound: true }
            : { bound: false, error: 'the link acceptor is not listening' },
        }
      : {}),
  };
}
