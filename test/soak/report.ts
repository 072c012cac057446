/** The soak's result: the figures it gathered, the invariants they break, and the table printed at the end. */
import type { FaultKind } from './faults.js';
import type { Death, Sample } from './monitor.js';
import type { KeyStats } from './protocol.js';

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
  rssGrowthMb: number;
  faults: FaultRecord[];
  traffic: Record<string, KeyStats & { excused: number }>;
  failures: { total: number; outsideFaults: number; codes: Record<string, number> };
  anomalies: Anomaly[];
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
  for (const f of r.faults)
    if (f.reconvergeMs === undefined)
      out.push(
        `after ${f.kind} ${f.target}: no new stream within ${r.boundMs} ms for ${(f.stuck ?? []).join(', ')}`,
      );
  for (const x of r.routers) {
    if (x.quietFds === undefined || x.quietFds > x.baselineFds + 16)
      out.push(
        `router ${x.site}: ${x.quietFds ?? '?'} fds once traffic stopped (${x.baselineFds} before it started)`,
      );
    if (x.warmRssMb !== undefined && x.endRssMb !== undefined && x.endRssMb - x.warmRssMb > r.rssGrowthMb)
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
  lines.push(`soak: seed ${r.seed}, ${r.minutes} min, ${r.date}, bound ${sec(r.boundMs)} s`);
  lines.push('');
  const kinds = [...new Set(r.faults.map((f) => f.kind))].sort();
  const frows = [['fault', 'injected', 'heal max s', 'reconverged', 'max s', 'median s']];
  for (const k of kinds) {
    const fs = r.faults.filter((f) => f.kind === k);
    const times = fs.flatMap((f) => (f.reconvergeMs === undefined ? [] : [f.reconvergeMs]));
    const heal = Math.max(...fs.map((f) => f.healMs));
    frows.push([
      k,
      String(fs.length),
      sec(heal),
      String(times.length),
      sec(Math.max(...times, 0)),
      sec(median(times)),
    ]);
  }
  const all = r.faults.flatMap((f) => (f.reconvergeMs === undefined ? [] : [f.reconvergeMs]));
  frows.push([
    'all',
    String(r.faults.length),
    sec(Math.max(0, ...r.faults.map((f) => f.healMs))),
    String(all.length),
    sec(Math.max(...all, 0)),
    sec(median(all)),
  ]);
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
  for (const [k, s] of Object.entries(r.traffic).sort()) {
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
  lines.push(table(rrows), '');
  if (r.violations.length === 0) lines.push('PASS: every invariant held');
  else
    lines.push(
      `FAIL: ${r.violations.length} invariant(s) broken`,
      ...r.violations.slice(0, 50).map((v) => `  - ${v}`),
    );
  return lines.join('\n');
}
