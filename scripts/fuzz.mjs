#!/usr/bin/env node
// Coverage-guided fuzzing of the parsers that read bytes from peers and users (docs/design/security.md,
// "Fuzzing"), with Jazzer.js (libFuzzer in-process). Needs `tsc` output in dist/ (`npm run fuzz` builds it).
//
// Usage: node scripts/fuzz.mjs [--target T[,T...]] [--seconds N] [--runs N] [--regression] [--write-seeds] [--list]
//   --target       one or more targets (default: all); --list prints them
//   --seconds      fuzzing time per target (default 60; with --runs: no limit unless given)
//   --runs         stop each target after this many inputs (e.g. 1000000 for the long run of security.md)
//   --regression   only run the committed corpus and regression inputs through each target (no fuzzing)
//   --write-seeds  regenerate test/fuzz/corpus/<target>/seed-* from the targets' real encodings
// New interesting inputs go to .fuzz/<target>/corpus (not committed); a crashing input is saved as
// .fuzz/<target>/crash-<sha1>; copy it to test/fuzz/regressions/<target>/ when fixing the bug.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLoadable } from './jazzer-glibc.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist', 'test', 'fuzz', 'targets');
const cli = join(root, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');
/** targets whose fuzz function returns a promise */
const ASYNC = new Set(['grant-request', 'mux-session']);
/** libFuzzer dictionaries (test/fuzz/dict/) per target: tokens the parsers compare against */
const DICT = {
  'control-message': 'json',
  'flow-header': 'json',
  'http1-head': 'json',
  'http2-frames': 'json',
  'amqp-flow': 'json',
  'grant-request': 'json',
  'mux-session': 'json',
  'resource-yaml': 'yaml',
  'token-file': 'yaml',
};
/** a single input running longer than this is a hang */
const TIMEOUT_MS = 2000;

function usage(msg) {
  process.stderr.write(
    `error: ${msg}\nusage: npm run fuzz -- [--target T[,T...]] [--seconds N] [--runs N] [--regression] [--write-seeds] [--list]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const opts = {
  targets: [],
  seconds: undefined,
  runs: undefined,
  regression: false,
  writeSeeds: false,
  list: false,
};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  if (a === '--target' || a === '-t') opts.targets.push(...value().split(',').filter(Boolean));
  else if (a === '--seconds' || a === '-s') {
    opts.seconds = Number(value());
    if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds must be a positive integer');
  } else if (a === '--runs' || a === '-r') {
    opts.runs = Number(value());
    if (!Number.isInteger(opts.runs) || opts.runs < 1) usage('--runs must be a positive integer');
  } else if (a === '--regression') opts.regression = true;
  else if (a === '--write-seeds') opts.writeSeeds = true;
  else if (a === '--list') opts.list = true;
  else usage(`unknown argument ${a}`);
}

if (!existsSync(join(dist, 'index.js')))
  usage('dist/test/fuzz is missing: run `npx tsc -p tsconfig.json` first');
const { TARGETS, loadTarget } = await import(join(dist, 'index.js'));
if (opts.list) {
  process.stdout.write(`${TARGETS.join('\n')}\n`);
  process.exit(0);
}
for (const t of opts.targets)
  if (!TARGETS.includes(t)) usage(`unknown target ${t} (known: ${TARGETS.join(', ')})`);
const targets = opts.targets.length ? opts.targets : [...TARGETS];
if (opts.seconds === undefined && opts.runs === undefined) opts.seconds = 60;
const budget = [
  ...(opts.seconds !== undefined ? [`${opts.seconds} s`] : []),
  ...(opts.runs !== undefined ? [`${opts.runs} inputs`] : []),
].join(' or ');

const seedDir = (t) => join(root, 'test', 'fuzz', 'corpus', t);
const regressionDir = (t) => join(root, 'test', 'fuzz', 'regressions', t);
const files = (dir) => (existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : []);

if (opts.writeSeeds) {
  for (const t of targets) {
    const dir = seedDir(t);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (f.startsWith('seed-')) rmSync(join(dir, f));
    const seeds = await (await loadTarget(t)).seeds();
    for (const s of seeds) {
      writeFileSync(join(dir, `seed-${createHash('sha1').update(s).digest('hex').slice(0, 12)}`), s);
    }
    process.stdout.write(`${t}: ${seeds.length} seeds\n`);
  }
  process.exit(0);
}

if (opts.regression) {
  const { readFileSync } = await import('node:fs');
  let failed = 0;
  for (const t of targets) {
    const mod = await loadTarget(t);
    const inputs = [...files(seedDir(t)), ...files(regressionDir(t))];
    for (const f of inputs) {
      try {
        await mod.fuzz(readFileSync(f));
      } catch (e) {
        failed++;
        process.stdout.write(`${t}: ${f}: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    process.stdout.write(`${t}: ${inputs.length} inputs\n`);
  }
  process.exit(failed ? 1 : 0);
}

const addon = ensureLoadable();
if (!addon.ok) usage(`the Jazzer.js fuzzing engine does not load: ${addon.message}`);

function runTarget(t) {
  const work = join(root, '.fuzz', t);
  const corpus = join(work, 'corpus');
  mkdirSync(corpus, { recursive: true });
  const dirs = [corpus, seedDir(t), regressionDir(t)].filter((d) => existsSync(d));
  const argv = [
    cli,
    join(dist, `${t}.js`),
    ...dirs,
    '-i',
    'dist/src/',
    '-i',
    'dist/test/fuzz/targets/',
    '--timeout',
    String(TIMEOUT_MS),
    ...(ASYNC.has(t) ? [] : ['--sync']),
    '--',
    ...(opts.seconds !== undefined ? [`-max_total_time=${opts.seconds}`] : []),
    ...(opts.runs !== undefined ? [`-runs=${opts.runs}`] : []),
    `-artifact_prefix=${work}/`,
    '-rss_limit_mb=2048',
    '-max_len=65536',
    '-print_final_stats=1',
    ...(DICT[t] ? [`-dict=${join(root, 'test', 'fuzz', 'dict', `${DICT[t]}.dict`)}`] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // the highest input count of libFuzzer's progress lines (`#N ...`): long runs do not always print the final
    // statistics, and the kept output is cut
    let progress;
    const keep = (b) => {
      const text = b.toString();
      for (const m of text.matchAll(/^#(\d+)\s/gm)) progress = Math.max(progress ?? 0, Number(m[1]));
      out += text;
      if (out.length > 1_000_000) out = out.slice(-500_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => {
      const runs =
        /stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1] ??
        /Done (\d+) runs/.exec(out)?.[1] ??
        progress;
      const artifact = /Test unit written to (\S+)/.exec(out)?.[1];
      const secs = Number(/Done \d+ runs in (\d+) second/.exec(out)?.[1] ?? opts.seconds ?? 0);
      resolve({ target: t, code, runs: runs === undefined ? undefined : Number(runs), secs, artifact, out });
    });
  });
}

const results = [];
for (const t of targets) {
  process.stdout.write(`fuzzing ${t} for ${budget} ...\n`);
  const r = await runTarget(t);
  results.push(r);
  if (r.code !== 0) {
    const tail = r.out
      .split('\n')
      .filter((l) => !/^#\d+/.test(l))
      .slice(-40)
      .join('\n');
    process.stdout.write(`${tail}\n`);
  }
}
process.stdout.write('\ntarget            seconds   inputs executed   inputs/s   result\n');
for (const r of results) {
  const runs = r.runs ?? 0;
  const result = r.code === 0 ? 'ok' : r.artifact ? `CRASH ${r.artifact}` : `failed (exit ${r.code})`;
  process.stdout.write(
    `${r.target.padEnd(18)}${String(r.secs).padStart(7)}${String(runs).padStart(18)}${String(Math.round(runs / Math.max(1, r.secs))).padStart(11)}   ${result}\n`,
  );
}
const bad = results.filter((r) => r.code !== 0 || r.runs === undefined);
process.stdout.write(`fuzzing: ${results.length - bad.length} targets clean, ${bad.length} with findings\n`);
process.exit(bad.length ? 1 : 0);
