// Benchmark settings: --quick (under 3 minutes) or the full run (under 20), and --only to pick sections.
import { parseArgs } from 'node:util';
import { PATH_NAMES, type PathName } from './paths.js';
import type { ChurnSpec } from './workloads/churn.js';

export const SECTIONS = ['iperf', 'redis', 'conns', 'churn', 'scale'] as const;
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
  churn: ChurnSpec;
  scale: number[];
  spfSamples: number;
  outDir: string | undefined;
}

const USAGE = `Usage: npm run bench -- [--quick] [--only iperf,redis,conns,churn,scale] [--paths LIST] [--out DIR]

Benchmarks direct, caravan-1hop, caravan-2hop and stunnel paths on 127.0.0.1 with iperf3 and
redis-benchmark, router memory under connection churn and the routing engine at scale. Full runs
also measure node-tls, a plain Node TLS tunnel, as the reference for what the runtime alone costs.
Results: a table on stdout and JSON under bench/results/.

  --quick        short runs (under 3 minutes)
  --only LIST    sections: ${SECTIONS.join(',')}
  --paths LIST   paths: ${PATH_NAMES.join(',')} (direct and caravan-1hop are always measured)
  --out DIR      where the JSON goes (default bench/results)
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
  const paths = new Set<PathName>(['direct', 'caravan-1hop']);
  const wanted =
    values.paths?.split(',').map((x) => x.trim()) ?? PATH_NAMES.filter((p) => !quick || p !== 'node-tls');
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
  };
}
