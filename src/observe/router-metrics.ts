/**
 * The router's Prometheus metrics, filled at scrape time from the counters the core, the flow recorder and the
 * adapters already keep (no hot-path cost). Names follow Prometheus conventions: `caravan_…_total` for counters,
 * base units (bytes, seconds).
 */
import type { FlowRecorder } from './flows.js';
import { MetricsRegistry } from './metrics.js';

export interface LinkMetricsInput {
  id: string;
  neighbor?: string;
  state: string;
  cost: number;
  rttMs?: number;
  bytesIn: number;
  bytesOut: number;
}

export interface AdapterMetricsInput {
  name: string;
  routingKey: string;
  type: string;
  stats: Record<string, number>;
}

/** The accept guard of a public port (link, grant, console). */
export interface AcceptMetricsInput {
  server: string;
  handshaking: number;
  refused: Record<string, number>;
  paused: boolean;
}

export interface RouterMetricsSource {
  routerId: string;
  records: FlowRecorder;
  links(): LinkMetricsInput[];
  routing(): {
    spfRuns: number;
    version: number;
    messagesIn: number;
    messagesOut: number;
    routers: number;
    /** advertisements dropped: not signed by their router's key / beyond the database limit */
    forged: number;
    overflow: number;
    /** links refused because the peer's claimed router id did not match its certificate or site */
    identityRefusals: number;
  };
  listeners(): AdapterMetricsInput[];
  connectors(): AdapterMetricsInput[];
  /** the guards of the public ports */
  guards?(): AcceptMetricsInput[];
  /** file descriptors open now and the process's limit */
  fds?(): { open?: number; max?: number; exhaustedEpisodes?: number };
  /** counters of the limits on linked peers: OPENs refused by reason, links closed for a peer's fault by kind */
  limits?(): { refused: Record<string, number>; faults: Record<string, number> };
}

/** Seconds buckets matching the HTTP adapters' latency buckets (ms): 1 ms … 30 s. */
const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export function createRouterMetrics(src: RouterMetricsSource): MetricsRegistry {
  const reg = new MetricsRegistry();
  const kl = ['routing_key', 'listener'];
  const opened = reg.counter('caravan_flows_opened_total', 'Flows started at this router (ingress)', kl);
  const closed = reg.counter(
    'caravan_flows_closed_total',
    'Flows started here that ended (ok or failed)',
    kl,
  );
  const active = reg.gauge('caravan_flows_active', 'Flows started here that are open now', kl);
  const bytesOut = reg.counter(
    'caravan_flow_bytes_out_total',
    'Bytes client to server of ended flows started here',
    kl,
  );
  const bytesIn = reg.counter(
    'caravan_flow_bytes_in_total',
    'Bytes server to client of ended flows started here',
    kl,
  );
  const errors = reg.counter(
    'caravan_flow_errors_total',
    'Flows started here that failed or ended abnormally, by error code',
    ['code'],
  );
  const cl = ['routing_key', 'connector'];
  const delivered = reg.counter('caravan_connector_flows_total', 'Flows delivered by a local connector', cl);
  const connFailed = reg.counter(
    'caravan_connector_failures_total',
    'Flows a local connector could not deliver',
    cl,
  );
  const connIn = reg.counter(
    'caravan_connector_bytes_in_total',
    'Bytes from the network to the target (client to server)',
    cl,
  );
  const connOut = reg.counter(
    'caravan_connector_bytes_out_total',
    'Bytes from the target to the network (server to client)',
    cl,
  );
  const ll = ['link', 'neighbor'];
  const linkUp = reg.gauge('caravan_link_up', '1 when the link is up (two-way), else 0', ll);
  const linkCost = reg.gauge('caravan_link_cost', 'Routing cost of the link', ll);
  const linkRtt = reg.gauge('caravan_link_rtt_seconds', 'Last measured round-trip time of the link', ll);
  const linkIn = reg.counter('caravan_link_received_bytes_total', 'Bytes received on the link', ll);
  const linkOut = reg.counter('caravan_link_sent_bytes_total', 'Bytes sent on the link', ll);
  const spf = reg.counter('caravan_routing_spf_runs_total', 'Shortest-path computations');
  const rtMsgIn = reg.counter('caravan_routing_messages_received_total', 'Routing messages received');
  const rtMsgOut = reg.counter('caravan_routing_messages_sent_total', 'Routing messages sent');
  const rtVersion = reg.gauge('caravan_routing_version', 'Increments when routes or addresses change');
  const rtRouters = reg.gauge('caravan_routing_routers', 'Routers in the link-state database');
  const rtDropped = reg.counter(
    'caravan_routing_advertisements_dropped_total',
    "Advertisements dropped: forged (key or signature not the router id's) or overflow (database full)",
    ['reason'],
  );
  const idRefused = reg.counter(
    'caravan_links_refused_identity_total',
    'Links refused because the router id a peer claimed did not match its certificate or its site',
  );
  const al = ['routing_key', 'adapter', 'name', 'side'];
  const httpReq = reg.counter(
    'caravan_http_requests_total',
    'HTTP requests handled by an adapter, by status class',
    [...al, 'status_class'],
  );
  const httpLatency = reg.histogram(
    'caravan_http_request_duration_seconds',
    'HTTP request latency (request start to response end) seen by an adapter',
    al,
    LATENCY_BUCKETS_MS.map((ms) => ms / 1000),
  );

  const adapterHttp = (a: AdapterMetricsInput, side: 'listener' | 'connector'): void => {
    const s = a.stats;
    if (s['latency_ms_count'] === undefined) return;
    const labels = { routing_key: a.routingKey, adapter: a.type, name: a.name, side };
    for (const [k, v] of Object.entries(s)) {
      if (k.startsWith('status_')) httpReq.set({ ...labels, status_class: k.slice(7) }, v);
    }
    const cumulative = LATENCY_BUCKETS_MS.map((ms) => s[`latency_ms_le_${ms}`] ?? 0);
    httpLatency.setCumulative(
      labels,
      cumulative,
      s['latency_ms_count'] ?? 0,
      (s['latency_ms_sum'] ?? 0) / 1000,
    );
  };

  const amqpIn = reg.counter(
    'caravan_amqp_messages_total',
    'Messages received from AMQP senders at a listener, by the outcome they were settled with',
    ['listener', 'outcome'],
  );
  const amqpOut = reg.counter(
    'caravan_amqp_messages_delivered_total',
    'Messages handed to AMQP receivers attached to this router (multicast copies counted each)',
  );
  const amqpDropped = reg.counter(
    'caravan_amqp_multicast_dropped_total',
    "Multicast copies dropped because a receiver's backlog was full",
  );
  const amqp = (a: AdapterMetricsInput): void => {
    if (a.type !== 'amqp') return;
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'])
      amqpIn.set({ listener: a.name, outcome }, a.stats[outcome] ?? 0);
    // shared by the amqp listeners of the router: the same figure in each
    amqpOut.set({}, a.stats['messagesOut'] ?? 0);
    amqpDropped.set({}, a.stats['dropped'] ?? 0);
  };

  const refused = reg.counter(
    'caravan_connections_refused_total',
    'Connections to a public port (link, grant, console) refused or closed before they authenticated, by reason',
    ['server', 'reason'],
  );
  const handshaking = reg.gauge(
    'caravan_connections_handshaking',
    'Connections to a public port that have not finished their handshake yet',
    ['server'],
  );
  const acceptPaused = reg.gauge(
    'caravan_accept_paused',
    '1 while a public port closes new connections at accept because the process ran out of file descriptors',
    ['server'],
  );
  const openFds = reg.gauge('process_open_fds', 'Open file descriptors of the router process');
  const maxFds = reg.gauge('process_max_fds', 'Limit of open file descriptors of the router process');
  const fdEpisodes = reg.counter(
    'caravan_fd_exhausted_total',
    'Times the router came within its reserve of the file-descriptor limit (public ports then close new connections)',
  );
  reg.onCollect(() => {
    for (const g of src.guards?.() ?? []) {
      for (const [reason, n] of Object.entries(g.refused)) refused.set({ server: g.server, reason }, n);
      handshaking.set({ server: g.server }, g.handshaking);
      acceptPaused.set({ server: g.server }, g.paused ? 1 : 0);
    }
    const fds = src.fds?.();
    if (fds?.open !== undefined) openFds.set({}, fds.open);
    if (fds?.max !== undefined && Number.isFinite(fds.max)) maxFds.set({}, fds.max);
    if (fds?.exhaustedEpisodes !== undefined) fdEpisodes.set({}, fds.exhaustedEpisodes);
  });
  const streamsRefused = reg.counter(
    'caravan_streams_refused_total',
    'Streams from linked peers refused by a limit (or while going away), by reason',
    ['reason'],
  );
  const faults = reg.counter(
    'caravan_link_faults_total',
    'Links closed for a fault of the peer (no preface or hello in time, replies left unread, protocol error), by kind',
    ['kind'],
  );

  reg.onCollect(() => {
    const lim = src.limits?.();
    if (lim) {
      for (const [reason, n] of Object.entries(lim.refused)) streamsRefused.set({ reason }, n);
      for (const [kind, n] of Object.entries(lim.faults)) faults.set({ kind }, n);
    }
    for (const m of [
      active,
      linkUp,
      linkCost,
      linkRtt,
      linkIn,
      linkOut,
      delivered,
      connFailed,
      connIn,
      connOut,
    ])
      m.reset();
    httpReq.reset();
    httpLatency.reset();
    for (const c of src.records.keyListenerCounters()) {
      const l = { routing_key: c.routingKey, listener: c.listener };
      opened.set(l, c.opened);
      closed.set(l, c.closed);
      active.set(l, c.active);
      bytesOut.set(l, c.bytesOut);
      bytesIn.set(l, c.bytesIn);
    }
    for (const [code, n] of src.records.errorsByCode) errors.set({ code }, n);
    for (const l of src.links()) {
      const labels = { link: l.id, neighbor: l.neighbor ?? '' };
      linkUp.set(labels, l.state === 'up' ? 1 : 0);
      linkCost.set(labels, l.cost);
      if (l.rttMs !== undefined) linkRtt.set(labels, l.rttMs / 1000);
      linkIn.set(labels, l.bytesIn);
      linkOut.set(labels, l.bytesOut);
    }
    const r = src.routing();
    spf.set({}, r.spfRuns);
    rtMsgIn.set({}, r.messagesIn);
    rtMsgOut.set({}, r.messagesOut);
    rtVersion.set({}, r.version);
    rtRouters.set({}, r.routers);
    rtDropped.set({ reason: 'forged' }, r.forged);
    rtDropped.set({ reason: 'overflow' }, r.overflow);
    idRefused.set({}, r.identityRefusals);
    for (const c of src.connectors()) {
      const l = { routing_key: c.routingKey, connector: c.name };
      const s = c.stats;
      delivered.set(l, s['delivered'] ?? 0);
      connFailed.set(l, s['failed'] ?? 0);
      connIn.set(l, s['bytesIn'] ?? 0);
      connOut.set(l, s['bytesOut'] ?? 0);
      adapterHttp(c, 'connector');
    }
    amqpIn.reset();
    for (const a of src.listeners()) {
      adapterHttp(a, 'listener');
      amqp(a);
    }
  });
  return reg;
}
