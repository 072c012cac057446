/**
 * The router's outer types: its options and limits, what it is told about a link and what it reports of one.
 * The Router class (router.ts) re-exports them.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { RateLimit } from '../rate-limit.js';
import type { RouterIdentity } from '../identity.js';
import type { RouterMode } from '../routing/index.js';

export interface RouterOptions {
  /** the router's key pair; its router id is derived from the public key and the site name */
  identity: RouterIdentity;
  mode: RouterMode;
  site: string;
  /** most routers kept in the link-state database (default 10,000) */
  maxRouters?: number;
  helloIntervalMs: number;
  deadIntervalMs: number;
  /** Upper bound for establishing one flow, all retries included. */
  flowSetupTimeoutMs?: number;
  logger: Logger;
  /** flow records kept by this router (ring size; default 10,000) */
  flowRecords?: number;
  /** limits on what linked peers can make this router do (defaults: DEFAULT_ROUTER_LIMITS) */
  limits?: Partial<RouterLimits>;
  /** time and every timer of the router (routing ticks, flow setup, hello timeout, open rate, log summaries,
   * management requests); default systemClock */
  clock?: Clock;
}

/** Router-wide limits on streams from linked peers (docs/design/security.md). */
export interface RouterLimits {
  /** streams opened by peers (all links together) open at once; further OPENs are refused (REFUSED) */
  streams: number;
  /** how fast peers (all links together) may open streams */
  openRate: RateLimit;
  /** flows one local connector delivers at once; a connector at the limit takes no more (TARGET_REFUSED) */
  flowsPerConnector: number;
  /** a link whose peer has not said hello (`hi`) after this long is closed (LINK_TIMEOUT); 0 = off */
  helloTimeoutMs: number;
}

export const DEFAULT_ROUTER_LIMITS: RouterLimits = {
  streams: 50_000,
  openRate: { perSecond: 20_000, burst: 40_000 },
  flowsPerConnector: 10_000,
  helloTimeoutMs: 10_000,
};

/** Counters of the limits: OPENs refused by reason, links closed for a fault of the peer by kind. */
export interface LimitStats {
  refused: Record<string, number>;
  faults: Record<string, number>;
}

export type LinkDirection = 'in' | 'out';

export interface LinkInfo {
  id: string;
  /** the Link resource name for outbound links; the peer's address for inbound ones */
  name: string;
  direction: LinkDirection;
  /** configured cost (outbound); inbound links take the cost the peer announces */
  cost?: number;
  /**
   * The router id the peer's verified link certificate names (its subject CN). The peer's `hi` must claim
   * exactly this id, or the link is refused: nobody can link under another router's id.
   */
  peerRouterId: string | undefined;
}

export interface LinkStatus {
  id: string;
  name: string;
  direction: LinkDirection;
  neighbor: string | undefined;
  /** the site the neighbor router belongs to (checked against its router id) */
  neighborSite: string | undefined;
  neighborMode: RouterMode | undefined;
  cost: number;
  state: 'handshaking' | 'up';
  rttMs: number | undefined;
  bytesIn: number;
  bytesOut: number;
  activeFlows: number;
  upSinceMs: number;
}
