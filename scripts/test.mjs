#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
// Usage: node scripts/test.mjs [unit|integration|e2e ...]
// Suites run in order unit → integration → e2e; e2e needs root (network namespaces).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const all = ['unit', 'integration', 'e2e'];
const suites = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const s of suites) {
  if (!all.includes(s)) {
    process.stderr.write(`error: unknown suite '${s}' (expected one of ${all.join(', ')})\n`);
    process.exit(2);
  }
}

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = suites.flatMap((s) => find(join(root, 'dist', 'test', s)));
if (files.length === 0) {
  process.stderr.write('error: no test files found; run `npm run build` first\n');
  process.exit(1);
}
// Unit tests may run in parallel; integration and e2e tests use real processes and namespaces, so one file at a time.
const serial = suites.some((s) => s !== 'unit');
const args = ['--test', '--test-reporter=spec', `--test-concurrency=${serial ? 1 : 2}`, ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
