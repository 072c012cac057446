// The pure parts of `npm run bench -- --compare <ref>`: the order in which the two builds run, and the table of
// medians, ratios and spreads built from their runs.
import { table } from './report.js';
import { midMedian } from './stats.js';

/** A: the build of the other commit (the baseline); B: this working tree's build. */
export type Side = 'A' | 'B';

export interface Slot {
  round: number;
  side: Side;
}

/**
 * Interleaved order of `rounds` rounds, each running both builds once: A B, B A, A B, … Each build goes first in
 * half of the rounds, so a machine that gets busier or quieter during the run, or a warm-up effect of the first
 * run of a round, does not favour one side.
 */
export function schedule(rounds: number): Slot[] {
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`rounds must be a positive integer, not ${rounds}`);
  const out: Slot[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: Side[] = round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const side of order) out.push({ round, side });
  }
  return out;
}

export interface CompareSeries {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** One value per successful run (NaN for a failed one). */
  a: number[];
  b: number[];
}

export interface CompareRow {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  medianA: number;
  medianB: number;
  /** medianB / medianA */
  ratio: number;
  /** Half the range of the runs as a share of their median (0.05 = ±5%); NaN with fewer than 2 runs. */
  spreadA: number;
  spreadB: number;
  runsA: number;
  runsB: number;
  /** the values of the runs, in the order they ran (for the JSON) */
  valuesA: number[];
  valuesB: number[];
  /**
   * `better` / `worse` when every run of B is beyond every run of A in that direction (the ranges do not
   * overlap), `same` when they overlap, `n/a` when a side has fewer than 2 runs (one run says nothing about noise).
   */
  verdict: 'better' | 'worse' | 'same' | 'n/a';
}

function finite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x));
}

export function spread(xs: readonly number[]): number {
  const v = finite(xs);
  if (v.length < 2) return NaN;
  const m = midMedian(v);
  if (m === 0) return NaN;
  return (Math.max(...v) - Math.min(...v)) / 2 / Math.abs(m);
}

export function compareRow(s: CompareSeries): CompareRow {
  const a = finite(s.a);
  const b = finite(s.b);
  const medianA = midMedian(a);
  const medianB = midMedian(b);
  let verdict: CompareRow['verdict'] = 'n/a';
  if (a.length >= 2 && b.length >= 2) {
    const bAboveA = Math.min(...b) > Math.max(...a);
    const bBelowA = Math.max(...b) < Math.min(...a);
    const up = s.better === 'higher';
    verdict = bAboveA ? (up ? 'better' : 'worse') : bBelowA ? (up ? 'worse' : 'better') : 'same';
  }
  return {
    id: s.id,
    label: s.label,
    unit: s.unit,
    better: s.better,
    medianA,
    medianB,
    ratio: Number.isFinite(medianA) && Number.isFinite(medianB) && medianA !== 0 ? medianB / medianA : NaN,
    spreadA: spread(a),
    spreadB: spread(b),
    runsA: a.length,
    runsB: b.length,
    valuesA: [...s.a],
    valuesB: [...s.b],
    verdict,
  };
}

function value(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pct(v: number): string {
  return Number.isFinite(v) ? `±${(v * 100).toFixed(1)}%` : '–';
}

/** The comparison table: one line per row, A and B medians, B/A, both spreads, the verdict. */
export function formatCompare(rows: readonly CompareRow[], nameA: string, nameB: string): string {
  const body = rows.map((r) => [
    `${r.label} (${r.unit}, ${r.better} is better)`,
    value(r.medianA),
    value(r.medianB),
    Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : '–',
    pct(r.spreadA),
    pct(r.spreadB),
    `${r.runsA}/${r.runsB}`,
    r.verdict,
  ]);
  const legend =
    `A = ${nameA}, B = ${nameB}; medians of interleaved runs; spread = half the range of a side's runs; ` +
    `verdict better/worse only when the two sides' ranges do not overlap`;
  return `${table(['row', 'A', 'B', 'B/A', 'spread A', 'spread B', 'runs', 'verdict'], body)}\n${legend}`;
}
