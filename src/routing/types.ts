// Types of the link-state routing engine. This folder imports nothing from the rest of the project.
// See docs/design/routing.md for the protocol.

export type RouterId = string;
/** A transport link (one mTLS connection); several links may join the same two routers. */
export type LinkId = string;
export type RouterMode = 'interior' | 'edge';

/**
 * Signs this router's advertisements and verifies others' (src/identity.ts implements it with Ed25519 and
 * self-certifying ids; the simulator with a cheap stand-in). `verify` must check that `key` is the key behind `id`.
 */
export interface AdAuthenticator {
  /** this router's public key, carried in its advertisements */
  readonly key: string;
  sign(data: Uint8Array): string;
  verify(id: RouterId, key: string, data: Uint8Array, signature: string): boolean;
}

export interface EngineConfig {
  id: RouterId;
  mode: RouterMode;
  /** signs the own advertisements, verifies every other one before it is installed */
  authenticator: AdAuthenticator;
  /**
   * Most routers held in the link-state database (default 10,000): a linked site that invents routers behind
   * itself cannot grow every other router's memory without bound. Advertisements of new routers beyond it are
   * dropped and counted (`overflow`).
   */
  maxRouters?: number;
  /** HELLO period on every link; default 1000, tests go down to 100. */
  helloIntervalMs: number;
  /** A link whose neighbor sent no HELLO for this long is declared dead; default 3 * hello. */
  deadIntervalMs: number;
  /**
   * Identifies this incarnation of the router (default: the `now` given to the constructor, which differs on
   * every restart). Carried in every advertisement so that a restarted router never produces a copy identical to
   * one of its previous life.
   */
  incarnation?: number;
  /** Re-originate the own advertisement periodically (default 30_000). */
  refreshIntervalMs?: number;
  /** Drop advertisements of routers unreachable for this long (default 60_000). */
  purgeAfterMs?: number;
}

export const DEFAULT_HELLO_INTERVAL_MS = 1000;
export const DEFAULT_DEAD_FACTOR = 3;
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;
export const DEFAULT_PURGE_AFTER_MS = 60_000;
export const DEFAULT_MAX_ROUTERS = 10_000;

/**
 * Sequence numbers are 32-bit unsigned serial numbers (RFC 1982): 1 .. 2^32-1, 0 is never used, and after
 * 2^32-1 comes 1. A newer seq is one at most 2^31-1 ahead, so any value a router ever held can be passed by
 * counting on: no copy, however high its seq, locks its originator out.
 */
export const MAX_SEQ = 2 ** 32 - 1;
/** Longest public key and signature accepted in an advertisement. */
export const MAX_KEY_LENGTH = 128;
export const MAX_SIGNATURE_LENGTH = 256;

/** Longest router id accepted from a peer. */
export const MAX_ROUTER_ID_LENGTH = 256;
/** Longest routing key accepted from a peer. */
export const MAX_ROUTING_KEY_LENGTH = 1024;
/** Largest link cost (local or from a peer). */
export const MAX_LINK_COST = 1_000_000_000;

/** Upper bound on an advertisement's `info`, serialised as JSON. */
export const MAX_INFO_BYTES = 16 * 1024;

/** A config with the defaults filled in. */
export function defaultEngineConfig(
  id: RouterId,
  authenticator: AdAuthenticator,
  mode: RouterMode = 'interior',
): EngineConfig {
  return {
    id,
    mode,
    authenticator,
    helloIntervalMs: DEFAULT_HELLO_INTERVAL_MS,
    deadIntervalMs: DEFAULT_DEAD_FACTOR * DEFAULT_HELLO_INTERVAL_MS,
    refreshIntervalMs: DEFAULT_REFRESH_INTERVAL_MS,
    purgeAfterMs: DEFAULT_PURGE_AFTER_MS,
  };
}

/** Sent on every link each hello interval (and at once when the set of heard routers changes). */
export interface Hello {
  t: 'hello';
  /** Sender's router id. */
  id: RouterId;
  mode: RouterMode;
  /** Router ids the sender has heard HELLOs from on this link (two-way check). */
  seen: RouterId[];
  /**
   * The sender's dead interval in ms. The receiver declares the link dead only after the larger of its own and
   * this one (ADR 0005), so sites with different timers do not flap. Absent from older routers.
   */
  dead?: number;
}

export interface AdvertisedLink {
  neighbor: RouterId;
  /** Cost from the advertising router to `neighbor` (min across parallel two-way links). */
  cost: number;
}

/** A router's link-state advertisement: flooded through interiors, newest `seq` wins. */
export interface RouterAdvertisement {
  t: 'ra';
  id: RouterId;
  mode: RouterMode;
  /** Serial number 1 .. 2^32-1 (MAX_SEQ), advanced on every origination; see compareSeq(). */
  seq: number;
  /** The originator's incarnation (a finite number, e.g. its start time); see EngineConfig.incarnation. */
  boot: number;
  /** Two-way neighbors, sorted by neighbor id. */
  links: AdvertisedLink[];
  /** Routing key -> local connector count (> 0), keys sorted. */
  addresses: Record<string, number>;
  /**
   * Opaque facts about the originating router (site name, version, platform, listener keys...), flooded with the
   * advertisement for network-wide status. Plain JSON, at most MAX_INFO_BYTES when serialised; never used by SPF.
   */
  info?: Record<string, unknown>;
  /** the originator's public key (its router id is derived from it) */
  key: string;
  /** the originator's signature over adSigningBytes() of this advertisement */
  sig: string;
}

export type RoutingMessage = Hello | RouterAdvertisement;

export interface Route {
  dest: RouterId;
  cost: number;
  nextHop: RouterId;
  /** Links to nextHop that are two-way, best cost first (then by link id). */
  links: LinkId[];
}

export interface AddressDestination {
  router: RouterId;
  cost: number;
  /** Connectors advertised by that router. */
  count: number;
}

export interface TopologySnapshot {
  routers: Array<{
    id: RouterId;
    mode: RouterMode;
    seq: number;
    reachable: boolean;
    links: Array<{ neighbor: RouterId; cost: number }>;
    addresses: Record<string, number>;
    info?: Record<string, unknown>;
  }>;
}

export type LinkEvent = { linkId: LinkId; event: 'two-way' | 'dead'; neighbor?: RouterId };

export interface OutboundMessage {
  linkId: LinkId;
  msg: RoutingMessage;
}

export interface EngineStats {
  messagesIn: number;
  messagesOut: number;
  spfRuns: number;
  /** Never set by the engine (no clocks inside); callers may measure it around routes()/version. */
  lastSpfMs?: number;
  /** Messages rejected by validation. */
  malformed: number;
  /** Well-formed messages dropped (unknown or dead link, HELLO carrying our own id). */
  ignored: number;
  /** Advertisements installed (newer than the stored copy). */
  adsAccepted: number;
  /** Times the own advertisement was originated (including refreshes and seq jumps). */
  originations: number;
  /** Advertisements installed whose content (links, mode or addresses) differed from the stored copy. */
  lsdbChanges: number;
  /** Advertisements dropped because their key is not their router's or their signature does not verify. */
  forged: number;
  /** Advertisements of new routers dropped because the database holds maxRouters already. */
  overflow: number;
}
