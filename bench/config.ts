// Benchmark settings: --quick (under 3 minutes) or the full run (under 20), and --only to pick sections.
import { parseArgs } from 'node:util';
import { ON_REQUEST, PATH_NAMES, type PathName } from './paths.js';
import type { ChurnSpec } from './workloads/churn.js';
import type { UdpSpec } from './workloads/udp.js';

export const SECTIONS = ['iperf', 'udp', 'redis', 'conns', 'churn', 'scale'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchConfig {
  quick: boolean;
  sections: Set<Section>;
  /** Paths measured: all of them in full runs; quick runs leave out the node-tls reference (time budget). */
  paths: Set<PathName>;
  /** Interleaved rounds (every path once per round) for iperf3 and for redis/connections. */
  iperfRounds: number;
  redisRounds: number;
  iperfSeconds: number;
  redisRequests: { c1: number; c50: number };
  conns: { requests: number; clients: number };
  /** iperf3 -u: the offered rates (one row each), datagram size and length of a run; rounds as iperfRounds */
  udp: { rates: number[] } & Omit<UdpSpec, 'mbit'>;
  churn: ChurnSpec;
  scale: number[];
  spfSamples: number;
  outDir: string | undefined;
  /** `--compare <ref>`: the A/B comparison of this build against a build of another commit, instead of the paths. */
  compare: CompareConfig | undefined;
}

export interface CompareConfig {
  /** The git ref (commit, branch, tag, HEAD~1) built as side A. */
  ref: string;
  /** Interleaved rounds; each runs every workload once on each build. */
  rounds: number;
  hops: 1 | 2;
  /** Build the other commit again even when a build of it is cached. */
  rebuild: boolean;
}

const USAGE = `Usage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--paths LIST] [--out DIR]
       npm run bench -- --compare REF [--rounds N] [--hops 1|2] [--quick] [--only iperf,redis,conns] [--rebuild]

Benchmarks direct, caravan-1hop, caravan-2hop and stunnel paths on 127.0.0.1 with iperf3 and
redis-benchmark, UDP loss with iperf3 -u (direct and caravan paths only), router memory under
connection churn and the routing engine at scale. Full runs also measure node-tls, a plain Node TLS
tunnel, as the reference for what the runtime alone costs.
Results: a table on stdout and JSON under bench/results/.

  --quick        short runs (under 3 minutes)
  --only LIST    sections: ${SECTIONS.join(',')}
  --paths LIST   paths: ${PATH_NAMES.join(',')} (direct and caravan-1hop are always measured)
  --out DIR      where the JSON goes (default bench/results)

  --compare REF  A/B: build the commit REF (git archive into a temporary directory, node_modules
                 shared when the lockfiles match, else npm ci; tsc) and run the same workloads on a
                 caravan path of that build (A) and of this one (B), interleaved over several
                 rounds (A B, B A, ...); prints per row both medians, B/A, each side's spread
  --rounds N     rounds of the comparison (default 5, 3 with --quick)
  --hops 1|2     the comparison's path: one link (default) or through a transit router
  --rebuild      build REF again even if a build of that commit is cached
`;

export function parseConfig(argv: string[]): BenchConfig | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      paths: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      compare: { type: 'string' },
      rounds: { type: 'string' },
      hops: { type: 'string' },
      rebuild: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const sections = new Set<Section>();
  for (const s of (values.only ?? SECTIONS.join(',')).split(',').map((x) => x.trim())) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section '${s}'`);
    sections.add(s as Section);
  }
  const quick = values.quick === true;
  const compare = compareConfig(values, quick, sections);
  const paths = new Set<PathName>(['direct', 'caravan-1hop']);
  const wanted =
    values.paths?.split(',').map((x) => x.trim()) ??
    PATH_NAMES.filter((p) => !ON_REQUEST.includes(p) && (!quick || p !== 'node-tls'));
  for (const p of wanted) {
    if (!(PATH_NAMES as readonly string[]).includes(p)) throw new Error(`--paths: unknown path '${p}'`);
    paths.add(p as PathName);
  }
  return {
    quick,
    sections,
    paths,
    iperfRounds: quick ? 1 : 3,
    redisRounds: quick ? 2 : 3,
    iperfSeconds: quick ? 2 : 8,
    redisRequests: quick ? { c1: 8_000, c50: 30_000 } : { c1: 30_000, c50: 200_000 },
    conns: { requests: quick ? 3_000 : 10_000, clients: 8 },
    udp: { rates: quick ? [20] : [20, 100], length: 1200, seconds: quick ? 3 : 5 },
    churn: {
      connections: 10_000,
      warmup: 1_000,
      rounds: quick ? 1 : 2,
      clients: 16,
      settleMs: 3_000,
    },
    scale: [100, 1000],
    spfSamples: quick ? 30 : 200,
    outDir: values.out,
    compare,
  };
}

const COMPARE_SECTIONS: readonly Section[] = ['iperf', 'redis', 'conns'];

function compareConfig(
  values: { compare?: string; rounds?: string; hops?: string; rebuild?: boolean; only?: string },
  quick: boolean,
  sections: Set<Section>,
): CompareConfig | undefined {
  if (values.compare === undefined) {
    for (const k of ['rounds', 'hops', 'rebuild'] as const) {
      if (values[k] !== undefined) throw new Error(`--${k} is an option of --compare`);
    }
    return undefined;
  }
  const ref = values.compare.trim();
  if (ref === '' || ref.startsWith('-')) throw new Error(`--compare: '${values.compare}' is not a git ref`);
  const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
    throw new Error(`--rounds: expected a whole number from 1 to 50, not '${values.rounds}'`);
  }
  const hops = values.hops === undefined ? 1 : Number(values.hops);
  if (hops !== 1 && hops !== 2) throw new Error(`--hops: expected 1 or 2, not '${values.hops}'`);
  if (values.only === undefined) {
    for (const s of [...sections]) if (!COMPARE_SECTIONS.includes(s)) sections.delete(s);
  } else {
    for (const s of sections) {
      if (!COMPARE_SECTIONS.includes(s)) {
        throw new Error(`--compare measures ${COMPARE_SECTIONS.join(', ')}; '${s}' is not one of them`);
      }
    }
  }
  return { ref, rounds, hops, rebuild: values.rebuild === true };
}
