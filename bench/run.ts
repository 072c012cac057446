// `npm run bench [-- --quick]` (or `-- --compare <ref>`, bench/compare.ts): direct vs caravan-1hop vs caravan-2hop vs stunnel (and node-tls) on 127.0.0.1 with real peers
// (iperf3, redis-benchmark), router memory under connection churn, and the routing engine at scale. Prints
// tables, PASS/MISS lines for the targets, and writes JSON under bench/results/.
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../src/errors.js';
import { cleanupAll, registerCleanup, repoRoot } from '../test/support/proc.js';
import { makeTempRoot } from '../test/support/sites.js';
import { runCompare } from './compare.js';
import { parseConfig, type BenchConfig, type CompareConfig } from './config.js';
import { findTools, machineInfo, type Tools } from './env.js';
import { measureNetwork, type NetworkResults } from './network.js';
import {
  churnTable,
  machineLine,
  memoryTable,
  metricsTable,
  ratioTable,
  scaleTable,
  section,
} from './report.js';
import { routingScale, type ScaleResult } from './routing-scale.js';
import { evaluateTargets, formatTargets } from './targets.js';

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function runScale(cfg: BenchConfig): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  if (!cfg.sections.has('scale')) return out;
  for (const n of cfg.scale) {
    progress(`routing scale: ${n} routers…`);
    out.push(routingScale(n, { spfSamples: cfg.spfSamples }));
  }
  return out;
}

async function writeJson(cfg: BenchConfig, doc: Record<string, unknown>, kind = 'bench'): Promise<string> {
  const dir = cfg.outDir ?? join(repoRoot, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${kind}-${cfg.quick ? 'quick' : 'full'}-${stamp}.json`);
  await writeFile(file, JSON.stringify(doc, null, 2) + '\n');
  return file;
}

function print(
  cfg: BenchConfig,
  net: NetworkResults | undefined,
  scale: ScaleResult[],
  tools: Tools,
): string {
  const machine = machineInfo(tools);
  let text = `\nCaravan benchmark — ${machineLine(machine, cfg.quick)}\n`;
  if (net && net.metrics.length > 0) {
    text += section(
      `paths (median of ${cfg.iperfRounds} iperf3 / ${cfg.redisRounds} redis interleaved rounds)`,
      metricsTable(net.metrics),
    );
    text += section('ratios (value of the first path / value of the second)', ratioTable(net.metrics));
    text += section('memory', memoryTable(net.recentRss, net.idleRss, net.loadRss, net.churn));
    if (net.churn.length > 0) text += section('connection churn', churnTable(net.churn));
  }
  if (scale.length > 0) text += section('routing scale', scaleTable(scale));
  return text;
}

async function compareMain(cfg: BenchConfig, cmp: CompareConfig): Promise<number> {
  const started = Date.now();
  const tools = findTools();
  const root = await makeTempRoot('bench-cmp');
  registerCleanup({ sync: () => rmSync(root.dir, { recursive: true, force: true }) });
  let result;
  try {
    result = await runCompare(cfg, cmp, tools, root.dir, progress);
  } finally {
    await cleanupAll().catch(() => undefined);
    await root.remove();
  }
  const machine = machineInfo(tools);
  process.stdout.write(
    `\nCaravan A/B comparison — ${machineLine(machine, cfg.quick)}\n` +
      section(`caravan-${cmp.hops}hop, ${cmp.rounds} interleaved rounds`, result.text),
  );
  const seconds = (Date.now() - started) / 1000;
  const file = await writeJson(
    cfg,
    {
      kind: 'compare',
      startedAt: new Date(started).toISOString(),
      durationSeconds: seconds,
      machine,
      config: { ...cfg, sections: [...cfg.sections], paths: [...cfg.paths] },
      other: result.other,
      rows: result.rows,
    },
    'compare',
  );
  process.stdout.write(`\nfinished in ${seconds.toFixed(0)} s; JSON: ${file}\n`);
  return 0;
}

async function main(): Promise<number> {
  const cfg = parseConfig(process.argv.slice(2));
  if (!cfg) return 0;
  if (cfg.compare) return compareMain(cfg, cfg.compare);
  const started = Date.now();
  const tools = findTools();
  const root = await makeTempRoot('bench');
  registerCleanup({ sync: () => rmSync(root.dir, { recursive: true, force: true }) });
  let net: NetworkResults | undefined;
  try {
    net = await measureNetwork(cfg, tools, root.dir, progress);
  } finally {
    await cleanupAll().catch(() => undefined);
  }
  const scale = await runScale(cfg);
  await root.remove();

  const targets = evaluateTargets({
    metrics: new Map((net?.metrics ?? []).map((m) => [m.id, m])),
    idleRss: net?.idleRss ?? {},
    churn: net?.churn ?? [],
    scale,
  });
  process.stdout.write(print(cfg, net, scale, tools));
  process.stdout.write(section('targets (not asserted)', formatTargets(targets)));
  const seconds = (Date.now() - started) / 1000;
  const file = await writeJson(cfg, {
    startedAt: new Date(started).toISOString(),
    durationSeconds: seconds,
    machine: machineInfo(tools),
    config: { ...cfg, sections: [...cfg.sections] },
    metrics: net?.metrics ?? [],
    memory: {
      rssAfterTraffic: net?.recentRss ?? {},
      idleRss: net?.idleRss ?? {},
      peakRssUnderLoad: net?.loadRss ?? {},
      churn: net?.churn ?? [],
    },
    scale,
    targets,
    samples: net?.samples ?? {},
  });
  process.stdout.write(`\nfinished in ${seconds.toFixed(0)} s; JSON: ${file}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench failed: ${errorMessage(e)}\n`);
    if (e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
