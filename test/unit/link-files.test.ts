/**
 * A link's certificate folder is replaced as a whole (src/site/grants/link-files.ts); what a writer killed between
 * its two renames leaves (no folder under the link's name, the old one aside) is put back when the site loads,
 * and unfinished temporary folders are never read.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { installLinkFiles, recoverLinkFolders } from '../../src/site/grants/link-files.js';
import { sitePaths } from '../../src/site/grants/state.js';
import { makeTempRoot } from '../support/sites.js';

const files = (v: string) => [
  { name: 'ca.crt', data: `ca ${v}` },
  { name: 'client.key', data: `key ${v}`, mode: 0o600 },
];

test('installLinkFiles replaces the folder; a failing commit puts the old one back', async (t) => {
  const root = await makeTempRoot('linkfiles');
  t.after(root.remove);
  await installLinkFiles(root.dir, 'peer', files('1'), async () => undefined);
  const dir = sitePaths(root.dir).linkDir('peer');
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), 'ca 1');
  await installLinkFiles(root.dir, 'peer', files('2'), async () => undefined);
  assert.equal(await readFile(join(dir, 'client.key'), 'utf8'), 'key 2');
  await assert.rejects(
    installLinkFiles(root.dir, 'peer', files('3'), async () => {
      throw new Error('no Link');
    }),
    /no Link/,
  );
  assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), 'ca 2');
  assert.deepEqual(await readdir(join(dir, '..')), ['peer'], 'nothing else left');
});

test('recoverLinkFolders puts back the old folder of an interrupted swap and drops a superseded one', async (t) => {
  const root = await makeTempRoot('linkfiles');
  t.after(root.remove);
  await installLinkFiles(root.dir, 'a', files('old'), async () => undefined);
  await installLinkFiles(root.dir, 'b', files('new'), async () => undefined);
  const parent = join(sitePaths(root.dir).linkDir('a'), '..');
  // killed after "move the old folder aside", before "rename the new one into place"
  await rename(join(parent, 'a'), join(parent, '.a.old-0123ab'));
  await mkdir(join(parent, '.a.tmp-0123ab'));
  await writeFile(join(parent, '.a.tmp-0123ab', 'ca.crt'), 'half');
  // killed after the new folder was in place, before the old one was removed
  await mkdir(join(parent, '.b.old-4567cd'));
  await recoverLinkFolders(root.dir);
  assert.equal(await readFile(join(parent, 'a', 'ca.crt'), 'utf8'), 'ca old');
  assert.equal(await readFile(join(parent, 'b', 'ca.crt'), 'utf8'), 'ca new');
  assert.deepEqual((await readdir(parent)).sort(), ['.a.tmp-0123ab', 'a', 'b']);
  await recoverLinkFolders(join(root.dir, 'missing')); // nothing to do, no failure
});
