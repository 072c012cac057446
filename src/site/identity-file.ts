/**
 * The site's router identity key (runtime/identity.key, Ed25519, PKCS#8 PEM, mode 0600). Made once, by
 * `caravan site create` or at the router's first start; the router id is derived from it, so the id stays the
 * same across restarts and moves with the site directory.
 */
import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { generateIdentity, loadIdentity, type RouterIdentity } from '../identity.js';
import { writeFileAtomic } from './atomic.js';

export function identityKeyPath(siteDir: string): string {
  return join(siteDir, 'runtime', 'identity.key');
}

/** The site's identity, or undefined when it has none yet. Rejects when the file exists but is not a key. */
export async function readSiteIdentity(
  siteDir: string,
  siteName: string,
): Promise<RouterIdentity | undefined> {
  let pem: string;
  try {
    pem = await readFile(identityKeyPath(siteDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaravanError(
      ErrorCodes.CONFIG_IO,
      `cannot read ${identityKeyPath(siteDir)}: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
  return loadIdentity(siteName, pem);
}

/** The site's identity, made and stored if it has none. */
export async function ensureSiteIdentity(siteDir: string, siteName: string): Promise<RouterIdentity> {
  const existing = await readSiteIdentity(siteDir, siteName);
  if (existing) return existing;
  const path = identityKeyPath(siteDir);
  await mkdir(dirname(path), { recursive: true });
  const { identity, pem } = generateIdentity(siteName);
  await writeFileAtomic(path, pem, 0o600);
  return identity;
}
