/**
 * Resource types: the one configuration model (docs/resources.md). Every resource is shaped like a Kubernetes object.
 *
 * These are the *validated* shapes: `validateResource` fills in every default, so fields documented with a
 * default are always present on a value of these types. Optional fields stay optional.
 */

export const API_VERSION = 'caravan.dev/v1alpha1';

export const KINDS = ['Site', 'Link', 'Listener', 'Connector', 'AccessGrant', 'AccessToken'] as const;
export type Kind = (typeof KINDS)[number];

/** Site and resource names: a DNS label. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Routing keys: the name of a service in the network (`payments`, `db.orders`); never a host:port. */
export const ROUTING_KEY_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251})?$/;

export const SITE_MODES = ['interior', 'edge'] as const;
export type SiteMode = (typeof SITE_MODES)[number];

/** Protocols a Listener/Connector may carry. */
export const SERVICE_TYPES = ['tcp', 'http1', 'http2', 'udp', 'amqp'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const DISTRIBUTIONS = ['balanced', 'closest'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** A user of an amqp listener. */
export interface ListenerUser {
  name: string;
  passwordFile: string;
}

/** Several routing keys behind one listener: how a connection picks one (see ListenerSpec.priority/weighted). */
export interface ListenerKeys {
  strategy: 'priority' | 'weighted';
  /** in the order written; weight 1 for priority */
  keys: { routingKey: string; weight: number }[];
}

/** The routing keys of a listener with their strategy, or undefined for a listener with one key. */
export function listenerKeys(spec: {
  priority?: string[];
  weighted?: Record<string, number>;
}): ListenerKeys | undefined {
  if (spec.priority)
    return { strategy: 'priority', keys: spec.priority.map((k) => ({ routingKey: k, weight: 1 })) };
  if (spec.weighted)
    return {
      strategy: 'weighted',
      keys: Object.entries(spec.weighted).map(([k, w]) => ({ routingKey: k, weight: w })),
    };
  return undefined;
}

/** Every routing key a listener serves: its one key, or all of its priority/weighted keys in the order written. */
export function listenerRoutingKeys(spec: {
  routingKey: string;
  priority?: string[];
  weighted?: Record<string, number>;
}): string[] {
  return listenerKeys(spec)?.keys.map((k) => k.routingKey) ?? [spec.routingKey];
}

/** Session affinity of a listener: `client` sends the same client address to the same connector. */
export const AFFINITIES = ['client'] as const;
export type Affinity = (typeof AFFINITIES)[number];

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

export const DEFAULTS = {
  linkAccessHost: '0.0.0.0',
  linkAccessPort: 55671,
  /** HTTPS port of the grant server (token redemption, certificate renewal), on the link access host. */
  grantPort: 55672,
  helloIntervalMs: 1000,
  /** deadIntervalMs defaults to this many hello intervals. */
  deadIntervalHellos: 3,
  minHelloIntervalMs: 50,
  siteTls: { ca: 'runtime/ca.crt', cert: 'runtime/server.crt', key: 'runtime/server.key' },
  linkCost: 1,
  maxCost: 2 ** 31 - 1,
  listenerHost: '0.0.0.0',
  connectorHost: '127.0.0.1',
  serviceType: 'tcp' as ServiceType,
  distribution: 'balanced' as Distribution,
  grantRedemptions: 1,
  grantExpiry: '15m',
} as const;

/** Default TLS file paths of a link (relative to the site directory). */
export function defaultLinkTls(linkName: string): TlsFiles {
  return {
    ca: `runtime/links/${linkName}/ca.crt`,
    cert: `runtime/links/${linkName}/client.crt`,
    key: `runtime/links/${linkName}/client.key`,
  };
}

export interface ObjectMeta {
  name: string;
  labels?: Record<string, string>;
  /**
   * Bumped by whoever writes the resource each time its spec changes (the CLI on a host site, the API server in
   * Kubernetes); status conditions name the generation they describe (`observedGeneration`).
   */
  generation?: number;
}

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  /** RFC 3339 timestamp. */
  lastTransitionTime?: string;
}

export interface ResourceStatus {
  conditions?: Condition[];
}

/** Paths to PEM files; relative paths are relative to the site directory. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface HostPort {
  host: string;
  port: number;
}

interface ResourceBase<K extends Kind, S, St extends ResourceStatus = ResourceStatus> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: St;
}

// --- Site ---------------------------------------------------------------------------------------------------

export interface RoutingTimers {
  /** Interval between HELLOs on every link; ≥ 50 ms. Default 1000. */
  helloIntervalMs: number;
  /** A neighbour is dead after this long without a HELLO; > helloIntervalMs. Default 3 × helloIntervalMs. */
  deadIntervalMs: number;
}

export interface LinkAccess extends HostPort {
  /** HTTPS port of the grant server, bound on `host`; default 55672; 0 picks a free port at router start. */
  grantPort: number;
  /**
   * Addresses or host names other sites should dial (used in tokens). When absent, tokens use `host` if it is a
   * specific address, else every non-internal IPv4 address of the machine.
   */
  hosts?: string[];
}

export interface SiteSpec {
  /** Default `interior`. */
  mode: SiteMode;
  /** Stable router id; when absent it is generated (and persisted) by the site, not by the validator. */
  routerId?: string;
  /** Where this site accepts links (interior only). Port 0 picks a free port. */
  linkAccess?: LinkAccess;
  routing: RoutingTimers;
  admin?: { socket?: string };
  /**
   * The console HTTP server (web console, /api, /metrics). Port 0 (default) disables it. Host defaults to
   * 127.0.0.1; binding any non-loopback address requires HTTP Basic credentials (generated when not given).
   */
  console?: {
    host: string;
    port: number;
    username?: string;
    password?: string;
    /** names the console also answers to (Host header), besides its address and the localhost names */
    hosts?: string[];
  };
  /**
   * Limits of the public ports (link access, grant server, console) against clients that never authenticate:
   * a connection must finish its handshake (TLS; the console: its first request) within `handshakeTimeoutMs`
   * (default 10,000), at most `maxHandshakes` (default 256) connections are in handshake per port, at most
   * `maxHandshakesPerAddress` (default 32) from one source address.
   */
  limits?: { handshakeTimeoutMs?: number; maxHandshakes?: number; maxHandshakesPerAddress?: number };
  /**
   * Observability: flow records kept by the router (ring size, default 10,000); `flowLog: true` also appends every
   * finished flow as one JSON line to `logs/flows.log` (an access log; rotated at 10 MiB, 3 files kept).
   */
  observe?: { flowRecords?: number; flowLog?: boolean };
  /** Limits on what linked peers can make this router do; defaults a normal network never reaches. */
  peerLimits?: PeerLimits;
  /** Server TLS files for linkAccess; filled with defaults when linkAccess is set. */
  tls?: TlsFiles;
}
export type SiteResource = ResourceBase<'Site', SiteSpec>;

/** Site spec.peerLimits (docs/design/security.md, "Limits on what a linked peer can make a router do"). */
export interface PeerLimits {
  /** streams a peer may have open on one link (default 10,000) */
  linkStreams?: number;
  /** streams a peer may open per second on one link, twice that at once (default 5,000) */
  linkOpenRate?: number;
  /** streams all peers together may have open (default 50,000) */
  streams?: number;
  /** streams all peers together may open per second, twice that at once (default 20,000) */
  openRate?: number;
  /** flows one local connector delivers at once (default 10,000) */
  connectorFlows?: number;
  /** a new link must send its preface and its hello within this many ms (default 10,000; 0 = no limit) */
  helloTimeoutMs?: number;
}

// --- Link ---------------------------------------------------------------------------------------------------

export interface LinkSpec {
  /** Where to dial, in order of preference; at least one. */
  endpoints: HostPort[];
  /** Default 1; 1 .. 2^31-1. */
  cost: number;
  /** Client TLS files; default `runtime/links/<name>/{ca.crt,client.crt,client.key}`. */
  tls: TlsFiles;
  /**
   * Reach the endpoints through this HTTP proxy (`http://[user:password@]host[:port]`, HTTP CONNECT); the link's
   * mutual TLS runs end to end through the tunnel. Certificate renewal uses it too.
   */
  proxy?: string;
}
export type LinkResource = ResourceBase<'Link', LinkSpec>;

// --- Listener / Connector -----------------------------------------------------------------------------------

/** Server TLS of an http2 listener: PEM files; relative paths are relative to the site directory. */
export interface ListenerTls {
  cert: string;
  key: string;
  /** require client certificates issued by this CA (PEM file); without it, clients need none */
  clientCa?: string;
}

/** Client TLS of an http2 connector. */
export interface ConnectorTls {
  /** PEM CA file to verify targets with (relative to the site directory); default: Node's built-in roots. */
  ca?: string;
  /** Do not verify the target's certificate. Default false. */
  insecure?: boolean;
  /** Name for SNI and verification; default: the target host unless it is an IP address. */
  servername?: string;
}

export interface ListenerSpec {
  /** Default: metadata.name. */
  routingKey: string;
  /** Default `0.0.0.0`. */
  host: string;
  port: number;
  /** Default `tcp`. */
  type: ServiceType;
  /** Default `balanced`. */
  distribution: Distribution;
  /** `client`: the same client address keeps going to the same connector while it stays reachable. */
  affinity?: Affinity;
  /** udp: close a client session after this long without a datagram either way (default 60000 ms). */
  idleTimeoutMs?: number;
  /** udp: at most this many concurrent client sessions (default 10000). */
  maxSessions?: number;
  /** http1: append the client address to `X-Forwarded-For` (default false). */
  forwardedFor?: boolean;
  /**
   * tcp: send the client's first bytes (up to 64 KiB) with the flow's OPEN instead of after the far end accepted,
   * saving one round trip per connection; a flow whose path breaks after that is not retried (default false).
   */
  earlyData?: boolean;
  /** http2: serve TLS (ALPN h2) with these PEM files; without it, h2c with prior knowledge. amqp: serve amqps. */
  tls?: ListenerTls;
  /**
   * Only clients from these addresses or CIDR prefixes (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`) may connect;
   * others are closed at once (udp: their datagrams dropped). Absent: any client. An empty list admits nobody.
   */
  allow?: string[];
  /**
   * tcp, http1, http2: several routing keys behind this listener, first choice first. Each connection (request)
   * goes to the first key that has a reachable connector, and to the next one if every connector of that key
   * refuses. `routingKey` is then the first key.
   */
  priority?: string[];
  /**
   * tcp, http1, http2: several routing keys behind this listener with weights (`{api-v1: 9, api-v2: 1}`):
   * connections (requests) are shared among the keys that have a reachable connector, in proportion to their
   * weights. `routingKey` is then the first key.
   */
  weighted?: Record<string, number>;
  /**
   * amqp: addresses starting with one of these prefixes are multicast (every receiver gets a copy); the others
   * are anycast (one receiver, by `distribution`). Each prefix lies under the routing key (`bus.events.`).
   */
  multicast?: string[];
  /**
   * amqp: clients must log in (SASL PLAIN) as one of these users; each password is in a file (relative to the
   * site directory, read at every login). Absent: no login (SASL ANONYMOUS or none).
   */
  users?: ListenerUser[];
}
export type ListenerResource = ResourceBase<'Listener', ListenerSpec>;

export interface ConnectorSpec {
  /** Default: metadata.name. */
  routingKey: string;
  /** Default `127.0.0.1`. */
  host: string;
  port: number;
  /** Default `tcp`. */
  type: ServiceType;
  /**
   * Several targets, alternative to host/port: flows balance across them (fewest active, failed ones skipped).
   * When given, `host`/`port` mirror the first target (they may be written only if equal to it).
   */
  targets?: HostPort[];
  /** udp: close a session after this long without a datagram either way (default 60000 ms). */
  idleTimeoutMs?: number;
  /** udp: at most this many concurrent sessions (default 10000). */
  maxSessions?: number;
  /** http1: append the client address (as the listener saw it) to `X-Forwarded-For` (default false). */
  forwardedFor?: boolean;
  /** http2: speak TLS (ALPN h2) to the target(s); without it, h2c with prior knowledge. */
  tls?: ConnectorTls;
  /**
   * amqp: the address at the broker (default: the routing key), e.g. `/queue/orders` for RabbitMQ. The broker
   * queue becomes the waypoint of the network address named by the routing key.
   */
  address?: string;
  /** amqp: authenticate to the broker with SASL PLAIN as this user (with passwordFile) */
  username?: string;
  /** amqp: a file holding the broker password (relative to the site directory; read at every connection) */
  passwordFile?: string;
}
export type ConnectorResource = ResourceBase<'Connector', ConnectorSpec>;

// --- AccessGrant / AccessToken ------------------------------------------------------------------------------

export interface AccessGrantSpec {
  /** How many times the grant may be redeemed; ≥ 1, default 1. */
  redemptions: number;
  /** How long the grant is valid after it is created, as a duration (`15m`, `1h`, `30s`); default `15m`. */
  expiry: string;
  /** Cost of links made with this grant; default 1. */
  cost: number;
  /** The one-time secret in clear (when written by hand). `caravan token issue` stores only `codeHash`. */
  code?: string;
  /** SHA-256 (lowercase hex) of the one-time secret. */
  codeHash?: string;
  /** Lifetime of the link certificates issued with this grant (renewed before expiry); default 30 days. */
  certLifetime?: string;
}
export interface AccessGrantStatus extends ResourceStatus {
  /** Redemption URL, once the grant server serves the grant. */
  url?: string;
  /** PEM CA certificate of the accepting site. */
  ca?: string;
  /** Redemptions made so far. */
  redeemed?: number;
  /** RFC 3339 time at which the grant expires. */
  expiresAt?: string;
}
export type AccessGrantResource = ResourceBase<'AccessGrant', AccessGrantSpec, AccessGrantStatus>;

export interface AccessTokenSpec {
  /** Redemption URL of the grant server (https). */
  url: string;
  /** The one-time code. */
  code: string;
  /** PEM CA certificate of the accepting site (to verify the grant server and the link). */
  ca: string;
  /** Requested link cost; the grant's cost applies when absent. */
  cost?: number;
  /**
   * For the redeemer's information (the grant server decides): when the grant expires (RFC 3339, the issuing
   * site's clock) and how many redemptions it allows. Absent from tokens of older versions.
   */
  expiresAt?: string;
  redemptions?: number;
}
export type AccessTokenResource = ResourceBase<'AccessToken', AccessTokenSpec>;

export type Resource =
  | SiteResource
  | LinkResource
  | ListenerResource
  | ConnectorResource
  | AccessGrantResource
  | AccessTokenResource;

/** The resource type for a kind name. */
export type ResourceOfKind<K extends Kind> = Extract<Resource, { kind: K }>;
