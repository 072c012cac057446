// The result model: one metric per row, a median per path (and the individual runs), built from interleaved
// run samples; plus CPU-per-unit-of-work and memory metrics derived from the same samples.
import type { RunSample } from './interleave.js';
import { PATH_NAMES, type PathName } from './paths.js';
import { midMedian, sum } from './stats.js';

export interface Metric {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  median: Partial<Record<PathName, number>>;
  runs: Partial<Record<PathName, number[]>>;
}

export type PerPath<T> = Partial<Record<PathName, T>>;

export function metricFromSamples<R>(
  m: Omit<Metric, 'median' | 'runs'>,
  samples: ReadonlyArray<RunSample<R>>,
  pick: (r: R) => number,
): Metric {
  const runs: PerPath<number[]> = {};
  for (const s of samples) {
    if (s.result === undefined) continue;
    (runs[s.path] ??= []).push(pick(s.result));
  }
  const median: PerPath<number> = {};
  for (const p of PATH_NAMES) if (runs[p]?.length) median[p] = midMedian(runs[p]);
  return { ...m, median, runs };
}

/** A metric with one value per path (no runs): memory, CPU per unit of work. */
export function metricFromValues(m: Omit<Metric, 'median' | 'runs'>, values: PerPath<number>): Metric {
  const runs: PerPath<number[]> = {};
  for (const [p, v] of Object.entries(values)) runs[p as PathName] = [v];
  return { ...m, median: { ...values }, runs };
}

/**
 * CPU seconds of the path's processes per unit of work over all successful samples: total CPU / total work.
 * `perProcess` takes the busiest single process instead of the sum.
 */
export function cpuPerUnit<R>(
  samples: ReadonlyArray<RunSample<R>>,
  work: (r: R) => number,
  perProcess: boolean,
): PerPath<number> {
  const cpu = new Map<PathName, Map<string, number>>();
  const units = new Map<PathName, number>();
  for (const s of samples) {
    if (s.result === undefined || Object.keys(s.cpu).length === 0) continue;
    units.set(s.path, (units.get(s.path) ?? 0) + work(s.result));
    const byRole = cpu.get(s.path) ?? new Map<string, number>();
    for (const [role, c] of Object.entries(s.cpu)) byRole.set(role, (byRole.get(role) ?? 0) + c);
    cpu.set(s.path, byRole);
  }
  const out: PerPath<number> = {};
  for (const [p, byRole] of cpu) {
    const u = units.get(p) ?? 0;
    if (u <= 0) continue;
    const c = perProcess ? Math.max(...byRole.values()) : sum([...byRole.values()]);
    out[p] = c / u;
  }
  return out;
}

/** Peak RSS per process role over all samples of a path (bytes). */
export function peakRss(samples: ReadonlyArray<RunSample<unknown>>): PerPath<Record<string, number>> {
  const out: PerPath<Record<string, number>> = {};
  for (const s of samples) {
    const cur = (out[s.path] ??= {});
    for (const [role, v] of Object.entries(s.peakRss)) {
      if (Number.isFinite(v)) cur[role] = Math.max(cur[role] ?? 0, v);
    }
  }
  return out;
}
