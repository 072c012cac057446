import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatBytes, formatRate } from './format.js';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

export const PALETTE = [
  '#2563eb',
  '#16a34a',
  '#db2777',
  '#ea580c',
  '#7c3aed',
  '#0891b2',
  '#ca8a04',
  '#dc2626',
  '#4b5563',
];

/** A uPlot time-series chart of bytes/s. Recreated when the set of series changes, otherwise only fed data. */
export function TimeChart({
  times,
  series,
  height = 260,
  testid,
}: {
  /** seconds since epoch */
  times: number[];
  series: ChartSeries[];
  height?: number;
  testid: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\u0000');
  const data: uPlot.AlignedData = [times, ...series.map((s) => s.values)];

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // at least a two-minute window, so a fresh router's few samples do not stretch across the chart
        x: { time: true, range: (_u, min, max) => [Math.min(min, max - 120), max] },
        y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] },
      },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
        {
          stroke: '#64748b',
          grid: { stroke: '#e2e8f0' },
          size: 80,
          values: (_u, ticks) => ticks.map((v) => `${formatBytes(v)}/s`),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatRate(v)),
        })),
      ],
    };
    const p = new uPlot(opts, data, el);
    plot.current = p;
    const ro = new ResizeObserver(() => {
      const w = Math.max(el.clientWidth, 300);
      if (w !== p.width) p.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // the data effect below feeds new samples; recreate only when the series set changes
  }, [labels, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return <div class="chart" ref={box} data-testid={testid} data-series={series.length} />;
}
