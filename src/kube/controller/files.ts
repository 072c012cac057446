/**
 * Secret keys as files under the state folder (the `runtime/` layout of a site directory), written before the
 * router reads them and again when a Secret changes. A file is rewritten only when its content differs; keys are
 * written with mode 0600. Returns the paths that changed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../../site/atomic.js';
import type { SecretFile, SecretObject } from '../reconcile/index.js';

export async function writeSecretFiles(
  stateDir: string,
  files: readonly SecretFile[],
  secrets: readonly SecretObject[],
): Promise<string[]> {
  const byName = new Map(secrets.map((s) => [s.metadata.name, s]));
  const changed: string[] = [];
  for (const f of files) {
    const b64 = byName.get(f.secret)?.data?.[f.key];
    if (b64 === undefined) continue;
    const path = isAbsolute(f.path) ? f.path : resolve(stateDir, f.path);
    const rel = relative(stateDir, path);
    if (rel.startsWith('..') || isAbsolute(rel)) continue; // never outside the state folder
    const data = Buffer.from(b64, 'base64');
    const now = await readFile(path).catch(() => undefined);
    if (now?.equals(data)) continue;
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data, 0o600);
    changed.push(path);
  }
  return changed;
}
