/**
 * The contract between the router core, the link transport and the protocol adapters.
 *
 * The core never touches sockets: it sees links as `LinkSession`s and flows as `FlowStream`s. The link
 * multiplexer (src/links/mux) satisfies these interfaces structurally; so does the in-process pair used when a
 * listener and a connector sit on the same router. Adapters receive `FlowStream`s from the core and move bytes
 * between them and real sockets.
 *
 * Flow-control contract (bounded memory end to end): a receiver calls `consumed(n)` only after the `n` bytes it
 * got in 'data' events were handed on (to a socket's write callback, or to the next hop's write callback). The
 * sender never has more than one window of unconsumed bytes outstanding.
 */

import type { Clock } from '../clock.js';

export interface FlowStream {
  readonly id: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  accept(payload?: Uint8Array): void;
  write(data: Buffer, cb?: (err?: Error | null) => void): boolean;
  end(): void;
  reset(code: number, reason?: string): void;
  consumed(n: number): void;
  on(event: 'accept', fn: (payload: Buffer) => void): this;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'end', fn: () => void): this;
  on(event: 'reset', fn: (code: number, reason: string) => void): this;
  on(event: 'drain', fn: () => void): this;
  on(event: 'close', fn: () => void): this;
  once(event: 'accept', fn: (payload: Buffer) => void): this;
  once(event: 'reset', fn: (code: number, reason: string) => void): this;
  once(event: 'close', fn: () => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners of different events have different signatures
  removeListener(event: string, fn: (...args: any[]) => void): this;
}

export interface LinkSessionStats {
  bytesIn: number;
  bytesOut: number;
  activeStreams: number;
}

export interface LinkSession {
  readonly closed: boolean;
  readonly rttMs: number | undefined;
  readonly stats: LinkSessionStats;
  openStream(header: Uint8Array): FlowStream;
  sendControl(payload: Uint8Array): void;
  goAway(code?: number, reason?: string): void;
  destroy(err?: Error): void;
  on(event: 'stream', fn: (stream: FlowStream, header: Buffer) => void): this;
  on(event: 'control', fn: (payload: Buffer) => void): this;
  on(event: 'rtt', fn: (ms: number) => void): this;
  /** an OPEN from the peer was refused by the link's own limits (or because it is going away) */
  on(event: 'refused', fn: (why: string) => void): this;
  on(event: 'close', fn: (err?: Error) => void): this;
}

/** The protocol a flow carries; the egress connector must speak the same one. */
export type FlowProtocol = 'tcp' | 'http1' | 'http2' | 'udp' | 'amqp';
export const FLOW_PROTOCOLS: readonly FlowProtocol[] = ['tcp', 'http1', 'http2', 'udp', 'amqp'];

/** What travels in a flow's OPEN frame, hop by hop. */
export interface FlowHeader {
  v: 1;
  /** flow id, unique network-wide: `<ingress router>/<counter>` */
  fid: string;
  /** routing key */
  key: string;
  /** destination router chosen by the ingress router */
  dst: string;
  /** ingress router */
  src: string;
  /** listener name at the ingress router */
  lis: string;
  /** the client's address as the listener saw it, `host:port` */
  client: string;
  proto: FlowProtocol;
  /** hops travelled so far; a flow is refused after MAX_HOPS */
  hops: number;
  /** affinity key (e.g. the client address): the egress router keeps choosing the same local connector for it */
  aff?: string;
}

/** What the egress router answers in ACCEPT once the connector reached its target. */
export interface FlowAccept {
  router: string;
  connector: string;
  target: string;
}

export const MAX_HOPS = 32;

/** A connector as the core sees it: the adapter that delivers flows to a real target. */
export interface ConnectorHandler {
  readonly name: string;
  readonly routingKey: string;
  /** false while the target is known to be down; the core then withdraws the connector. */
  readonly healthy: boolean;
  /** Deliver a flow: connect to the target, then `stream.accept(...)` and pump bytes, or `stream.reset(...)`. */
  deliver(stream: FlowStream, header: FlowHeader): void;
}

export interface OpenFlowRequest {
  routingKey: string;
  listener: string;
  client: string;
  distribution: 'balanced' | 'closest';
  proto: FlowProtocol;
  /**
   * Session affinity: flows with the same key (for the same routing key) keep going to the same destination router
   * and connector while it stays reachable. Absent: no affinity (tcp listeners).
   */
  affinityKey?: string;
  /**
   * Break ties between equally good destinations round-robin instead of by router id, so that sequential flows
   * (HTTP requests on one keep-alive connection) spread across connectors. Absent: deterministic (tcp).
   */
  rotateTies?: boolean;
  /** only this destination router (multicast sends one flow to each); no other destination is tried */
  only?: string;
  /**
   * Early data (opt-in per listener, docs/adr/0004-early-data.md): bytes the client sent before the flow was
   * established travel right behind OPEN instead of after ACCEPT, saving one round trip between the routers.
   */
  early?: EarlyData;
}

/**
 * The client's bytes read before the flow is established. The adapter appends to `chunks` (bounded) and calls
 * `onChunk` for each new chunk while the router has set it. The router writes every chunk to each attempt's stream.
 * A destination whose target refused is retried with the same bytes; after a path failure the bytes may already
 * have reached the target, so the flow is not retried then.
 */
export interface EarlyData {
  readonly chunks: Buffer[];
  onChunk: ((chunk: Buffer) => void) | undefined;
}

export interface OpenedFlow {
  stream: FlowStream;
  header: FlowHeader;
  accept: FlowAccept;
  /** every chunk of `early.chunks` was already written to `stream` (else the adapter writes them first) */
  earlySent?: boolean;
}

/** The core as adapters see it. */
export interface AdapterHost {
  readonly routerId: string;
  /** the router's clock: adapters take their timers (connect timeouts, probes, idle sweeps) and durations from it */
  readonly clock: Clock;
  /**
   * Open a flow; `established` is called synchronously when the egress router accepted it (attach stream
   * handlers right there). The promise resolves after that, or rejects with a CaravanError saying why no flow
   * could be established.
   */
  openFlow(req: OpenFlowRequest, established: (flow: OpenedFlow) => void): Promise<void>;
  /** some destination (a reachable router advertising it, or a healthy local connector) serves `routingKey` */
  reachable(routingKey: string): boolean;
  /** every router that serves `routingKey` now (this one when a local connector is healthy), for multicast */
  destinations(routingKey: string): string[];
  /** call `fn` whenever routes or address advertisements change; returns a function that stops it */
  onRoutesChanged(fn: () => void): () => void;
  addConnector(handler: ConnectorHandler): void;
  removeConnector(name: string): void;
  /** re-read every connector's `healthy` flag and re-advertise */
  refreshAddresses(): void;
}

/** A running listener of any protocol, as the site runtime manages it. */
export interface ListenerAdapter {
  readonly name: string;
  readonly routingKey: string;
  /** the bound port once started */
  readonly port: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** counters for status and metrics (accepted, active, refused, bytesIn, bytesOut, ...) */
  stats(): Record<string, number>;
  /** a listener with several routing keys: established connections per key */
  routedByKey?(): Record<string, number> | undefined;
}

/** A running connector of any protocol: the core delivers flows to it. */
export interface ConnectorAdapter extends ConnectorHandler {
  /** human-readable target(s), e.g. `10.0.0.7:5432` */
  readonly target: string;
  stop(): void;
  stats(): Record<string, number>;
}
