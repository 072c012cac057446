import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TARGETS, loadTarget } from '../fuzz/targets/index.js';

// Every committed seed and every input that once crashed a parser (test/fuzz/regressions/<target>/) goes through
// its fuzz target on each test run, without the fuzzing engine: a parser change that brings a crash back fails here.
const root = new URL('../../../', import.meta.url).pathname;

function inputs(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

for (const name of TARGETS) {
  test(`fuzz target ${name}: seed corpus and regression inputs pass`, async () => {
    const target = await loadTarget(name);
    const seeds = inputs(join(root, 'test', 'fuzz', 'corpus', name));
    assert.ok(seeds.length > 0, `no seed corpus in test/fuzz/corpus/${name}`);
    for (const file of [...seeds, ...inputs(join(root, 'test', 'fuzz', 'regressions', name))]) {
      await target.fuzz(readFileSync(file));
    }
    // The committed seeds are the targets' real encodings: regenerating them (npm run fuzz -- --write-seeds)
    // gives the same set, except grant-request whose CSR has a fresh key each time.
    if (name !== 'grant-request')
      assert.equal((await target.seeds()).length, seeds.filter((f) => f.includes('seed-')).length);
  });
}
