/**
 * What a change of the Site resource means for a running router: link access (with its server TLS files), the
 * console and the flow log are restarted in place; the rest of the spec is fixed for the router's lifetime and
 * needs a restart.
 */
import type { SiteSpec } from '../api/index.js';

export interface SiteDiff {
  /** changed fields that apply only when the router restarts, in spec order */
  restart: string[];
  /** link access added, removed, or its host, port or server TLS files changed: restart the link acceptor */
  acceptor: boolean;
  /** any of linkAccess (also grantPort, hosts) or the TLS files changed: restart the grant server */
  grants: boolean;
  /** console changed: restart the console server */
  console: boolean;
  /** observe.flowLog turned on or off */
  flowLog: boolean;
}

/** Fields that only take effect at start: the router's identity, its role, its timers and its admin socket. */
const RESTART_FIELDS = ['mode', 'routerId', 'routing', 'admin', 'peerLimits'] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Where links are accepted; undefined without link access. */
const endpoint = (s: SiteSpec): string | undefined =>
  s.linkAccess ? `${s.linkAccess.host}:${s.linkAccess.port}` : undefined;

export function diffSite(cur: SiteSpec, next: SiteSpec): SiteDiff {
  return {
    restart: [
      ...RESTART_FIELDS.filter((f) => !same(cur[f], next[f])),
      // the flow-record ring is sized at start
      ...(same(cur.observe?.flowRecords, next.observe?.flowRecords) ? [] : ['observe.flowRecords']),
    ],
    acceptor: !same(endpoint(cur), endpoint(next)) || !same(cur.tls, next.tls),
    grants: !same(cur.linkAccess, next.linkAccess) || !same(cur.tls, next.tls),
    console: !same(cur.console, next.console),
    flowLog: (cur.observe?.flowLog ?? false) !== (next.observe?.flowLog ?? false),
  };
}

export function siteUnchanged(d: SiteDiff): boolean {
  return d.restart.length === 0 && !d.acceptor && !d.grants && !d.console && !d.flowLog;
}
