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

export function evaluateTargets(t: TargetInputs): TargetResult[] {
  const r = (id: string, a: PathName, b: PathName): number => ratioOf(t.metrics, id, a, b);
  const out: TargetResult[] = [];
  for (const dir of ['up', 'down'] as const) {
    const arrow = dir === 'up' ? 'client→server' : 'server→client';
    out.push(
      check(
        `iperf3 1 stream ${arrow} caravan-1hop/direct`,
        '≥ 0.15',
        r(`iperf.p1.${dir}`, 'caravan-1hop', 'direct'),
        (v) => v >= 0.15,
      ),
      check(
        `iperf3 1 stream ${arrow} caravan-1hop/stunnel`,
        '≥ 1.00',
        r(`iperf.p1.${dir}`, 'caravan-1hop', 'stunnel'),
        (v) => v >= 1,
      ),
      check(
        `iperf3 4 streams ${arrow} caravan-1hop/direct`,
        '≥ 0.25',
        r(`iperf.p4.${dir}`, 'caravan-1hop', 'direct'),
        (v) => v >= 0.25,
      ),
      check(
        `iperf3 1 stream ${arrow} caravan-2hop/caravan-1hop`,
        '≥ 0.70',
        r(`iperf.p1.${dir}`, 'caravan-2hop', 'caravan-1hop'),
        (v) => v >= 0.7,
      ),
    );
  }
  out.push(
    check(
      'redis PING_INLINE -c 1 rps caravan-1hop/direct',
      '≥ 0.35',
      r('redis.ping_inline.c1.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.35,
    ),
    check(
      'redis GET -c 50 rps caravan-1hop/direct',
      '≥ 0.50',
      r('redis.get.c50.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.5,
    ),
    check(
      'new connections/s caravan-1hop/direct',
      '≥ 0.40',
      r('conns.rps', 'caravan-1hop', 'direct'),
      (v) => v >= 0.4,
    ),
    check(
      'new connections/s caravan-1hop absolute',
      '≥ 5000/s',
      t.metrics.get('conns.rps')?.median['caravan-1hop'] ?? NaN,
      (v) => v >= 5000,
    ),
  );
  const idle = [t.idleRss['caravan-1hop'], t.idleRss['caravan-2hop']].flatMap((x) => Object.values(x ?? {}));
  out.push(
    check(
      'router RSS idle (largest router)',
      '≤ 60 MB',
      idle.length ? Math.max(...idle) / MB : NaN,
      (v) => v <= 60,
    ),
  );
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
