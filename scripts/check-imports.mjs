#!/usr/bin/env node
// Import check (docs/design/architecture.md, "Layers"): which folder may import which, and no import cycles.
// Only relative imports are checked (`from './x.js'`, `import './x.js'`, `export … from`, `import('./x.js')`);
// packages and node: built-ins are free. Fails with one line per problem.
//
// 1. src/: each top-level folder of src/ has a rule below (SRC_RULES) naming the folders — or single files — it
//    may import besides itself; top-level files (errors.ts, clock.ts, …) count as folder '.'. A folder without a
//    rule fails, so does a rule for a folder that does not exist under src/ (or an allowed entry naming neither a
//    folder nor a file of src/), so rules for removed folders cannot linger. src/ never imports anything outside
//    src/ (not test/, bench/ or console/). Adapters never import each other; adapters/common holds what they share.
// 2. console/ (the web console, bundled for the browser by vite): may import console/ and, of src/, only
//    src/observe/model — the shapes of the network model the admin API serves. Anything more of src/ would pull
//    Node code into the browser bundle.
// 3. bench/: may import src/ (anything), bench/ and test/support/ (process, site and wait helpers it shares with
//    the tests); never test/unit, test/integration, test/e2e or test/fuzz.
// 4. test/: test/support/ may import src/ and test/support/ only — helpers never depend on tests. test/unit,
//    test/integration and test/e2e may import src/, test/support/, test/fixtures/ and their own folder;
//    test/unit also test/fuzz/ (the corpus test replays the fuzz targets) and bench/ (unit tests of the
//    benchmark's pure parts, such as its targets). test/fuzz and test/soak (the chaos soak, `npm run soak`) may
//    import src/, test/support/ and themselves. Nothing
//    else in test/ imports bench/. A file of test/ in a folder without a rule fails.
// 5. Cycles: no two files may import each other, directly or through others, in any checked tree. Static
//    imports count, `import type` too (a type-only cycle still ties two files together: neither can be read or
//    moved without the other; put the shared type in a small file both import). A dynamic `import('./x.js')`
//    does not count: it runs when called, not when the module loads, and is how a module defers a heavy part
//    (site/certs/lazy.ts). Each cycle is reported once, as a path a → b → a starting at its first file.
//
// `--root DIR` checks another tree; `--rules FILE` reads the src/ rules from a JSON file of the same shape as
// SRC_RULES (both for the check's own unit test).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const root = resolve(arg('--root') ?? new URL('..', import.meta.url).pathname);
const src = join(root, 'src');

// folder of src/ -> what it may import (besides itself); null: anything in src/.
const common = ['.', 'observe', 'net'];
const SRC_RULES = {
  '.': [],
  observe: ['.'],
  // the guard in front of public accept paths (links, grants, console, listeners)
  net: ['.', 'observe'],
  api: ['.'],
  routing: ['names'],
  router: [...common, 'api', 'routing'],
  links: [...common],
  adapters: [...common, 'router/contract', 'router/codes'],
  site: [...common, 'api'],
  // the console writes its generated credentials file like every state file (site/atomic)
  admin: [...common, 'api', 'site/atomic'],
  // --kube: the CLI writes Custom Resources through the kube client and checks them as the router does
  cli: [...common, 'api', 'admin/client', 'admin/types', 'admin/network-view', 'site', 'kube'],
  // the network a Kubernetes-mode router writes into its Site's status is the view `network status` shows
  kube: [...common, 'api', 'admin/client', 'admin/types', 'admin/network-view', 'site'],
  // an embedded node runs the daemon's composition (SiteRuntime) in the program's process
  embed: [...common, 'api', 'router', 'links', 'adapters', 'site', 'admin', 'daemon/runtime'],
  daemon: null, // the composition root may import anything
};
const rulesFile = arg('--rules');
const srcRules = rulesFile ? JSON.parse(readFileSync(rulesFile, 'utf8')) : SRC_RULES;

// area outside src/ -> path prefixes (relative to the root) it may import. An area is console, bench, or a
// folder of test/.
const OTHER_RULES = {
  console: ['console/', 'src/observe/model'],
  bench: ['src/', 'bench/', 'test/support/'],
  'test/support': ['src/', 'test/support/'],
  'test/unit': ['src/', 'test/support/', 'test/fixtures/', 'test/unit/', 'test/fuzz/', 'bench/'],
  'test/integration': ['src/', 'test/support/', 'test/fixtures/', 'test/integration/'],
  'test/e2e': ['src/', 'test/support/', 'test/fixtures/', 'test/e2e/'],
  'test/fuzz': ['src/', 'test/support/', 'test/fuzz/'],
  'test/soak': ['src/', 'test/support/', 'test/soak/'],
  'test/fixtures': ['test/fixtures/'],
};

const SKIP = new Set(['node_modules', 'results', 'dist']);
function walk(dir) {
  if (!existsSync(dir)) return [];
  let out = [];
  for (const e of readdirSync(dir).sort()) {
    if (SKIP.has(e)) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.(ts|tsx|mjs)$/.test(p) && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const problems = [];
const noExt = (p) => p.replace(/\.(js|mjs|ts|tsx)$/, '');
const files = ['src', 'console', 'bench', 'test'].flatMap((d) => walk(join(root, d)));
const keyToFile = new Map(files.map((f) => [noExt(relative(root, f)), relative(root, f)]));
const edges = new Map(); // file key -> keys it imports statically

// --- rules for folders that do not exist ------------------------------------------------------------------------
const isDir = (p) => existsSync(p) && statSync(p).isDirectory();
for (const [folder, allowed] of Object.entries(srcRules)) {
  if (folder !== '.' && !isDir(join(src, folder)))
    problems.push(`import rule for src/${folder}: no such folder (drop the rule)`);
  for (const r of allowed ?? []) {
    if (r === '.' || isDir(join(src, r)) || existsSync(join(src, r + '.ts'))) continue;
    problems.push(`import rule for src/${folder} allows src/${r}: no such folder or file`);
  }
}

// --- boundaries -------------------------------------------------------------------------------------------------
const IMPORT_RE =
  /(?:(?:^|[\s;}])(?:import|export)\s[^'";]*?from\s*|(?:^|[\s;])import\s*|(import)\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/gm;
const srcTop = (rel) => (rel.includes('/') ? rel.split('/')[0] : '.');

function areaOf(rel) {
  if (rel.startsWith('src/')) return 'src';
  if (rel.startsWith('console/')) return 'console';
  if (rel.startsWith('bench/')) return 'bench';
  const [, sub] = rel.split('/');
  return rel.split('/').length > 2 ? `test/${sub}` : 'test';
}

function checkSrc(rel, target, spec) {
  const from = relative('src', rel);
  const top = srcTop(from);
  const rules = srcRules[top];
  if (rules === undefined) return `${rel}: folder src/${top} has no import rule in scripts/check-imports.mjs`;
  if (!target.startsWith('src/')) return `${rel}: imports ${spec} outside src/`;
  if (rules === null) return undefined;
  const to = relative('src', target);
  const ttop = srcTop(to);
  if (ttop === top) {
    const [, mine] = from.split('/');
    const [, theirs] = to.split('/');
    if (top === 'adapters' && mine !== theirs && theirs !== 'common')
      return `${rel}: adapters must not import another adapter (${spec})`;
    return undefined;
  }
  if (rules.some((r) => r === ttop || to === r || to.startsWith(r + '/'))) return undefined;
  return `${rel}: src/${top} may not import ${to} (allowed: ${rules.join(', ') || 'nothing'})`;
}

const unruled = new Set();
for (const file of files) {
  const rel = relative(root, file);
  const key = noExt(rel);
  const area = areaOf(rel);
  const deps = new Set();
  edges.set(key, deps);
  if (area === 'src' && srcRules[srcTop(relative('src', rel))] === undefined) {
    problems.push(
      `${rel}: folder src/${srcTop(relative('src', rel))} has no import rule in scripts/check-imports.mjs`,
    );
  } else if (area !== 'src' && !OTHER_RULES[area] && !unruled.has(area)) {
    unruled.add(area);
    problems.push(`${rel}: ${area}/ has no import rule in scripts/check-imports.mjs`);
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[2];
    const target = noExt(relative(root, resolve(dirname(file), spec)));
    if (m[1] === undefined) deps.add(target);
    let problem;
    if (area === 'src') {
      if (srcRules[srcTop(relative('src', rel))] === undefined) continue; // reported once above
      problem = checkSrc(rel, target, spec);
    } else if (OTHER_RULES[area]) {
      const allowed = OTHER_RULES[area];
      if (!allowed.some((p) => (p.endsWith('/') ? target.startsWith(p) : target === p)))
        problem = `${rel}: ${area} may not import ${target} (allowed: ${allowed.join(', ')})`;
    }
    if (problem) problems.push(problem);
  }
}

// --- cycles -----------------------------------------------------------------------------------------------------
// Strongly connected components (Tarjan), then the elementary cycles of each, each found once from its smallest
// file (in sorted order). A component with very many cycles is cut short: fixing the first ones changes the rest.
const MAX_CYCLES = 20;
const nodes = [...edges.keys()].sort();
const succ = (k) => [...(edges.get(k) ?? [])].filter((t) => keyToFile.has(t)).sort();
let index = 0;
const idx = new Map();
const low = new Map();
const onStack = new Set();
const stack = [];
const components = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of succ(v)) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || succ(v).includes(v)) components.push(comp.sort());
  }
}
for (const v of nodes) if (!idx.has(v)) strong(v);

for (const comp of components) {
  const inComp = new Set(comp);
  const cycles = [];
  for (const [i, start] of comp.entries()) {
    const later = new Set(comp.slice(i + 1));
    const path = [start];
    const seen = new Set([start]);
    const dfs = (v) => {
      for (const w of succ(v)) {
        if (cycles.length >= MAX_CYCLES || !inComp.has(w)) continue;
        if (w === start) cycles.push([...path, start]);
        else if (later.has(w) && !seen.has(w)) {
          seen.add(w);
          path.push(w);
          dfs(w);
          path.pop();
          seen.delete(w);
        }
      }
    };
    dfs(start);
  }
  for (const c of cycles) problems.push(`import cycle: ${c.map((k) => keyToFile.get(k)).join(' → ')}`);
  if (cycles.length >= MAX_CYCLES)
    problems.push(`import cycle: more cycles among ${comp.map((k) => keyToFile.get(k)).join(', ')}`);
}

if (problems.length) {
  process.stderr.write(`import check failed:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('import boundaries ok, no import cycles\n');
