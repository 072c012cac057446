import type { ConsoleState } from './store.js';
import type { TrafficSample } from './types.js';
import { TimeChart, PALETTE, type ChartSeries } from './Chart.js';
import { formatRate, siteNamer } from './format.js';

const TOP = 8;

interface CurrentRow {
  key: string;
  label: string;
  value: number;
  color: string | undefined;
}

/** The `TOP` keys with the most bytes over the window as series, the rest summed as "other". */
function buildSeries(
  samples: TrafficSample[],
  pick: (s: TrafficSample) => Record<string, number>,
  label: (key: string) => string,
): { series: ChartSeries[]; current: CurrentRow[] } {
  const totals = new Map<string, number>();
  for (const s of samples)
    for (const [k, v] of Object.entries(pick(s))) totals.set(k, (totals.get(k) ?? 0) + v);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const top = ranked.slice(0, TOP);
  const rest = ranked.slice(TOP);
  const series: ChartSeries[] = top.map((k) => ({
    label: label(k),
    values: samples.map((s) => pick(s)[k] ?? 0),
  }));
  if (rest.length > 0) {
    series.push({
      label: `other (${rest.length})`,
      values: samples.map((s) => rest.reduce((a, k) => a + (pick(s)[k] ?? 0), 0)),
    });
  }
  const last = samples[samples.length - 1];
  const current = ranked
    .map((k) => {
      const i = top.indexOf(k);
      const color = i >= 0 ? PALETTE[i % PALETTE.length] : undefined;
      return { key: k, label: label(k), value: last ? (pick(last)[k] ?? 0) : 0, color };
    })
    .sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1));
  return { series, current };
}

export function TrafficPage({ state }: { state: ConsoleState }) {
  const { traffic, network } = state;
  const name = siteNamer(network?.sites);
  const times = traffic.map((s) => s.t / 1000);
  const pairLabel = (k: string): string => {
    const [from = k, to = ''] = k.split('->');
    return `${name(from)} → ${name(to)}`;
  };
  const svc = buildSeries(
    traffic,
    (s) => s.services,
    (k) => k,
  );
  const pairs = buildSeries(traffic, (s) => s.sitePairs, pairLabel);
  const spanMin = traffic.length > 1 ? (traffic[traffic.length - 1]!.t - traffic[0]!.t) / 60_000 : 0;

  return (
    <div class="traffic">
      <div class="toolbar">
        <h2>Traffic</h2>
        <span class="muted" data-testid="traffic-span">
          {traffic.length} samples · last {spanMin.toFixed(1)} min
        </span>
      </div>
      {traffic.length === 0 ? (
        <div class="card empty">No traffic samples yet.</div>
      ) : (
        <>
          <section class="card">
            <h3>Bytes/s per service</h3>
            <div class="chart-row">
              <TimeChart times={times} series={svc.series} testid="traffic-services-chart" />
              <CurrentTable rows={svc.current} testid="traffic-services-table" what="service" />
            </div>
          </section>
          <section class="card">
            <h3>Bytes/s per site pair (listener site → connector site)</h3>
            <div class="chart-row">
              <TimeChart times={times} series={pairs.series} testid="traffic-pairs-chart" />
              <CurrentTable rows={pairs.current} testid="traffic-pairs-table" what="site pair" />
            </div>
          </section>
        </>
      )}
    </div>
  );
}

function CurrentTable({ rows, testid, what }: { rows: CurrentRow[]; testid: string; what: string }) {
  const shown = rows.slice(0, 50);
  return (
    <div class="now-table">
      <table class="grid compact" data-testid={testid}>
        <thead>
          <tr>
            <th>{what}</th>
            <th class="num">now</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.key} data-key={r.key}>
              <td>
                <span class="swatch" style={{ background: r.color ?? 'transparent' }} />
                {r.label}
              </td>
              <td class="num">{formatRate(r.value)}</td>
            </tr>
          ))}
          {rows.length > shown.length && (
            <tr>
              <td colSpan={2} class="muted">
                … and {rows.length - shown.length} more
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
