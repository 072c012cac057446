/**
 * Secret keys as files under the router pod's state folder, and the bookkeeping shared with the mirror.
 *
 * Every file written from a Secret is recorded in `runtime/.secret-files.json` with the hash of the content the
 * file and the Secret last agreed on (`synced`). That record is what tells apart, for a file the router writes
 * (`mirror`), a change of the router's (file ≠ synced: it goes to the Secret, the file is never overwritten) from
 * a change made to the Secret by someone else (file = synced, Secret ≠ synced: the Secret's value is written).
 * A key missing from the Secret removes a plain file but never a mirrored one: the mirror puts the key back (a
 * grant-state Secret deleted by hand and recreated empty is refilled from the running pod). Files that are no
 * longer listed at all (a Link deleted) are removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { isAtomicTempFile, writeFileAtomic } from '../../site/atomic.js';
import { isStatePath } from '../reconcile/secrets.js';
import type { SecretFile, SecretObject } from '../reconcile/index.js';

/** Where the bookkeeping lives, relative to stateDir. */
export const MANIFEST = 'runtime/.secret-files.json';
/** What a Secret data key may be made of (the API server refuses anything else). */
export const SECRET_KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;

export interface ManifestEntry {
  secret: string;
  key: string;
  mirror: boolean;
  /** sha256 (hex) of the content the file and the Secret last agreed on */
  synced?: string;
}

export interface Manifest {
  files: Record<string, ManifestEntry>;
}

/** One file that a SecretFile stands for (a `dir` entry stands for many). */
export interface Target {
  /** relative to stateDir */
  rel: string;
  secret: string;
  key: string;
  mirror: boolean;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One state change at a time per state folder (materialize and mirror share the bookkeeping). */
const chains = new Map<string, Promise<unknown>>();
export function withStateLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(stateDir);
  const p = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = p.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return p;
}

export async function readManifest(stateDir: string): Promise<Manifest> {
  try {
    const m = JSON.parse(await readFile(join(stateDir, MANIFEST), 'utf8')) as Partial<Manifest>;
    return { files: m.files && typeof m.files === 'object' ? m.files : {} };
  } catch {
    return { files: {} };
  }
}

export async function writeManifest(stateDir: string, m: Manifest): Promise<void> {
  const path = join(stateDir, MANIFEST);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, JSON.stringify(m, null, 2) + '\n', 0o600);
}

export async function readLocal(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot read ${path}: ${errorMessage(e)}`, { cause: e });
  }
}

/** The Secret's value of a key as bytes (undefined when the Secret or the key is missing). */
export function secretValue(secrets: ReadonlyMap<string, SecretObject>, t: Target): Buffer | undefined {
  const v = secrets.get(t.secret)?.data?.[t.key];
  return v === undefined ? undefined : Buffer.from(v, 'base64');
}

/** Refuses, before anything is written, an entry whose path would leave stateDir. */
export function checkFiles(files: readonly SecretFile[]): void {
  const bad = files.filter(
    (f) => !isStatePath(f.path) || (f.dir !== true && !SECRET_KEY_PATTERN.test(f.key)),
  );
  if (bad.length > 0)
    throw new CaravanError(
      ErrorCodes.KUBE_INVALID,
      `refusing Secret files outside the state folder or with invalid keys: ${bad.map((f) => `${f.secret}/${f.key} -> ${f.path}`).join(', ')}`,
    );
}

const fileName = (name: string): boolean =>
  SECRET_KEY_PATTERN.test(name) && !name.startsWith('.') && !isAtomicTempFile(name);

/** The files of a folder the router wrote (for `dir` entries); none when it does not exist. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((d) => d.isFile() && fileName(d.name))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The files `files` stand for: plain entries as they are, `dir` entries as one file per key of the Secret with
 * the prefix, plus (with `local`) one per file the router has put into the folder.
 */
export async function expand(
  stateDir: string,
  files: readonly SecretFile[],
  secrets: ReadonlyMap<string, SecretObject>,
  local: boolean,
): Promise<{ targets: Target[]; dirs: string[] }> {
  const targets = new Map<string, Target>();
  const dirs: string[] = [];
  for (const f of files) {
    const mirror = f.mirror === true;
    if (f.dir !== true) {
      targets.set(f.path, { rel: f.path, secret: f.secret, key: f.key, mirror });
      continue;
    }
    const base = f.path.replace(/\/+$/, '');
    dirs.push(base);
    const names = new Set<string>();
    for (const k of Object.keys(secrets.get(f.secret)?.data ?? {}))
      if (k.startsWith(f.key) && fileName(k.slice(f.key.length))) names.add(k.slice(f.key.length));
    if (local) for (const n of await listDir(join(stateDir, base))) names.add(n);
    for (const n of [...names].sort())
      targets.set(`${base}/${n}`, { rel: `${base}/${n}`, secret: f.secret, key: f.key + n, mirror });
  }
  return { targets: [...targets.values()], dirs };
}

async function writeState(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, data, 0o600);
}

/**
 * Writes the Secret keys the pod needs as files under stateDir (atomic, mode 0600, folders 0700) and removes the
 * files of keys that are gone (see the rules above). Returns the absolute paths that changed. Rejects with
 * KUBE_INVALID (nothing written) when an entry's path would leave stateDir, CONFIG_IO when a file cannot be
 * written.
 */
export async function materializeSecretFiles(
  stateDir: string,
  files: readonly SecretFile[],
  secrets: readonly SecretObject[],
): Promise<string[]> {
  checkFiles(files);
  const dir = resolve(stateDir);
  const byName = new Map(secrets.map((s) => [s.metadata.name, s]));
  return withStateLock(dir, async () => {
    const manifest = await readManifest(dir);
    const { targets, dirs } = await expand(dir, files, byName, false);
    const changed: string[] = [];
    const next: Manifest = { files: {} };
    for (const t of targets) {
      const path = join(dir, t.rel);
      const want = secretValue(byName, t);
      const have = await readLocal(path);
      const synced = manifest.files[t.rel]?.synced;
      const entry: ManifestEntry = { secret: t.secret, key: t.key, mirror: t.mirror };
      if (!t.mirror) {
        if (want === undefined) {
          if (have !== undefined) {
            await rm(path, { force: true });
            changed.push(path);
          }
          continue;
        }
        if (have === undefined || !have.equals(want)) {
          await writeState(path, want);
          changed.push(path);
        }
        next.files[t.rel] = { ...entry, synced: sha256(want) };
        continue;
      }
      // a file the router writes: the Secret fills it when it is missing or unchanged since the last agreement
      if (want !== undefined && (have === undefined || (!have.equals(want) && sha256(have) === synced))) {
        await writeState(path, want);
        changed.push(path);
        next.files[t.rel] = { ...entry, synced: sha256(want) };
      } else if (want !== undefined && have?.equals(want)) {
        next.files[t.rel] = { ...entry, synced: sha256(want) };
      } else if (have !== undefined || synced !== undefined) {
        next.files[t.rel] = { ...entry, ...(synced !== undefined ? { synced } : {}) };
      }
    }
    // files no longer listed (a deleted Link, a Site without link access) go; a mirrored folder keeps what the
    // router wrote into it and the mirror has not copied yet
    for (const [rel, e] of Object.entries(manifest.files)) {
      if (next.files[rel] !== undefined) continue;
      if (e.mirror && dirs.some((d) => rel.startsWith(d + '/'))) {
        next.files[rel] = e;
        continue;
      }
      const path = join(dir, rel);
      if ((await readLocal(path)) !== undefined) {
        await rm(path, { force: true });
        changed.push(path);
      }
    }
    await writeManifest(dir, next);
    return changed.sort();
  });
}
