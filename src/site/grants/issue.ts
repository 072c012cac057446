/**
 * Issuing access tokens at the accepting site (`caravan token issue`), reading and writing token files, and the
 * site's CA material (`caravan site create`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import {
  API_VERSION,
  DEFAULTS,
  ResourceError,
  parseDuration,
  parseResources,
  toYaml,
  validateResourceOf,
  type AccessGrantResource,
  type AccessTokenResource,
  type SiteResource,
} from '../../api/index.js';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { writeFileAtomic } from '../atomic.js';
import { loadCerts } from '../certs/lazy.js';
import { readSiteResources, writeResource, resourceFileName } from '../site-dir.js';
import { generateCode, grantUrl, hashCode, tokenHosts } from './logic.js';
import {
  fileExists,
  readJson,
  sitePath,
  sitePaths,
  writeJson,
  type GrantServerInfo,
  type RedemptionState,
} from './state.js';

export interface IssueTokenOptions {
  /** How many sites may redeem the token; default 1. */
  redemptions?: number;
  /** How long the token can be redeemed, as a duration; default `15m`. */
  expiry?: string;
  /** Cost of links made with the token; default 1. */
  cost?: number;
  /** Host the token's URL names (the first) and links dial; default from the Site (see tokenHosts). */
  hosts?: string[];
  /** Grant (and token) name; default `<site>-<random>`. */
  name?: string;
  /** Lifetime of the issued link certificates (renewed automatically); default 30 days. */
  certLifetime?: string;
}

/** The Site resource of a site directory; SITE_NOT_FOUND when there is none. */
export async function readSite(dir: string): Promise<SiteResource> {
  const all = await readSiteResources(dir);
  const site = all.find((s) => s.resource.kind === 'Site')?.resource as SiteResource | undefined;
  if (!site) {
    throw new CaravanError(ErrorCodes.SITE_NOT_FOUND, `${dir} has no Site resource in resources/`);
  }
  return site;
}

function noLinkAccess(site: string): CaravanError {
  return new CaravanError(
    ErrorCodes.NO_LINK_ACCESS,
    `site "${site}" does not accept links: create the site with --link-access, or add spec.linkAccess to its Site resource`,
  );
}

/**
 * Creates an AccessGrant in resources/ (only a hash of its one-time code is stored; redemption counts live in
 * runtime/grants/) and returns it with the AccessToken to hand to the other site. Refuses with NO_LINK_ACCESS on
 * a site that does not accept links, CERT when the site has no CA key, SITE_NOT_RUNNING when the grant port is
 * chosen at router start (grantPort 0) and the router is not running.
 */
export async function issueToken(
  siteDir: string,
  opts: IssueTokenOptions = {},
): Promise<{ grant: AccessGrantResource; token: AccessTokenResource }> {
  const dir = resolve(siteDir);
  const site = await readSite(dir);
  const siteName = site.metadata.name;
  const la = site.spec.linkAccess;
  if (!la) throw noLinkAccess(siteName);
  const paths = sitePaths(dir);
  const caPath = sitePath(dir, site.spec.tls?.ca ?? DEFAULTS.siteTls.ca);
  let ca: string;
  try {
    ca = await readFile(caPath, 'utf8');
  } catch (e) {
    throw new CaravanError(
      ErrorCodes.CERT,
      `site "${siteName}" has no CA certificate (${caPath}): ${errorMessage(e)}`,
    );
  }
  if (!(await fileExists(paths.caKey))) {
    throw new CaravanError(
      ErrorCodes.CERT,
      `site "${siteName}" cannot issue link certificates: its CA key ${paths.caKey} is missing`,
    );
  }
  let port = la.grantPort;
  if (port === 0) {
    const info = await readJson<GrantServerInfo>(paths.grantServer).catch(() => undefined);
    if (!info?.port) {
      throw new CaravanError(
        ErrorCodes.SITE_NOT_RUNNING,
        `site "${siteName}" picks its grant port when the router starts (spec.linkAccess.grantPort is 0): start the site first, or set a fixed grantPort`,
      );
    }
    port = info.port;
  }
  const hosts = tokenHosts(la, networkInterfaces(), opts.hosts);
  const host = hosts[0] as string;
  const name = opts.name ?? `${siteName.slice(0, 50).replace(/-+$/, '')}-${randomBytes(4).toString('hex')}`;
  const expiry = opts.expiry ?? DEFAULTS.grantExpiry;
  let expiryMs: number;
  try {
    expiryMs = parseDuration(expiry);
  } catch (e) {
    throw new CaravanError(ErrorCodes.USAGE, `invalid expiry: ${errorMessage(e)}`);
  }
  const code = generateCode();
  const codeHash = hashCode(code);
  const now = Date.now();
  const expiresAt = new Date(now + expiryMs).toISOString();
  const url = grantUrl(host, port, name);
  let grant: AccessGrantResource;
  try {
    grant = validateResourceOf(
      'AccessGrant',
      {
        apiVersion: API_VERSION,
        kind: 'AccessGrant',
        metadata: { name },
        spec: {
          redemptions: opts.redemptions ?? DEFAULTS.grantRedemptions,
          expiry,
          cost: opts.cost ?? DEFAULTS.linkCost,
          codeHash,
          ...(opts.certLifetime !== undefined ? { certLifetime: opts.certLifetime } : {}),
        },
        status: { url, ca, expiresAt },
      },
      'token issue',
    );
  } catch (e) {
    if (e instanceof ResourceError) {
      throw new CaravanError(ErrorCodes.USAGE, e.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    }
    throw e;
  }
  const file = await writeResource(dir, grant);
  const state: RedemptionState = { codeHash, createdAt: new Date(now).toISOString(), expiresAt, redeemed: 0 };
  try {
    await writeJson(paths.redemption(name), state);
  } catch (e) {
    await unlink(file).catch(() => undefined);
    throw e;
  }
  const token: AccessTokenResource = {
    apiVersion: API_VERSION,
    kind: 'AccessToken',
    metadata: { name },
    spec: {
      url,
      code,
      ca,
      ...(opts.cost !== undefined ? { cost: opts.cost } : {}),
      expiresAt,
      redemptions: grant.spec.redemptions,
    },
  };
  return { grant, token };
}

/** Where issueToken wrote the grant (relative to the site directory). */
export function grantFileName(name: string): string {
  return resourceFileName('AccessGrant', name);
}

/** Writes a token file atomically, readable by its owner only (it holds a secret). */
export async function writeTokenFile(path: string, token: AccessTokenResource): Promise<void> {
  await writeFileAtomic(resolve(path), toYaml(token), 0o600);
}

function tokenInvalid(message: string, cause?: unknown): CaravanError {
  return new CaravanError(ErrorCodes.TOKEN_INVALID, message, cause === undefined ? undefined : { cause });
}

/** Parses a token file's text; TOKEN_INVALID (one line, naming the problem) unless it is one valid AccessToken. */
export function parseToken(text: string, source: string): AccessTokenResource {
  let docs;
  try {
    docs = parseResources(text, source);
  } catch (e) {
    const first = e instanceof ResourceError ? e.issues[0] : undefined;
    const what = first ? [first.path, first.message].filter(Boolean).join(': ') : errorMessage(e);
    throw tokenInvalid(`${source} is not a valid access token: ${what}`, e);
  }
  const tokens = docs.filter((d) => d.kind === 'AccessToken');
  if (tokens.length !== 1 || docs.length !== 1) {
    throw tokenInvalid(`${source} is not a valid access token: expected one AccessToken document`);
  }
  return tokens[0] as AccessTokenResource;
}

/** Reads a token file; TOKEN_INVALID when it cannot be read or is not an AccessToken. */
export async function readTokenFile(path: string): Promise<AccessTokenResource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw tokenInvalid(`cannot read token file ${path}: ${errorMessage(e)}`, e);
  }
  return parseToken(text, path);
}

/**
 * Makes sure a site that accepts links has its CA (runtime/ca.crt + runtime/ca.key, ECDSA P-256) and a server
 * certificate issued by it (runtime/server.crt + runtime/server.key). Existing files are kept. Returns which
 * files were created.
 */
export async function ensureSiteCa(
  siteDir: string,
  siteName: string,
  opts: { dnsNames?: string[]; ips?: string[]; routerId?: string } = {},
): Promise<{ created: string[] }> {
  const dir = resolve(siteDir);
  const p = sitePaths(dir);
  await mkdir(resolve(dir, 'runtime'), { recursive: true });
  const created: string[] = [];
  let caCert: string;
  let caKey: string;
  if ((await fileExists(p.caCert)) && (await fileExists(p.caKey))) {
    caCert = await readFile(p.caCert, 'utf8');
    caKey = await readFile(p.caKey, 'utf8');
  } else if (await fileExists(p.caCert)) {
    return { created }; // a CA whose key is kept elsewhere: nothing to do here
  } else {
    const ca = await (await loadCerts()).createCa({ commonName: `${siteName} site CA` });
    await writeFileAtomic(p.caKey, ca.keyPem, 0o600);
    await writeFileAtomic(p.caCert, ca.certPem);
    caCert = ca.certPem;
    caKey = ca.keyPem;
    created.push(p.caCert, p.caKey);
  }
  if (!(await fileExists(p.serverCert)) || !(await fileExists(p.serverKey))) {
    const server = await (
      await loadCerts()
    ).issueCertificate(
      { certPem: caCert, keyPem: caKey },
      {
        commonName: opts.routerId ?? siteName,
        subject: { commonName: opts.routerId ?? siteName, organization: siteName },
        usage: 'server',
        dnsNames: opts.dnsNames ?? [],
        ips: opts.ips ?? [],
      },
    );
    await writeFileAtomic(p.serverKey, server.keyPem, 0o600);
    await writeFileAtomic(p.serverCert, server.certPem);
    created.push(p.serverCert, p.serverKey);
  }
  return { created };
}
