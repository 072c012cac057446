import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../../site/atomic.js';
import { type CommandSpec } from '../command.js';
import { routerState } from '../router.js';
import { contextSite, type SiteRef } from '../sites.js';
import { tarArchive, type TarEntry } from '../tar.js';
import { VERSION } from '../version.js';

/** How much of each log file goes into a dump (its end). */
const LOG_TAIL_BYTES = 2 * 1024 * 1024;

/** Files never put into a dump: private keys and sockets. */
export function isSecretFile(path: string): boolean {
  return /\.key$/i.test(path) || /\.sock$/i.test(path) || /(^|\/)\.[^/]*\.tmp-[0-9a-f]+$/.test(path);
}

/** Removes secrets from a text: PEM private keys, one-time codes of grants and tokens, passwords in URLs (proxies). */
export function redact(text: string): string {
  return text
    .replace(
      /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
      '<private key removed>',
    )
    .replace(/^(\s*(?:code|codeHash)\s*:\s*).+$/gm, '$1<redacted>')
    .replace(/("(?:code|codeHash)"\s*:\s*)"[^"]*"/g, '$1"<redacted>"')
    .replace(/(\bhttps?:\/\/[^:@/\s"']+:)[^@/\s"']+@/g, '$1<redacted>@');
}

async function walk(dir: string, base: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

/** The entries of a debug dump of a site (resources, runtime state without keys, status, log tails). */
export async function dumpEntries(site: SiteRef): Promise<TarEntry[]> {
  const root = `caravan-dump-${site.name}`;
  const entries: TarEntry[] = [];
  const add = (name: string, data: string | Buffer): void => {
    entries.push({ name: `${root}/${name}`, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
  };
  const files = await walk(site.dir, site.dir);
  const listing: string[] = [];
  for (const f of files) {
    const st = await stat(join(site.dir, f)).catch(() => undefined);
    listing.push(`${(st?.mode ?? 0).toString(8).slice(-4)} ${String(st?.size ?? 0).padStart(10)} ${f}`);
  }
  const state = await routerState(site.dir);
  add(
    'info.json',
    JSON.stringify(
      {
        site: site.name,
        dir: site.dir,
        createdAt: new Date().toISOString(),
        cli: VERSION,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        running: state.running,
        ...(state.pid !== undefined ? { pid: state.pid } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  add('files.txt', listing.join('\n') + '\n');
  if (state.status) add('status.json', redact(JSON.stringify(state.status, null, 2)) + '\n');
  for (const f of files) {
    if (isSecretFile(f)) continue;
    const top = f.split('/')[0];
    if (top !== 'resources' && top !== 'runtime' && top !== 'logs') continue;
    let data = await readFile(join(site.dir, f)).catch(() => undefined);
    if (!data) continue;
    if (top === 'logs' && data.length > LOG_TAIL_BYTES) data = data.subarray(data.length - LOG_TAIL_BYTES);
    const text = data.toString('utf8');
    // belt and braces: a private key under any other name never goes in either
    if (/PRIVATE KEY-----/.test(text) && top !== 'logs') continue;
    add(f, redact(text));
  }
  return entries;
}

export const debugDump: CommandSpec = {
  name: 'debug dump',
  summary: 'write a tarball of resources, statuses and recent logs (never private keys)',
  synopsis: '<file>',
  description:
    'FILE ending in .gz or .tgz is gzip-compressed. Private keys (*.key), sockets and one-time codes are\n' +
    'left out; share the file with whoever helps you debug.',
  args: { min: 1, max: 1 },
  examples: ['caravan debug dump west-debug.tar.gz'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const file = resolve(ctx.cwd, ctx.args[0] as string);
    const entries = await dumpEntries(site);
    let data = tarArchive(entries);
    if (/\.(gz|tgz)$/i.test(file)) data = gzipSync(data);
    await writeFileAtomic(file, data, 0o600);
    ctx.out.emit({ site: site.name, file, files: entries.map((e) => e.name), bytes: data.length }, () =>
      ctx.out.line(`Wrote ${ctx.args[0]} (${entries.length} files, ${data.length} bytes; no private keys)`),
    );
  },
};
