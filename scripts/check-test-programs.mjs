#!/usr/bin/env node
// Checks that every program outside Node the tests and the bench run is installed by `.ci/run`, so a fresh
// machine cannot fail CI for want of a package:
//   1. every program a test or bench file starts (spawn, run, exec, … with a literal command, and absolute paths
//      of programs named in constants) is listed in test/programs.json with its Debian package;
//   2. every python module the test clients import (outside the standard library) is listed there too;
//   3. every listed package is in the `apt-get install` line of .ci/run;
//   4. where a listed program is installed on this machine, dpkg says it came from that package (or from one
//      of the packages it depends on), so the list cannot name the wrong package. Under CI (CI set) a listed
//      program that is not installed is an error: .ci/run has just installed everything.
// Fails with one line per problem.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

// `--root DIR` checks another tree (the check's own unit test uses it)
const rootArg = process.argv.indexOf('--root');
const root = resolve(rootArg > 0 ? process.argv[rootArg + 1] : new URL('..', import.meta.url).pathname);
const registry = JSON.parse(readFileSync(join(root, 'test', 'programs.json'), 'utf8'));
const programs = registry.programs ?? {};
const pythonModules = registry.pythonModules ?? {};
const problems = [];

function walk(dir, exts) {
  if (!existsSync(dir)) return [];
  let out = [];
  for (const e of readdirSync(dir).sort()) {
    if (e === 'node_modules' || e === 'results') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p, exts));
    else if (exts.some((x) => p.endsWith(x))) out.push(p);
  }
  return out;
}

// --- 1. programs started by tests and the bench ----------------------------------------------------------------
// A call of a spawning function whose command is a string literal: `run('ip', …)`, `lab.exec(host, 'redis-cli', …)`,
// `spawnManaged(\n 'redis-server'`. The optional first argument is the host of the network lab.
const CALL_RE =
  /\b(?:run|runOk|spawn|spawnSync|spawnManaged|execFile|execFileSync|execSync|exec|execOk)\(\s*(?:[\w.!?[\]]+\s*,\s*)?(['"`])([^'"`\s]+)\1/g;
// Absolute paths of programs kept in constants: `const PYTHON = '/usr/bin/python3'`.
const PATH_RE = /(['"`])(\/(?:usr\/)?(?:s?bin|lib)\/[^'"`\s]+)\1/g;
// Programs looked up on PATH by name: `which(['stunnel4', 'stunnel'])`.
const WHICH_RE = /\bwhich\(\s*\[([^\]]*)\]/g;
// Paths that are data, not programs.
const NOT_PROGRAMS = [/^\/usr\/lib\/os-release$/];

const sources = [
  // (the check's own unit test writes made-up programs into the trees it checks)
  ...walk(join(root, 'test'), ['.ts', '.mjs']).filter((p) => !p.endsWith('check-test-programs.test.ts')),
  ...walk(join(root, 'bench'), ['.ts', '.mjs']),
  ...walk(join(root, 'scripts'), ['.mjs']).filter((p) => !p.endsWith('check-test-programs.mjs')),
];
const used = new Map(); // program -> first place seen
for (const file of sources) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  for (const m of text.matchAll(CALL_RE)) {
    const cmd = m[2];
    // a path relative to the repository (bin/caravan.js) or a flag is not an external program
    if (cmd.startsWith('-') || cmd.startsWith('.') || cmd.includes('.js') || cmd.startsWith('bin/')) continue;
    if (!used.has(cmd)) used.set(cmd, `${rel}:${text.slice(0, m.index).split('\n').length}`);
  }
  for (const m of text.matchAll(WHICH_RE)) {
    for (const n of m[1].matchAll(/(['"`])([^'"`\s]+)\1/g))
      if (!used.has(n[2])) used.set(n[2], `${rel}:${text.slice(0, m.index).split('\n').length}`);
  }
  for (const m of text.matchAll(PATH_RE)) {
    const p = m[2];
    if (NOT_PROGRAMS.some((re) => re.test(p))) continue;
    if (!used.has(p)) used.set(p, `${rel}:${text.slice(0, m.index).split('\n').length}`);
  }
}
for (const [cmd, where] of used) {
  if (!(cmd in programs))
    problems.push(`${where}: runs '${cmd}', which test/programs.json does not list with its Debian package`);
}

// --- 2. python modules of the test clients ----------------------------------------------------------------------
const PY_STDLIB = new Set([
  'argparse',
  'json',
  'sys',
  'os',
  'time',
  'socket',
  'ssl',
  'threading',
  'signal',
  'hashlib',
  'base64',
  'uuid',
  'random',
  'struct',
  'select',
  'typing',
  'collections',
  'itertools',
  'functools',
  'traceback',
  'queue',
  'math',
  'datetime',
  'errno',
  'io',
  're',
  'string',
  'subprocess',
  'pathlib',
  'tempfile',
  'logging',
  'binascii',
]);
for (const file of walk(join(root, 'test'), ['.py'])) {
  const rel = relative(root, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const m = /^\s*(?:from\s+([A-Za-z_][\w]*)|import\s+([A-Za-z_][\w]*))/.exec(line);
    const mod = m?.[1] ?? m?.[2];
    if (!mod || PY_STDLIB.has(mod)) return;
    if (!(mod in pythonModules))
      problems.push(
        `${rel}:${i + 1}: imports python module '${mod}', which test/programs.json does not list`,
      );
  });
}

// --- 3. every package is installed by .ci/run --------------------------------------------------------------------
const ciText = readFileSync(join(root, '.ci', 'run'), 'utf8').replace(/\\\n/g, ' ');
const installed = new Set();
for (const line of ciText.split('\n')) {
  const m = /apt-get\s+install\s+(.*)/.exec(line);
  if (!m) continue;
  for (const word of m[1].split(/\s+/)) {
    if (/^[>&|;]/.test(word)) break;
    if (word && !word.startsWith('-')) installed.add(word);
  }
}
const packages = new Map(); // package -> what needs it
for (const [p, pkg] of Object.entries(programs)) packages.set(pkg, `program '${p}'`);
for (const [mod, pkg] of Object.entries(pythonModules)) packages.set(pkg, `python module '${mod}'`);
for (const [pkg, why] of packages) {
  if (!installed.has(pkg))
    problems.push(
      `.ci/run: does not install '${pkg}' (needed for ${why}); add it to the apt-get install line`,
    );
}

// --- 4. the list names the right packages --------------------------------------------------------------------------
function dpkg(args) {
  try {
    return execFileSync('dpkg-query', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
const haveDpkg = dpkg(['--version']) !== undefined;
function locate(program) {
  if (program.startsWith('/')) return existsSync(program) ? program : undefined;
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    const p = join(dir, program);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}
/** The package owning a file, also across the /usr merge (/usr/bin/ip is /bin/ip in dpkg's records). */
function owner(path) {
  const variants = [path, path.replace(/^\/usr\//, '/'), path.replace(/^\/(s?bin|lib)\//, '/usr/$1/')];
  for (const v of new Set(variants)) {
    const out = dpkg(['-S', v]);
    if (out) return out.split(':')[0].trim();
  }
  return undefined;
}
/** Installed packages -> what they depend on, read once. */
let dependsOf;
/** The package and every package it depends on, recursively (installed ones only). */
function closure(pkg) {
  if (!dependsOf) {
    dependsOf = new Map();
    for (const line of (dpkg(['-W', '-f=${Package}\t${Depends},${Pre-Depends}\n']) ?? '').split('\n')) {
      const [name, deps] = line.split('\t');
      if (name) dependsOf.set(name, deps ?? '');
    }
  }
  const seen = new Set();
  const todo = [pkg];
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    const deps = dependsOf.get(p) ?? '';
    for (const d of deps.split(/[,|]/)) {
      const name = d.trim().split(/[\s(:]/)[0];
      if (name && !seen.has(name)) todo.push(name);
    }
  }
  return seen;
}
if (haveDpkg) {
  for (const [program, pkg] of Object.entries(programs)) {
    const at = locate(program);
    if (!at) {
      if (process.env.CI) problems.push(`'${program}' is not installed although .ci/run installs '${pkg}'`);
      continue;
    }
    const own = owner(realpathSync(at)) ?? owner(at);
    if (own === undefined) continue; // not from a package (built by hand): nothing to compare
    if (!closure(pkg).has(own))
      problems.push(`test/programs.json: '${program}' comes from package '${own}' here, not from '${pkg}'`);
  }
}

if (problems.length) {
  process.stderr.write(`Programs the tests need (${problems.length} problem(s)):\n`);
  for (const p of problems) process.stderr.write(`  ${p}\n`);
  process.exit(1);
}
process.stdout.write(`test programs: ${used.size} programs and their packages are installed by .ci/run\n`);
