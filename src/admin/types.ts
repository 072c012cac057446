import type { Condition } from '../api/index.js';
/** The admin API's data model (JSON over HTTP on the site's Unix socket). Shared by server and client. */
import type { FlowRecord } from '../observe/model.js';

/** GET /v1/flows: records network-wide, newest first; routers that did not answer are listed, not fatal. */
export interface FlowsResult {
  flows: FlowRecord[];
  unanswered: Array<{ router: string; error: string }>;
}

export interface RouterStatus {
  id: string;
  site: string;
  mode: 'interior' | 'edge';
  pid: number;
  version: string;
  startedAt: string;
  linkAccess?: { host: string; port: number };
  /** where the grant server (token redemption, certificate renewal) listens */
  grantServer?: { host: string; port: number };
  /** the console HTTP server (console, /api, /metrics), when enabled */
  console?: { url: string; auth: boolean };
}

export interface LinkStatusView {
  /** link id at this router (Link resource name for outbound links, `in-N` for inbound) */
  id: string;
  name: string;
  direction: 'in' | 'out';
  /** connecting | up | down for outbound links; handshaking | up for sessions */
  state: string;
  neighbor?: string;
  neighborMode?: 'interior' | 'edge';
  cost: number;
  rttMs?: number;
  bytesIn: number;
  bytesOut: number;
  activeFlows: number;
  lastError?: string;
  endpoint?: string;
  /** outbound links through an HTTP proxy: its URL without the password */
  proxy?: string;
  /** RFC 3339: when this session came up (unchanged while the link stays up, e.g. across certificate renewals) */
  upSince?: string;
  /** outbound links of a Link resource: its status conditions */
  status?: ResourceStatusView['status'];
}

/** The status of one resource of the site, as in a Kubernetes Custom Resource: `status.conditions[]`. */
export interface ResourceStatusView {
  kind: string;
  name: string;
  /** metadata.generation of the newest spec the router read */
  generation?: number;
  status: { conditions: Condition[] };
}

export interface RouteView {
  dest: string;
  cost: number;
  nextHop: string;
  links: string[];
}

export interface AddressView {
  key: string;
  destinations: Array<{ router: string; cost: number; count: number }>;
}

export interface ListenerView {
  name: string;
  type: string;
  routingKey: string;
  host: string;
  port: number | undefined;
  distribution: string;
  /** some connector for the key (for any of its keys) is reachable somewhere in the network */
  matched: boolean;
  /** a listener with several routing keys (`priority` / `weighted`): each key, in the order written */
  keys?: ListenerKeyView[];
  strategy?: 'priority' | 'weighted';
  /** why the listener is not serving (e.g. its port is taken) */
  error?: string;
  /** adapter counters: accepted, active, refused, bytesIn, bytesOut, ... */
  stats: Record<string, number>;
  generation?: number;
  status: ResourceStatusView['status'];
}

export interface ListenerKeyView {
  routingKey: string;
  /** 1 for priority */
  weight: number;
  /** some connector for this key is reachable */
  matched: boolean;
  /** connections established to this key */
  routed: number;
}

export interface ConnectorView {
  name: string;
  type: string;
  routingKey: string;
  target: string;
  healthy: boolean;
  /** adapter counters: delivered, active, failed, bytesIn, bytesOut, ... */
  stats: Record<string, number>;
  generation?: number;
  status: ResourceStatusView['status'];
}

export interface TopologyView {
  routers: Array<{
    id: string;
    mode: 'interior' | 'edge';
    seq: number;
    reachable: boolean;
    links: Array<{ neighbor: string; cost: number }>;
    addresses: Record<string, number>;
    /** what the router advertises about itself: site, version, platform, listeners (routing key -> count) */
    info?: Record<string, unknown>;
  }>;
}

export interface StatusSnapshot {
  router: RouterStatus;
  links: LinkStatusView[];
  routes: RouteView[];
  addresses: AddressView[];
  listeners: ListenerView[];
  connectors: ConnectorView[];
  flows: {
    byKey: Record<string, { opened: number; established: number; failed: number }>;
    failuresByCode: Record<string, number>;
  };
  routing: { version: number; messagesIn: number; messagesOut: number; spfRuns: number; malformed: number };
  topology: TopologyView;
  /** every resource of the site, including those whose spec the router rejected, with its conditions */
  resources: ResourceStatusView[];
}

export interface ReloadResult {
  applied: boolean;
  /** why nothing was applied */
  error?: string;
  /** what changed, e.g. `Listener/db added` */
  changes: string[];
}

/** POST /v1/links/revoke {target}: the links issued to a site (or link/grant name) are cut and refused. */
export interface RevokeResult {
  /** serial numbers of the certificates now refused */
  revoked: string[];
  /** the redeeming sites concerned */
  sites: string[];
  /** link identities (stable across renewals) */
  ids: string[];
  /** every matching certificate was already revoked */
  alreadyRevoked: boolean;
  /** sessions cut by the running router */
  cut?: number;
}
