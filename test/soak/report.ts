/** The soak's result: the figures it gathered, the invariants they break, and the table printed at the end. */
import type { FaultKind } from './faults.js';
import type { Death, Sample } from './monitor.js';
import type { TrafficKind } from './client.js';
import type { KeyStats } from './protocol.js';
import { HARD_REDEMPTION_OUTCOMES, type Redemption, type RedemptionOutcome } from './redeem.js';

export interface AmqpFigures {
  /** message ids the senders saw accepted */
  settled: number;
  /** distinct ids that reached the receiver */
  arrived: number;
  /** ids a sender had to send more than once */
  resent: number;
  /** arrivals beyond the first of an id */
  duplicates: number;
  duplicatesBySite: Record<string, number>;
  /** ids accepted at a sender that never reached the receiver */
  lost: string[];
  /** ids that arrived more than once although their sender sent them once */
  unpermitted: string[];
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  detail: string;
  at: number;
  holdMs: number;
  /** ms the heal took: for a killed or restarted router, from the kill or the new start until it answered */
  healMs: number;
  /** the (listener site/key) that took longest to work again */
  slowest?: string;
  /** ms from the heal until a new stream succeeded for every listener; undefined when not within the bound */
  reconvergeMs?: number;
  stuck?: string[];
  /** when the heal was done */
  healedAt: number;
  /** ms from the injection until the first router logged a link the fault touched as lost */
  detectedMs?: number;
  detectedBy?: string;
  /** new connections that failed while the fault held although the topology left them a path */
  pathLeftFailures?: number;
  /**
   * ms after detection at which the last of those started (negative: all started before the detection)
   */
  lastFailureMs?: number;
  /** such failures later than the bound after detection */
  lateFailures?: string[];
}

export interface Anomaly {
  site: string;
  side: 'client' | 'server';
  kind: string;
  key: string;
  start: number;
  end: number;
  detail: string;
  /** set when a kill -9 of this site's own router explains it (the kernel ends a dead process's sockets with FIN) */
  excusedBy?: string;
}

export interface RouterFigures {
  site: string;
  kills: number;
  unexpectedDeaths: number;
  maxRssMb: number;
  warmRssMb?: number;
  endRssMb?: number;
  maxFds: number;
  baselineFds: number;
  quietFds?: number;
}

export interface SoakResult {
  seed: number;
  date: string;
  minutes: number;
  boundMs: number;
  detectBoundMs: number;
  rssGrowthMb: number;
  /** whether the traffic ran long enough for the RSS growth check */
  rssChecked: boolean;
  faults: FaultRecord[];
  traffic: Record<string, KeyStats & { excused: number }>;
  failures: { total: number; outsideFaults: number; codes: Record<string, number> };
  anomalies: Anomaly[];
  amqp: AmqpFigures;
  redemptions: Redemption[];
  /** the traffic kind of each routing key */
  kinds: Record<string, TrafficKind>;
  deaths: Death[];
  routers: RouterFigures[];
  violations: string[];
}

export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function maxRss(samples: Sample[], from: number, to: number, pid?: number): number | undefined {
  const xs = samples
    .filter((s) => s.t >= from && s.t <= to && (pid === undefined || s.pid === pid))
    .map((s) => s.rssMb);
  return xs.length === 0 ? undefined : Math.max(...xs);
}

export function medianRss(samples: Sample[], from: number, to: number, pid?: number): number | undefined {
  return median(
    samples
      .filter((s) => s.t >= from && s.t <= to && (pid === undefined || s.pid === pid))
      .map((s) => s.rssMb),
  );
}

/** Every invariant the result breaks, in words (empty: the soak passed). */
export function violations(r: Omit<SoakResult, 'violations'>): string[] {
  const out: string[] = [];
  for (const a of r.anomalies.filter((x) => !x.excusedBy))
    out.push(`${a.kind} stream (${a.side} at ${a.site}, ${a.key}): ${a.detail}`);
  for (const d of r.deaths) out.push(`router ${d.site} died without being killed: ${d.cause}`);
  if (r.amqp.lost.length > 0)
    out.push(
      `AMQP: ${r.amqp.lost.length} message(s) settled as accepted never reached the receiver (${r.amqp.lost.slice(0, 5).join(', ')})`,
    );
  if (r.amqp.unpermitted.length > 0)
    out.push(
      `AMQP: ${r.amqp.unpermitted.length} message(s) sent once arrived more than once (${r.amqp.unpermitted.slice(0, 5).join(', ')})`,
    );
  for (const f of r.faults)
    if (f.reconvergeMs === undefined)
      out.push(
        `after ${f.kind} ${f.target}: no new stream within ${r.boundMs} ms for ${(f.stuck ?? []).join(', ')}`,
      );
  for (const x of r.redemptions)
    if (HARD_REDEMPTION_OUTCOMES.includes(x.outcome))
      out.push(`token redemption ${x.n} at ${x.hub}: ${x.outcome} (${x.stage}, ${x.ms} ms): ${x.detail}`);
  for (const f of r.faults)
    for (const l of f.lateFailures ?? [])
      out.push(
        `${f.kind} ${f.target}: a new connection with a path left failed later than ${r.detectBoundMs} ms after detection: ${l}`,
      );
  for (const x of r.routers) {
    if (x.quietFds === undefined || x.quietFds > x.baselineFds + 16)
      out.push(
        `router ${x.site}: ${x.quietFds ?? '?'} fds once traffic stopped (${x.baselineFds} before it started)`,
      );
    if (
      r.rssChecked &&
      x.warmRssMb !== undefined &&
      x.endRssMb !== undefined &&
      x.endRssMb - x.warmRssMb > r.rssGrowthMb
    )
      out.push(
        `router ${x.site}: RSS grew from ${x.warmRssMb.toFixed(1)} MB after warm-up to ${x.endRssMb.toFixed(1)} MB`,
      );
  }
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

const sec = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(1));

export function formatResult(r: SoakResult): string {
  const lines: string[] = [];
  lines.push(
    `soak: seed ${r.seed}, ${r.minutes} min, ${r.date}, reconvergence bound ${sec(r.boundMs)} s, ` +
      `new connections after detection bound ${sec(r.detectBoundMs)} s`,
  );
  lines.push('');
  const kinds = [...new Set(r.faults.map((f) => f.kind))].sort();
  const frows = [
    [
      'fault',
      'injected',
      'detected',
      'detect max s',
      'failed with a path left',
      'last of them after detect s',
      'later than bound',
      'heal max s',
      'reconverged',
      'max s',
      'median s',
    ],
  ];
  const maxOf = (xs: Array<number | undefined>): number | undefined => {
    const ys = xs.filter((x): x is number => x !== undefined);
    return ys.length === 0 ? undefined : Math.max(...ys);
  };
  const row = (k: string, fs: FaultRecord[]): string[] => {
    const times = fs.flatMap((f) => (f.reconvergeMs === undefined ? [] : [f.reconvergeMs]));
    return [
      k,
      String(fs.length),
      String(fs.filter((f) => f.detectedMs !== undefined).length),
      sec(maxOf(fs.map((f) => f.detectedMs))),
      String(fs.reduce((n, f) => n + (f.pathLeftFailures ?? 0), 0)),
      sec(maxOf(fs.map((f) => f.lastFailureMs))),
      String(fs.reduce((n, f) => n + (f.lateFailures?.length ?? 0), 0)),
      sec(Math.max(0, ...fs.map((f) => f.healMs))),
      String(times.length),
      sec(Math.max(...times, 0)),
      sec(median(times)),
    ];
  };
  for (const k of kinds)
    frows.push(
      row(
        k,
        r.faults.filter((f) => f.kind === k),
      ),
    );
  frows.push(row('all', r.faults));
  lines.push(table(frows), '');
  const trows = [
    [
      'traffic (listener site/key)',
      'ok',
      'failed visibly',
      'corrupted',
      'cut silently',
      'excused',
      'stalled',
      'MB',
    ],
  ];
  const sum = { ok: 0, failed: 0, corrupted: 0, truncated: 0, excused: 0, stalled: 0, bytes: 0 };
  const kindOf = (k: string): TrafficKind | undefined => r.kinds[k.slice(k.indexOf('/') + 1)];
  const of = (...kinds: TrafficKind[]) =>
    Object.entries(r.traffic)
      .filter(([k]) => kinds.includes(kindOf(k) as TrafficKind))
      .sort();
  for (const [k, s] of of('stream', 'http')) {
    trows.push([
      k,
      String(s.ok),
      String(s.failed),
      String(s.corrupted),
      String(s.truncated - s.excused),
      String(s.excused),
      String(s.stalled),
      (s.bytes / 1e6).toFixed(0),
    ]);
    for (const f of Object.keys(sum) as Array<keyof typeof sum>) sum[f] += s[f];
  }
  trows.push([
    'all',
    String(sum.ok),
    String(sum.failed),
    String(sum.corrupted),
    String(sum.truncated - sum.excused),
    String(sum.excused),
    String(sum.stalled),
    (sum.bytes / 1e6).toFixed(0),
  ]);
  lines.push(table(trows));
  lines.push('', ...otherTraffic(r, of), '');
  lines.push(...redemptionLines(r.redemptions), '');
  const serverSide = r.anomalies.filter((a) => a.side === 'server');
  lines.push(
    `failed visibly outside any fault window: ${r.failures.outsideFaults}; by error: ${Object.entries(
      r.failures.codes,
    )
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')}`,
    `checked at the targets: ${serverSide.length} anomalies (${serverSide.filter((a) => a.excusedBy).length} excused)`,
    '',
  );
  const rrows = [
    ['router', 'killed', 'died unexpectedly', 'max RSS MB', 'RSS warm→end MB', 'max fds', 'fds before→after'],
  ];
  for (const x of r.routers)
    rrows.push([
      x.site,
      String(x.kills),
      String(x.unexpectedDeaths),
      x.maxRssMb.toFixed(1),
      `${x.warmRssMb?.toFixed(1) ?? '-'}→${x.endRssMb?.toFixed(1) ?? '-'}`,
      String(x.maxFds),
      `${x.baselineFds}→${x.quietFds ?? '?'}`,
    ]);
  lines.push(table(rrows));
  if (!r.rssChecked)
    lines.push('RSS growth not checked: the traffic ran less than 8 minutes (figures for information)');
  lines.push('');
  if (r.violations.length === 0) lines.push('PASS: every invariant held');
  else
    lines.push(
      `FAIL: ${r.violations.length} invariant(s) broken`,
      ...r.violations.slice(0, 50).map((v) => `  - ${v}`),
    );
  return lines.join('\n');
}

type Rows = Array<[string, KeyStats & { excused: number }]>;

function sumOf(rows: Rows): KeyStats {
  const sum: Record<string, number> = {};
  for (const [, s] of rows)
    for (const [f, v] of Object.entries(s)) sum[f] = (sum[f] ?? 0) + (typeof v === 'number' ? v : 0);
  return sum as unknown as KeyStats;
}

/** The gRPC, UDP and AMQP tables. */
function otherTraffic(r: SoakResult, of: (...kinds: TrafficKind[]) => Rows): string[] {
  const out: string[] = [];
  const grpc = of('grpc');
  const g = [['gRPC unary (listener site/key)', 'calls', 'ok', 'failed with error', 'corrupted', 'MB']];
  for (const [k, s] of [...grpc, ['all', sumOf(grpc)] as const])
    g.push([
      k,
      String(s.ok + s.failed + s.corrupted),
      String(s.ok),
      String(s.failed),
      String(s.corrupted),
      (s.bytes / 1e6).toFixed(0),
    ]);
  out.push(table(g), '');
  const udp = of('udp');
  const u = [['UDP request/response', 'sent', 'answered', 'lost', 'late', 'corrupted', 'misdelivered']];
  for (const [k, s] of [...udp, ['all', sumOf(udp)] as const])
    u.push([
      k,
      String(s.ok + s.lost + s.corrupted),
      String(s.ok),
      String(s.lost),
      String(s.late),
      String(s.corrupted),
      String(s.misdelivered),
    ]);
  out.push(table(u), '');
  const amqp = of('amqp');
  const a = [
    [
      'AMQP sender (site/address)',
      'attempts',
      'accepted',
      'failed with error',
      'lost',
      'duplicates',
      'dup. of ids sent once',
    ],
  ];
  const bySite = (ids: string[], site: string): number =>
    ids.filter((id) => site === 'all' || id.startsWith(`${site}:`)).length;
  for (const [k, s] of [...amqp, ['all', sumOf(amqp)] as const]) {
    const site = k === 'all' ? 'all' : k.slice(0, k.indexOf('/'));
    const dups = site === 'all' ? r.amqp.duplicates : (r.amqp.duplicatesBySite[site] ?? 0);
    a.push([
      k,
      String(s.ok + s.failed),
      String(s.ok),
      String(s.failed),
      String(bySite(r.amqp.lost, site)),
      String(dups),
      String(bySite(r.amqp.unpermitted, site)),
    ]);
  }
  out.push(
    table(a),
    `AMQP at the receiver: ${r.amqp.settled} ids accepted at the senders, ${r.amqp.arrived} distinct ids ` +
      `arrived; ${r.amqp.resent} ids had to be sent again`,
  );
  return out;
}

function redemptionLines(rs: Redemption[]): string[] {
  const outcomes: RedemptionOutcome[] = ['ok', 'late', 'failed', ...HARD_REDEMPTION_OUTCOMES];
  const rows = [['token redemptions (issue at hub, redeem at spare)', ...outcomes, 'max s']];
  for (const hub of ['hub-a', 'hub-b', 'all']) {
    const xs = rs.filter((x) => hub === 'all' || x.hub === hub);
    rows.push([
      hub,
      ...outcomes.map((o) => String(xs.filter((x) => x.outcome === o).length)),
      sec(xs.length === 0 ? undefined : Math.max(...xs.map((x) => x.ms))),
    ]);
  }
  const failed = rs.filter((x) => x.outcome === 'failed');
  const errors = [...new Set(failed.map((x) => `${x.stage}: ${x.detail}`))];
  return [
    table(rows),
    ...(errors.length > 0 ? [`redemption errors: ${errors.slice(0, 6).join(' | ')}`] : []),
  ];
}
