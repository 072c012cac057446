// The issue's performance targets, evaluated on the measured medians. Printed as PASS/MISS lines (SKIP when the
// section did not run or failed); never asserted.
import type { Metric } from './results.js';
import type { PathName } from './paths.js';
import type { ScaleResult } from './routing-scale.js';
import type { ChurnResult } from './workloads/churn.js';

export interface TargetResult {
  name: string;
  target: string;
  measured: number;
  /** undefined: not measured */
  pass: boolean | undefined;
  detail: string;
}

export interface TargetInputs {
  metrics: Map<string, Metric>;
  idleRss: Partial<Record<PathName, Record<string, number>>>;
  churn: ChurnResult[];
  scale: ScaleResult[];
}

const MB = 1024 * 1024;

function check(
  name: string,
  target: string,
  measured: number,
  ok: (v: number) => boolean,
  detail = '',
): TargetResult {
  const pass = Number.isFinite(measured) ? ok(measured) : undefined;
  return { name, target, measured, pass, detail };
}

function ratioOf(metrics: Map<string, Metric>, id: string, a: PathName, b: PathName): number {
  const m = metrics.get(id)?.median;
  const x = m?.[a];
  const y = m?.[b];
  return x !== undefined && y !== undefined && y > 0 ? x / y : NaN;
}

/**
 * The targets of the performance issue (ratios to `direct` or `stunnel` measured in the same run; "ahead of
 * skupper-router on every row"), then the earlier targets that still pass and still matter.
 */
export function evaluateTargets(t: TargetInputs): TargetResult[] {
  const r = (id: string, a: PathName, b: PathName): number => ratioOf(t.metrics, id, a, b);
  const one = (id: string, p: PathName): number => t.metrics.get(id)?.median[p] ?? NaN;
  const out: TargetResult[] = [
    check(
      'new connections/s (redis -k 0 -c 8) caravan-1hop/direct',
      '≥ 0.22',
      r('conns.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.22,
    ),
    check(
      'new connections/s caravan-1hop absolute',
      '≥ 4500/s',
      one('conns.rps', 'caravan-1hop'),
      (v) => v >= 4500,
    ),
    check(
      'CPU per new connection, all caravan-1hop path processes',
      '≤ 300 µs',
      one('cpu.conns.usPerConn', 'caravan-1hop'),
      (v) => v <= 300,
    ),
    check(
      'redis PING_INLINE -c 1 rps caravan-1hop/direct',
      '≥ 0.35',
      r('redis.ping_inline.c1.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.35,
    ),
    check(
      'redis GET -c 50 rps caravan-1hop/direct',
      '≥ 0.45',
      r('redis.get.c50.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.45,
    ),
  ];
  for (const dir of ['up', 'down'] as const) {
    const arrow = dir === 'up' ? 'client→server' : 'server→client';
    out.push(
      check(
        `iperf3 1 stream ${arrow} caravan-1hop/stunnel`,
        '≥ 1.05',
        r(`iperf.p1.${dir}`, 'caravan-1hop', 'stunnel'),
        (v) => v >= 1.05,
      ),
      check(
        `iperf3 4 streams ${arrow} caravan-1hop/stunnel`,
        '≥ 1.00',
        r(`iperf.p4.${dir}`, 'caravan-1hop', 'stunnel'),
        (v) => v >= 1,
      ),
      check(
        `iperf3 1 stream ${arrow} caravan-2hop/caravan-1hop`,
        '≥ 0.75',
        r(`iperf.p1.${dir}`, 'caravan-2hop', 'caravan-1hop'),
        (v) => v >= 0.75,
      ),
    );
  }
  out.push(
    check(
      'UDP 20 Mbit/s loss (iperf3 -u -l 1200) caravan-1hop',
      '≤ 1 %',
      one('udp.20M.loss', 'caravan-1hop'),
      (v) => v <= 1,
      Number.isFinite(one('udp.20M.loss', 'caravan-2hop'))
        ? `caravan-2hop ${fmt(one('udp.20M.loss', 'caravan-2hop'))} %`
        : '',
    ),
  );
  const idle = [t.idleRss['caravan-1hop'], t.idleRss['caravan-2hop']].flatMap((x) => Object.values(x ?? {}));
  const load = ['caravan-1hop', 'caravan-2hop']
    .map((p) => one('mem.load', p as PathName))
    .filter(Number.isFinite);
  out.push(
    check(
      'router RSS idle (largest router)',
      '≤ 48 MB',
      idle.length ? Math.max(...idle) / MB : NaN,
      (v) => v <= 48,
    ),
    check(
      'router RSS peak under load (largest router)',
      '≤ 80 MB',
      load.length ? Math.max(...load) : NaN,
      (v) => v <= 80,
    ),
  );
  // earlier targets kept: memory is given back after churn, SPF stays fast at 1,000 routers
  for (const c of t.churn) {
    out.push(
      check(
        `router RSS growth after ${c.connections * c.after.length} connections churned (${c.path}, largest)`,
        '≤ 10 MB',
        c.maxGrowth / MB,
        (v) => v <= 10,
        c.activeAfter > 0 ? `${c.activeAfter} flows still active` : '',
      ),
    );
  }
  const big = t.scale.find((s) => s.routers === 1000);
  out.push(
    check('SPF on 1000 routers (slowest sampled router)', '< 50 ms', big?.spf.maxMs ?? NaN, (v) => v < 50),
  );
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function formatTargets(results: readonly TargetResult[]): string {
  return results
    .map((x) => {
      const tag = x.pass === undefined ? 'SKIP' : x.pass ? 'PASS' : 'MISS';
      return `${tag}  ${x.name}: ${fmt(x.measured)} (target ${x.target})${x.detail ? ` — ${x.detail}` : ''}`;
    })
    .join('\n');
}
