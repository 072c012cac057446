/**
 * Atomic file writes (docs/design/sites.md): write a temporary file in the same directory, fsync it, rename it over the
 * target, fsync the directory. Readers see the old file or the new one, never half a file, even after a crash.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';

/** Whether a file name is one of writeFileAtomic's temporary files (directory scanners skip these). */
export function isAtomicTempFile(name: string): boolean {
  return /^\..+\.tmp-[0-9a-f]+$/.test(name);
}

/**
 * Writes `data` to `path` atomically. `mode` (e.g. 0o600 for private keys) is applied to the new file exactly
 * (not subject to the umask); without it the file gets 0o666 minus the umask. The directory must exist.
 * Rejects with CaravanError(CONFIG_IO).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', mode ?? 0o666);
    created = true;
    try {
      if (mode !== undefined) await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => {});
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot write ${path}: ${errorMessage(e)}`, { cause: e });
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename in it survives a crash; best effort (not every platform allows it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directories cannot be opened/fsynced on some platforms; the rename is still atomic.
  }
}
