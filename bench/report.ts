// Human-readable output: absolute numbers per path, ratios (vs direct, vs stunnel, 2-hop vs 1-hop), memory per
// router, churn, routing scale.
import type { MachineInfo } from './env.js';
import { ON_REQUEST, PATH_NAMES, type PathName } from './paths.js';
import type { Metric, PerPath } from './results.js';
import type { ScaleResult } from './routing-scale.js';
import type { ChurnResult } from './workloads/churn.js';

const MB = 1024 * 1024;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function num(v: number | undefined, unit = ''): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (unit === 'ms') return v < 10 ? v.toFixed(3) : v.toFixed(1);
  if (unit === 'req/s' || unit === 'conn/s' || unit === 'µs') return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratioCell(m: Metric, a: PathName, b: PathName): string {
  const x = m.median[a];
  const y = m.median[b];
  if (x === undefined || y === undefined || y === 0) return '–';
  return (x / y).toFixed(2);
}

export function metricsTable(metrics: readonly Metric[]): string {
  // paths measured only on request get a column when they were measured
  const paths = PATH_NAMES.filter(
    (p) => !ON_REQUEST.includes(p) || metrics.some((m) => m.median[p] !== undefined),
  );
  const rows = metrics.map((m) => [`${m.label} (${m.unit})`, ...paths.map((p) => num(m.median[p], m.unit))]);
  return table(['metric (median)', ...paths], rows);
}

/** Loss percentages (unit %) are left out: a ratio of two small losses says nothing. */
export function ratioTable(metrics: readonly Metric[]): string {
  const rows = metrics
    .filter((m) => m.unit !== '%')
    .map((m) => [
      `${m.label}${m.better === 'lower' ? ' (lower is better)' : ''}`,
      ratioCell(m, 'caravan-1hop', 'direct'),
      ratioCell(m, 'caravan-2hop', 'direct'),
      ratioCell(m, 'stunnel', 'direct'),
      ratioCell(m, 'caravan-1hop', 'stunnel'),
      ratioCell(m, 'caravan-2hop', 'caravan-1hop'),
      ratioCell(m, 'caravan-1hop', 'node-tls'),
    ]);
  return table(
    ['ratio', '1hop/direct', '2hop/direct', 'stunnel/direct', '1hop/stunnel', '2hop/1hop', '1hop/node-tls'],
    rows,
  );
}

export function memoryTable(
  recent: PerPath<Record<string, number>>,
  idle: PerPath<Record<string, number>>,
  load: PerPath<Record<string, number>>,
  churn: readonly ChurnResult[],
): string {
  const rows: string[][] = [];
  for (const p of PATH_NAMES) {
    const roles = Object.keys(idle[p] ?? load[p] ?? {});
    for (const role of roles) {
      const c = churn.find((x) => x.path === p);
      const mb = (v: number | undefined): string => num(v === undefined ? undefined : v / MB);
      rows.push([
        `${p} ${role}`,
        mb(recent[p]?.[role]),
        mb(idle[p]?.[role]),
        mb(load[p]?.[role]),
        mb(c?.before[role]),
        c ? c.after.map((a) => mb(a[role])).join(' → ') : '–',
      ]);
    }
  }
  return table(
    [
      'process RSS (MB)',
      '2 s after traffic',
      'idle (12 s quiet)',
      'peak under load',
      'before churn',
      'after churn',
    ],
    rows,
  );
}

export function churnTable(churn: readonly ChurnResult[]): string {
  return table(
    ['churn', 'connections', 'conn/s per round', 'max growth MB', 'flows active after'],
    churn.map((c) => [
      c.path,
      `${c.after.length} × ${c.connections.toLocaleString('en-US')}`,
      c.rps.map((r) => num(r, 'conn/s')).join(', '),
      num(c.maxGrowth / MB),
      String(c.activeAfter),
    ]),
  );
}

export function scaleTable(scale: readonly ScaleResult[]): string {
  const rows: string[][] = [];
  for (const s of scale) {
    rows.push([
      `${s.routers} routers, ${s.links} links: first convergence`,
      s.initial.messages.toLocaleString('en-US'),
      num(s.initial.simMs),
      num(s.initial.wallMs),
      '',
    ]);
    for (const c of s.changes) {
      rows.push([
        `${s.routers} routers: ${c.change.replace(/^link \S+ /, 'one link ')}${c.converged ? '' : ' (NOT converged)'}`,
        c.messages.toLocaleString('en-US'),
        num(c.simMs),
        num(c.wallMs),
        num(c.wallMs / s.routers, 'ms'),
      ]);
    }
    rows.push([
      `${s.routers} routers: SPF per router (median / p99 / max of ${s.spf.samples})`,
      '',
      '',
      `${num(s.spf.medianMs, 'ms')} / ${num(s.spf.p99Ms, 'ms')} / ${num(s.spf.maxMs, 'ms')}`,
      '',
    ]);
  }
  return table(
    ['routing scale (in-process simulation)', 'messages', 'sim ms', 'wall ms', 'wall ms/router'],
    rows,
  );
}

export function machineLine(m: MachineInfo, quick: boolean): string {
  return (
    `${quick ? 'quick' : 'full'} run on ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, Linux ${m.kernel}, ` +
    `Node ${m.node} (OpenSSL ${m.openssl}); ${m.tools.iperf3}; ${(m.tools.redis ?? '').replace(/ sha=.*/, '')}; ` +
    `${m.tools.stunnel}; load average at start ${m.loadAverage.join(' ')}`
  );
}

export function section(title: string, body: string): string {
  return `\n== ${title} ==\n${body}\n`;
}
