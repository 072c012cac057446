/**
 * The network model: one typed view of the whole network, shared by `caravan network status`, the admin API
 * and the web console. Built by the router that is asked, from its link-state database plus what its peers
 * report over the network itself (management flows ride the links; no extra ports between sites).
 *
 * JSON-serializable; field names are part of the console/admin contract.
 */
import type { ErrorCode } from '../errors.js';

export type RouterModeName = 'interior' | 'edge';

export interface SiteModel {
  /** router id (unique in the network) */
  id: string;
  /** site name */
  name: string;
  mode: RouterModeName;
  /** e.g. `linux/x64 node v20.20.2` */
  platform: string;
  /** Caravan version */
  version: string;
  /** reachable from the router that built the model */
  reachable: boolean;
}

export interface LinkModel {
  /** `<from>--<to>` with from < to */
  id: string;
  from: string;
  to: string;
  /** cost as advertised (lower of the two directions when they differ) */
  cost: number;
  /** up when both ends advertise each other (two-way) */
  state: 'up' | 'down';
  rttMs?: number;
}

export interface ServiceEndpoint {
  /** router id */
  site: string;
  /** listener or connector names at that site, when known */
  names?: string[];
  count: number;
}

export interface ServiceModel {
  routingKey: string;
  protocol?: string;
  listeners: ServiceEndpoint[];
  connectors: ServiceEndpoint[];
  /** some listener and some reachable connector exist */
  matched: boolean;
  /** recent rates, summed over every listener of the key */
  bytesPerSec?: number;
  flowsPerSec?: number;
}

export interface SitePairTraffic {
  /** ingress router id (where the listener is) */
  from: string;
  /** egress router id (where the connector is) */
  to: string;
  bytesPerSec: number;
  flowsPerSec: number;
}

export interface NetworkModel {
  generatedAt: string;
  /** router id that built the model */
  observedBy: string;
  sites: SiteModel[];
  links: LinkModel[];
  services: ServiceModel[];
  traffic: SitePairTraffic[];
  /** routers that were asked for their traffic and did not answer (their rates are missing, not zero) */
  unanswered?: Array<{ router: string; error: string }>;
}

export type FlowOutcome = 'active' | 'ok' | ErrorCode;

export interface FlowRecord {
  id: string;
  routingKey: string;
  protocol: string;
  /** ingress router id and listener */
  sourceSite: string;
  listener: string;
  clientAddress: string;
  /** egress router id, connector and target, once known */
  destSite?: string;
  connector?: string;
  targetAddress?: string;
  /** ISO timestamps */
  startedAt: string;
  endedAt?: string;
  /** client → server */
  bytesOut: number;
  /** server → client */
  bytesIn: number;
  outcome: FlowOutcome;
}

/** One sample of the traffic time series (the console's Traffic page). */
export interface TrafficSample {
  /** ms since epoch */
  t: number;
  /** bytes/s per routing key */
  services: Record<string, number>;
  /** bytes/s per `from->to` router pair */
  sitePairs: Record<string, number>;
}
