/**
 * docs/cli.md's command reference is generated from the command registry: every command and option the CLI
 * knows appears in it, the committed file is current, and a change to a command's help makes it stale.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCaravanError } from '../../src/errors.js';
import {
  REFERENCE_BEGIN,
  REFERENCE_END,
  anchorOf,
  commandReference,
  spliceReference,
} from '../../src/cli/reference.js';
import { COMMANDS } from '../../src/cli/registry.js';
import type { CommandSpec } from '../../src/cli/command.js';

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

test('every visible command and each of its options is in the reference, with its examples', () => {
  const ref = commandReference();
  for (const c of COMMANDS.filter((x) => !x.hidden)) {
    assert.ok(ref.includes(`### caravan ${c.name}\n`), `section for ${c.name}`);
    assert.ok(ref.includes(`](#${anchorOf(c)})`), `index entry for ${c.name}`);
    for (const name of Object.keys(c.options ?? {}))
      assert.ok(ref.includes(`--${name}`), `${c.name} --${name}`);
    for (const e of c.examples) assert.ok(ref.includes(`\n${e}\n`), `example ${e}`);
  }
});

test('help text is escaped for Markdown: angle brackets, pipes in cells', () => {
  const cmd: CommandSpec = {
    name: 'x y',
    summary: 'pick a|b for <name>',
    description: 'files *.key stay',
    options: { mode: { type: 'string', value: 'A|B', help: 'one of a|b' } },
    examples: ['caravan x y --mode a'],
    run: () => Promise.resolve(),
  };
  const ref = commandReference([cmd]);
  assert.match(ref, /\| pick a\\\|b for \\<name> \|/);
  assert.match(ref, /files \\\*\.key stay/);
  assert.match(ref, /\| `--mode A\\\|B` \| one of a\\\|b \|/);
});

test('splicing replaces exactly the marked part and refuses a file without the markers', () => {
  const doc = `# head\n\n${REFERENCE_BEGIN}\nold\n${REFERENCE_END}\n\ntail\n`;
  const out = spliceReference(doc, 'NEW');
  assert.equal(out, '# head\n\nNEW\n\ntail\n');
  assert.throws(
    () => spliceReference('# no markers\n', 'NEW'),
    (e: unknown) => isCaravanError(e) && /markers/.test(e.message),
  );
  assert.throws(() => spliceReference(`${REFERENCE_END}\n${REFERENCE_BEGIN}\n`, 'NEW'));
});

function checkGenerated(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repo, 'scripts', 'check-generated.mjs'), ...args], (err, _out, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

test('the committed docs/cli.md is current; an edited reference is reported stale', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'caravan-cli-ref-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await cp(join(repo, 'deploy'), join(root, 'deploy'), { recursive: true });
  await cp(join(repo, 'docs'), join(root, 'docs'), { recursive: true });
  assert.equal((await checkGenerated(['--root', root])).code, 0, 'current as committed');
  const path = join(root, 'docs', 'cli.md');
  const text = await readFile(path, 'utf8');
  assert.ok(text.includes('### caravan site create'), 'the committed file holds the generated reference');
  await writeFile(path, text.replace('### caravan site create', '### caravan site make'));
  const r = await checkGenerated(['--root', root]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /docs\/cli\.md: stale/);
});
