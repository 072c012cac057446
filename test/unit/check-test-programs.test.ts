// The check in `npm run check` that keeps a fresh machine able to pass CI: every program a test runs is listed with
// its Debian package, and .ci/run installs every listed package. Run against small trees made here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/proc.js';

const script = join(repoRoot, 'scripts', 'check-test-programs.mjs');

async function tree(
  t: { after(fn: () => Promise<void>): void },
  files: Record<string, string>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-progs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

function check(dir: string): { status: number | null; stderr: string } {
  const env = { ...process.env };
  delete env['CI']; // the programs of these trees are made up: not installed anywhere
  const r = spawnSync(process.execPath, [script, '--root', dir], { encoding: 'utf8', env });
  return { status: r.status, stderr: r.stderr };
}

const ci = (pkgs: string) =>
  `#!/usr/bin/env bash\napt-get install -y -qq --no-install-recommends \\\n  ${pkgs} >/dev/null\n`;
const spawning = `import { run } from '../support/proc.js';\nawait lab.exec(\n  host,\n  'made-up-server',\n  []);\nawait run('made-up-cli', ['x']);\n`;
const registry = (programs: Record<string, string>, python: Record<string, string> = {}) =>
  JSON.stringify({ programs, pythonModules: python });

test('a package the tests need that .ci/run does not install fails the check, naming it', async (t) => {
  const dir = await tree(t, {
    '.ci/run': ci('made-up-tools'),
    'test/programs.json': registry({ 'made-up-server': 'made-up-broker', 'made-up-cli': 'made-up-tools' }),
    'test/e2e/x.test.ts': spawning,
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /\.ci\/run: does not install 'made-up-broker' \(needed for program 'made-up-server'\)/,
  );
  assert.doesNotMatch(r.stderr, /made-up-tools/);
});

test('a program a test runs that is not listed fails the check with its file and line', async (t) => {
  const dir = await tree(t, {
    '.ci/run': ci('made-up-tools'),
    'test/programs.json': registry({ 'made-up-cli': 'made-up-tools' }),
    'test/e2e/x.test.ts': spawning,
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /test\/e2e\/x\.test\.ts:2: runs 'made-up-server'/);
});

test('a python module the test clients import must be listed', async (t) => {
  const dir = await tree(t, {
    '.ci/run': ci('made-up-tools'),
    'test/programs.json': registry({ 'made-up-cli': 'made-up-tools' }),
    'test/support/client.py': 'import json\nfrom madeup.utils import Thing\n',
  });
  const r = check(dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /test\/support\/client\.py:2: imports python module 'madeup'/);
});

test('when everything is listed and installed by .ci/run the check passes', async (t) => {
  const dir = await tree(t, {
    '.ci/run': ci('made-up-tools made-up-broker python3-madeup'),
    'test/programs.json': registry(
      { 'made-up-server': 'made-up-broker', 'made-up-cli': 'made-up-tools' },
      { madeup: 'python3-madeup' },
    ),
    'test/e2e/x.test.ts': spawning,
    'test/support/client.py': 'import json\nfrom madeup.utils import Thing\n',
  });
  const r = check(dir);
  assert.equal(r.status, 0, r.stderr);
});

test("this repository's own tests: every program they run is installed by .ci/run", () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
