// Runs one workload on every path in turn (A B C D, A B C D, ...), measuring the CPU time and peak RSS of each
// path's processes during each run. A failed run is recorded and the benchmark goes on.
import { errorMessage } from '../src/errors.js';
import type { BenchPath, PathName } from './paths.js';
import { cpuSeconds, machineBusySeconds, RssSampler } from './procfs.js';

export interface RunSample<R> {
  path: PathName;
  round: number;
  result?: R;
  error?: string;
  wallSeconds: number;
  /** CPU seconds used by each of the path's processes during the run, by role. */
  cpu: Record<string, number>;
  /** Peak RSS in bytes of each of the path's processes during the run, by role. */
  peakRss: Record<string, number>;
  /** Average number of busy cores on the whole machine during the run (everything, not only this benchmark). */
  machineBusyCores: number;
}

export type Progress = (line: string) => void;

/** One measured run of `fn` on `p`: wall time, CPU and peak RSS of the path's processes, machine load. */
export async function measureRun<R>(
  p: BenchPath,
  round: number,
  fn: (p: BenchPath) => Promise<R>,
): Promise<RunSample<R>> {
  const before = p.procs.map((x) => cpuSeconds(x.pid));
  const sampler = new RssSampler(p.procs.map((x) => x.pid)).start();
  const busy0 = machineBusySeconds();
  const t0 = process.hrtime.bigint();
  const sample: RunSample<R> = {
    path: p.name,
    round,
    wallSeconds: 0,
    cpu: {},
    peakRss: {},
    machineBusyCores: 0,
  };
  try {
    sample.result = await fn(p);
  } catch (e) {
    sample.error = errorMessage(e);
  }
  sample.wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sample.machineBusyCores = (machineBusySeconds() - busy0) / sample.wallSeconds;
  const peaks = sampler.stop();
  p.procs.forEach((x, i) => {
    sample.cpu[x.role] = cpuSeconds(x.pid) - (before[i] as number);
    sample.peakRss[x.role] = peaks.get(x.pid) ?? NaN;
  });
  return sample;
}

/** The progress line of one run. */
export function sampleLine(
  label: string,
  round: number,
  rounds: number,
  who: string,
  s: RunSample<unknown>,
): string {
  return (
    `  ${label} [${round + 1}/${rounds}] ${who}: ` +
    (s.error
      ? `FAILED ${s.error.split('\n')[0] ?? ''}`
      : `${s.wallSeconds.toFixed(1)} s, machine ${s.machineBusyCores.toFixed(2)} cores busy`)
  );
}

export async function interleave<R>(
  label: string,
  paths: readonly BenchPath[],
  rounds: number,
  fn: (p: BenchPath) => Promise<R>,
  progress: Progress,
): Promise<Array<RunSample<R>>> {
  const out: Array<RunSample<R>> = [];
  for (let round = 0; round < rounds; round++) {
    for (const p of paths) {
      const sample = await measureRun(p, round, fn);
      progress(sampleLine(label, round, rounds, p.name, sample));
      out.push(sample);
    }
  }
  return out;
}
