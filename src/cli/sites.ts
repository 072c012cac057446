/**
 * Where sites live and which one a command acts on. Home: `--home`, else `$CARAVAN_HOME`, else
 * `$XDG_DATA_HOME/caravan`, else `~/.local/share/caravan`; sites are `<home>/sites/<name>`. With one site it is
 * used; with several, `--site NAME` / `$CARAVAN_SITE` chooses (else SITE_AMBIGUOUS).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { NAME_PATTERN, parseResources, type SiteResource } from '../api/index.js';
import { CaravanError, ErrorCodes } from '../errors.js';
import { SITE_SUBDIRS } from '../site/site-dir.js';
import type { Context } from './command.js';

export interface SiteRef {
  name: string;
  /** Absolute site directory. */
  dir: string;
}

/** The Caravan home directory for these options and environment. */
export function caravanHome(
  homeFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): string {
  if (homeFlag) return resolve(cwd, homeFlag);
  if (env.CARAVAN_HOME) return resolve(cwd, env.CARAVAN_HOME);
  if (env.XDG_DATA_HOME) return join(resolve(env.XDG_DATA_HOME), 'caravan');
  return join(env.HOME || homedir(), '.local', 'share', 'caravan');
}

export function sitesRoot(home: string): string {
  return join(home, 'sites');
}

export function siteDirOf(home: string, name: string): string {
  return join(sitesRoot(home), name);
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Names of the sites under `home` (directories of `<home>/sites` that have a resources/ folder), sorted. */
export async function listSites(home: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(sitesRoot(home));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (await isDir(join(sitesRoot(home), n, SITE_SUBDIRS.resources))) out.push(n);
  }
  return out;
}

/** Picks the site to act on: `wanted` if given, else the only site; errors name the choices. */
export async function resolveSite(home: string, wanted: string | undefined): Promise<SiteRef> {
  const sites = await listSites(home);
  if (wanted !== undefined) {
    if (!NAME_PATTERN.test(wanted)) {
      throw new CaravanError(ErrorCodes.USAGE, `invalid site name '${wanted}'`);
    }
    if (!sites.includes(wanted)) {
      const have = sites.length ? ` (sites here: ${sites.join(', ')})` : '';
      throw new CaravanError(
        ErrorCodes.SITE_NOT_FOUND,
        `no site named '${wanted}' in ${sitesRoot(home)}${have}`,
      );
    }
    return { name: wanted, dir: siteDirOf(home, wanted) };
  }
  if (sites.length === 0) {
    throw new CaravanError(
      ErrorCodes.SITE_NOT_FOUND,
      `no site in ${sitesRoot(home)}: create one with 'caravan site create NAME' (or choose another --home)`,
    );
  }
  if (sites.length > 1) {
    throw new CaravanError(
      ErrorCodes.SITE_AMBIGUOUS,
      `${sites.length} sites in ${sitesRoot(home)} (${sites.join(', ')}): choose one with --site NAME or CARAVAN_SITE`,
    );
  }
  const name = sites[0] as string;
  return { name, dir: siteDirOf(home, name) };
}

/** The site a command acts on (from its context). */
export function contextSite(ctx: Context, explicit?: string): Promise<SiteRef> {
  return resolveSite(caravanHome(ctx.global.home, ctx.env, ctx.cwd), explicit ?? ctx.global.site);
}

/**
 * The Site resource of a site directory (the one in `resources/site-<name>.yaml`, or whichever file holds it).
 * Rejects with INVALID_RESOURCE / CONFIG_IO.
 */
export async function readSiteResource(dir: string): Promise<SiteResource> {
  const resDir = join(dir, SITE_SUBDIRS.resources);
  let files: string[];
  try {
    files = (await readdir(resDir)).filter((f) => /\.ya?ml$/i.test(f) && !f.startsWith('.')).sort();
  } catch (e) {
    throw new CaravanError(ErrorCodes.CONFIG_IO, `${dir} is not a site directory (no resources/)`, {
      cause: e,
    });
  }
  // the canonical file first
  files.sort((a, b) => Number(b.startsWith('site-')) - Number(a.startsWith('site-')));
  for (const f of files) {
    const text = await readFile(join(resDir, f), 'utf8');
    let site: SiteResource | undefined;
    try {
      site = parseResources(text, `${SITE_SUBDIRS.resources}/${f}`).find(
        (r): r is SiteResource => r.kind === 'Site',
      );
    } catch (e) {
      if (/^kind:\s*Site\s*$/m.test(text)) throw e;
    }
    if (site) return site;
  }
  throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `no Site resource in ${resDir}`);
}
