// The import check of `npm run check`: folder rules for src/, console/, bench/ and test/, no import cycles, and
// no rule for a folder that does not exist. Run against small trees made here, then against this repository.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/proc.js';

const script = join(repoRoot, 'scripts', 'check-imports.mjs');

async function tree(
  t: { after(fn: () => Promise<void>): void },
  files: Record<string, string>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-imports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

function check(dir: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [script, '--root', dir, '--rules', join(dir, 'rules.json')], {
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

// a may import the top-level files, b may import a; nothing else crosses a folder
const rules = (extra: Record<string, string[] | null> = {}) =>
  JSON.stringify({ '.': [], a: ['.'], b: ['a'], ...extra });
const clean = {
  'src/errors.ts': 'export const E = 1;\n',
  'src/a/one.ts': "import { E } from '../errors.js';\nexport const one = E;\n",
  'src/b/two.ts': "import { one } from '../a/one.js';\nexport const two = one + 1;\n",
  'console/src/view.ts': "import type { Model } from '../../src/observe/model.js';\nexport type V = Model;\n",
  'bench/run.ts': "import { two } from '../src/b/two.js';\nimport { h } from '../test/support/h.js';\n",
  'test/support/h.ts': "import { one } from '../../src/a/one.js';\nexport const h = one;\n",
  'test/unit/x.test.ts': "import { h } from '../support/h.js';\nimport { two } from '../../src/b/two.js';\n",
};

test('a tree that keeps every rule passes', async (t) => {
  const dir = await tree(t, { ...clean, 'rules.json': rules() });
  const r = check(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no import cycles/);
});

test('an import cycle is reported once as a path back to its start, type-only imports included', async (t) => {
  const dir = await tree(t, {
    ...clean,
    'rules.json': rules(),
    'src/a/one.ts': "import type { T } from './three.js';\nexport const one = 1;\nexport type U = T;\n",
    'src/a/three.ts': "import { one } from './one.js';\nexport type T = typeof one;\n",
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  const cycles = r.stderr.split('\n').filter((l) => l.includes('import cycle'));
  assert.deepEqual(cycles, ['  import cycle: src/a/one.ts → src/a/three.ts → src/a/one.ts']);
});

test('a dynamic import() does not make a cycle: it loads on demand', async (t) => {
  const dir = await tree(t, {
    ...clean,
    'rules.json': rules(),
    'src/a/lazy.ts': "export const load = () => import('./heavy.js');\n",
    'src/a/heavy.ts': "import { load } from './lazy.js';\nexport const again = load;\n",
  });
  const r = check(dir);
  assert.equal(r.status, 0, r.stderr);
});

test('forbidden imports of src/, console/, bench/ and test/ are each reported', async (t) => {
  const dir = await tree(t, {
    ...clean,
    'rules.json': rules(),
    'src/a/up.ts': "import { two } from '../b/two.js';\n",
    'src/a/out.ts': "import { h } from '../../test/support/h.js';\n",
    'console/src/deep.ts': "import { one } from '../../src/a/one.js';\n",
    'bench/peek.ts': "import { x } from '../test/unit/x.test.js';\n",
    'test/support/back.ts': "import { x } from '../unit/x.test.js';\n",
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /src\/a\/up\.ts: src\/a may not import b\/two \(allowed: \.\)/);
  assert.match(r.stderr, /src\/a\/out\.ts: imports \.\.\/\.\.\/test\/support\/h\.js outside src\//);
  assert.match(r.stderr, /console\/src\/deep\.ts: console may not import src\/a\/one/);
  assert.match(r.stderr, /bench\/peek\.ts: bench may not import test\/unit\/x\.test/);
  assert.match(r.stderr, /test\/support\/back\.ts: test\/support may not import test\/unit\/x\.test/);
  assert.doesNotMatch(r.stderr, /import cycle/);
});

test('a rule for a folder that does not exist fails, and so does a folder without a rule', async (t) => {
  const dir = await tree(t, {
    ...clean,
    'rules.json': rules({ gone: ['.'], b: ['a', 'a/missing'] }),
    'src/c/new.ts': 'export const c = 1;\n',
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /import rule for src\/gone: no such folder \(drop the rule\)/);
  assert.match(r.stderr, /import rule for src\/b allows src\/a\/missing: no such folder or file/);
  assert.match(r.stderr, /src\/c\/new\.ts: folder src\/c has no import rule/);
});

test("this repository's own tree keeps the import rules and has no import cycle", () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
