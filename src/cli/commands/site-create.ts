import { mkdir, rm, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  API_VERSION,
  DEFAULTS,
  NAME_PATTERN,
  validateResourceOf,
  type SiteResource,
} from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { ensureSiteCa } from '../../site/grants/index.js';
import { writeResource } from '../../site/site-dir.js';
import {
  optBool,
  optList,
  optString,
  parseInteger,
  usageError,
  type CommandSpec,
  type Context,
} from '../command.js';
import { ensureSiteIdentity, readSiteIdentity } from '../../site/identity-file.js';
import { renderPairs } from '../output.js';
import { caravanHome, siteDirOf } from '../sites.js';
import { printsResource, printResource } from './common.js';

export const DEFAULT_GRANT_PORT = DEFAULTS.grantPort;

/** The Site resource `caravan site create` writes (validated, defaults applied). */
export function buildSite(
  name: string,
  o: {
    linkAccess?: boolean;
    edge?: boolean;
    bind?: string;
    port?: number;
    grantPort?: number;
    hosts?: string[];
    /** serve the web console on 127.0.0.1:N */
    consolePort?: number;
  },
): SiteResource {
  if (!NAME_PATTERN.test(name)) {
    throw usageError(
      `invalid site name '${name}': lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
    );
  }
  if (o.edge && o.linkAccess) {
    throw usageError('an edge site cannot accept links: use either --edge or --link-access');
  }
  if (!o.linkAccess) {
    const stray = (['bind', 'port', 'grantPort'] as const).find((k) => o[k] !== undefined);
    if (stray || o.hosts?.length) {
      const flag = stray === 'grantPort' ? 'grant-port' : (stray ?? 'host');
      throw usageError(`--${flag} only applies to a site that accepts links: add --link-access`);
    }
  }
  const spec: Record<string, unknown> = { mode: o.edge ? 'edge' : 'interior' };
  if (o.linkAccess) {
    spec.linkAccess = {
      host: o.bind ?? DEFAULTS.linkAccessHost,
      port: o.port ?? DEFAULTS.linkAccessPort,
      grantPort: o.grantPort ?? DEFAULT_GRANT_PORT,
      ...(o.hosts?.length ? { hosts: o.hosts } : {}),
    };
  }
  if (o.consolePort !== undefined) spec.console = { host: '127.0.0.1', port: o.consolePort };
  return validateResourceOf(
    'Site',
    { apiVersion: API_VERSION, kind: 'Site', metadata: { name }, spec },
    'site create',
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Names the server certificate is valid for: this host, loopback, the bind address and the public hosts. */
function serverNames(
  name: string,
  bind: string | undefined,
  hosts: string[],
): { dnsNames: string[]; ips: string[] } {
  const dns = new Set(['localhost', name]);
  const ips = new Set(['127.0.0.1', '::1']);
  try {
    dns.add(hostname());
  } catch {
    // no host name
  }
  for (const h of [...hosts, ...(bind && !['0.0.0.0', '::'].includes(bind) ? [bind] : [])]) {
    if (isIP(h)) ips.add(h);
    else dns.add(h);
  }
  return { dnsNames: [...dns].filter((d) => /^[A-Za-z0-9.-]+$/.test(d)), ips: [...ips] };
}

/**
 * Creates a site directory: resources/ with the Site, runtime/ with the router identity key (identity.key 0600),
 * the site CA (ca.crt, ca.key 0600) and the link-access server certificate naming the router id, logs/. Removes what it made when anything fails.
 */
export async function createSite(home: string, site: SiteResource, hosts: string[] = []): Promise<string> {
  const name = site.metadata.name;
  const dir = siteDirOf(home, name);
  if (await exists(dir)) {
    throw new CaravanError(ErrorCodes.SITE_EXISTS, `site ${name} already exists (${dir})`);
  }
  await mkdir(join(home, 'sites'), { recursive: true });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CaravanError(ErrorCodes.SITE_EXISTS, `site ${name} already exists (${dir})`);
    }
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot create ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    await mkdir(join(dir, 'resources'));
    await mkdir(join(dir, 'runtime'), { mode: 0o700 });
    await mkdir(join(dir, 'logs'), { mode: 0o700 });
    const la = site.spec.linkAccess;
    const identity = await ensureSiteIdentity(dir, name);
    await ensureSiteCa(dir, name, {
      ...serverNames(name, la?.host, [...hosts, ...(la?.hosts ?? [])]),
      routerId: identity.routerId,
    });
    await writeResource(dir, site);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export const siteCreate: CommandSpec = {
  name: 'site create',
  summary: 'create a site directory with its CA, certificates and Site resource',
  synopsis: '<name> [options]',
  description:
    'The site lives in <home>/sites/<name>. A site created with --link-access accepts links from other\n' +
    'sites (it issues tokens); others only dial out. An --edge site attaches to one interior site and is\n' +
    'never transit. It holds the site CA (ECDSA P-256, runtime/ca.key mode 0600), the router identity key\n' +
    '(runtime/identity.key, Ed25519, 0600), the router id derived from that key (<name>-<26 base32\n' +
    'characters>), a server certificate naming that id, and the Site resource.',
  args: { min: 1, max: 1 },
  options: {
    'link-access': { type: 'boolean', help: 'accept links from other sites and run the grant server' },
    edge: { type: 'boolean', help: 'make the router an edge router (cannot be combined with --link-access)' },
    bind: {
      type: 'string',
      value: 'HOST',
      help: `address to accept links on (default ${DEFAULTS.linkAccessHost})`,
    },
    port: {
      type: 'string',
      value: 'N',
      help: `link port (default ${DEFAULTS.linkAccessPort}; 0 picks a free port)`,
    },
    'grant-port': { type: 'string', value: 'N', help: `grant server port (default ${DEFAULT_GRANT_PORT})` },
    host: {
      type: 'string',
      multiple: true,
      value: 'H',
      help: 'name or address other sites reach this site at (put into tokens)',
    },
    'console-port': {
      type: 'string',
      value: 'N',
      help: 'serve the read-only web console and /metrics on 127.0.0.1:N (default: off)',
    },
  },
  examples: [
    'caravan site create hub --link-access --host hub.example.net',
    'caravan site create west --console-port 8080',
    'caravan site create laptop --edge -o yaml',
  ],
  async run(ctx: Context) {
    const name = ctx.args[0] as string;
    const hosts = optList(ctx, 'host');
    const site = buildSite(name, {
      linkAccess: optBool(ctx, 'link-access'),
      edge: optBool(ctx, 'edge'),
      bind: optString(ctx, 'bind'),
      port: parseInteger(optString(ctx, 'port'), '--port', 0, 65535),
      grantPort: parseInteger(optString(ctx, 'grant-port'), '--grant-port', 0, 65535),
      hosts,
      consolePort: parseInteger(optString(ctx, 'console-port'), '--console-port', 1, 65535),
    });
    if (printsResource(ctx)) return printResource(ctx, site);
    const home = caravanHome(ctx.global.home, ctx.env, ctx.cwd);
    const dir = await createSite(home, site, hosts);
    const routerId = (await readSiteIdentity(dir, name))?.routerId ?? name;
    const la = site.spec.linkAccess;
    ctx.out.emit({ name, dir, routerId, mode: site.spec.mode, linkAccess: la ?? null }, () => {
      ctx.out.line(`Site ${name} created in ${dir}`);
      const pairs: Array<[string, string]> = [
        ['router id', routerId],
        ['mode', site.spec.mode],
        ['link access', la ? `${la.host}:${la.port}` : 'no (this site only dials out)'],
      ];
      ctx.out.stdout.write(renderPairs(pairs.map(([k, v]) => [`  ${k}`, v])));
      ctx.out.line();
      ctx.out.line('Next:');
      ctx.out.line(`  caravan site start --detach${siteFlag(ctx, name)}`);
      if (la)
        ctx.out.line(
          `  caravan token issue ${name}.token${siteFlag(ctx, name)}   # let another site link here`,
        );
      else
        ctx.out.line(
          `  caravan token redeem FILE${siteFlag(ctx, name)}   # link to a site that issued a token`,
        );
    });
  },
};

/** ` --site NAME` when a site must be named explicitly in hints. */
export function siteFlag(ctx: Context, name: string): string {
  return ctx.global.site || ctx.env.CARAVAN_SITE ? '' : ` --site ${name}`;
}
