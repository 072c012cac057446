#!/usr/bin/env node
// Import-boundary check (docs/design/architecture.md, "Layers"): which top-level folder of src/ may import which.
// Fails with a list of offending imports.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const src = join(root, 'src');

// folder -> folders it may import (besides itself). Top-level files (errors.ts) count as folder '.'.
const common = ['.', 'observe', 'net'];
const allowed = {
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
  cli: [...common, 'api', 'admin/client', 'admin/types', 'site', 'kube/manifests'],
  console: [...common, 'api', 'admin/client', 'admin/types'],
  kube: [...common, 'api', 'admin/client', 'admin/types', 'site'],
  // an embedded node runs the daemon's composition (SiteRuntime) in the program's process
  embed: [...common, 'api', 'router', 'links', 'adapters', 'site', 'admin', 'daemon/runtime'],
  daemon: null, // the composition root may import anything
};

function walk(dir) {
  let out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const topOf = (rel) => (rel.includes('/') ? rel.split('/')[0] : '.');
const problems = [];
for (const file of walk(src)) {
  const rel = relative(src, file);
  const top = topOf(rel);
  const rules = allowed[top];
  if (rules === undefined) {
    problems.push(`${rel}: folder src/${top} has no import rule in scripts/check-imports.mjs`);
    continue;
  }
  if (rules === null) continue;
  const text = readFileSync(file, 'utf8');
  const re = /(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const target = relative(src, resolve(dirname(file), m[1])).replace(/\.js$/, '');
    if (target.startsWith('..')) {
      problems.push(`${rel}: imports ${m[1]} outside src/`);
      continue;
    }
    const ttop = topOf(target);
    if (ttop === top) {
      // adapters never import each other; adapters/common holds what they share
      const [, mine] = rel.split('/');
      const [, theirs] = target.split('/');
      if (top === 'adapters' && mine !== theirs && theirs !== 'common') {
        problems.push(`${rel}: adapters must not import another adapter (${m[1]})`);
      }
      continue;
    }
    const ok = rules.some((r) => r === ttop || target === r || target.startsWith(r + '/'));
    if (!ok)
      problems.push(
        `${rel}: src/${top} may not import ${target} (allowed: ${rules.join(', ') || 'nothing'})`,
      );
  }
}
if (problems.length) {
  process.stderr.write(`import boundaries violated:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('import boundaries ok\n');
