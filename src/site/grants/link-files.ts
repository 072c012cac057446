/**
 * The certificate folder of a redeemed link (runtime/links/<name>/: ca.crt, client.crt, client.key, grant.json),
 * replaced as a whole: the new files are written and fsynced in `.<name>.tmp-<tag>`, the old folder is moved to
 * `.<name>.old-<tag>`, the new one renamed into place, the old one removed. A process killed between the two
 * renames leaves no folder under the link's name: `recoverLinkFolders` (run whenever a site directory is loaded)
 * puts the old one back, so a link always has a complete set of files, old or new.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir, writeFileAtomic } from '../atomic.js';
import { sitePaths } from './state.js';

export interface LinkFile {
  name: string;
  data: string;
  mode?: number;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes a link's folder as a whole, then runs `commit` (which writes the Link resource). When `commit` fails
 * the previous folder (if any) is back in place. Rejects with whatever failed; nothing half-written is left
 * under the link's name.
 */
export async function installLinkFiles(
  siteDir: string,
  link: string,
  files: readonly LinkFile[],
  commit: () => Promise<void>,
): Promise<void> {
  const final = sitePaths(siteDir).linkDir(link);
  const parent = dirname(final);
  await mkdir(parent, { recursive: true });
  const tag = randomBytes(6).toString('hex');
  const tmp = join(parent, `.${link}.tmp-${tag}`);
  const old = join(parent, `.${link}.old-${tag}`);
  let movedOld = false;
  try {
    await mkdir(tmp, { mode: 0o700 });
    for (const f of files) await writeFileAtomic(join(tmp, f.name), f.data, f.mode);
    try {
      await rename(final, old);
      movedOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rename(tmp, final);
    await syncDir(parent);
    try {
      await commit();
    } catch (e) {
      await rm(final, { recursive: true, force: true });
      if (movedOld) await rename(old, final).catch(() => undefined);
      movedOld = false;
      throw e;
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (movedOld) await rename(old, final).catch(() => undefined);
    throw e;
  }
  if (movedOld) await rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Finishes what a killed installLinkFiles left: an old folder whose link has none is put back; an old folder
 * next to a complete new one is removed. Unfinished `.tmp-` folders are left alone (a writer may still be
 * busy with one) and never read. Never fails: a site directory without runtime/links has nothing to do.
 */
export async function recoverLinkFolders(siteDir: string): Promise<void> {
  const parent = dirname(sitePaths(siteDir).linkDir('x'));
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(.+)\.old-[0-9a-f]+$/.exec(n);
    if (!m) continue;
    const final = join(parent, m[1]!);
    try {
      if (await exists(final)) await rm(join(parent, n), { recursive: true, force: true });
      else {
        await rename(join(parent, n), final);
        await syncDir(parent);
      }
    } catch {
      // another process got there first
    }
  }
}
