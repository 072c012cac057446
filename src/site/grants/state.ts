/**
 * Runtime state of access grants at the accepting site (under `runtime/`, never in the user-editable
 * `resources/`), and of redeemed links at the dialing site. Every write is atomic (write + rename). See
 * docs/design/sites.md for the layout.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { writeFileAtomic } from '../atomic.js';
import { normalizeSerial } from './logic.js';

export const RUNTIME = 'runtime';

export const sitePaths = (dir: string) => ({
  caCert: join(dir, RUNTIME, 'ca.crt'),
  caKey: join(dir, RUNTIME, 'ca.key'),
  serverCert: join(dir, RUNTIME, 'server.crt'),
  serverKey: join(dir, RUNTIME, 'server.key'),
  grantsDir: join(dir, RUNTIME, 'grants'),
  redemption: (grant: string) => join(dir, RUNTIME, 'grants', 'redemptions', `${grant}.json`),
  issued: join(dir, RUNTIME, 'grants', 'issued.json'),
  revoked: join(dir, RUNTIME, 'grants', 'revoked.json'),
  grantServer: join(dir, RUNTIME, 'grants', 'server.json'),
  linkDir: (link: string) => join(dir, RUNTIME, 'links', link),
});

/** Redemption count of one grant (runtime/grants/redemptions/<grant>.json). */
export interface RedemptionState {
  /** Hash of the grant's code when this state was made: a re-issued grant of the same name starts afresh. */
  codeHash: string;
  /** RFC 3339 */
  createdAt: string;
  /** RFC 3339 */
  expiresAt: string;
  redeemed: number;
}

/** A link certificate this site's CA issued (runtime/grants/issued.json). */
export interface IssuedCert {
  /** normalized serial number */
  serial: string;
  /** identity of the link across renewals: set at redemption, kept by every renewal */
  id: string;
  /** the redeeming site (certificate organization; before router identities, its common name) */
  site: string;
  /**
   * the redeeming router's id (certificate common name), proven with its key at redemption and at every
   * renewal; absent from records made before router identities (the next renewal adds it)
   */
  routerId?: string;
  /** the Link name at the redeeming site, as it reported it */
  link?: string;
  grant: string;
  issuedAt: string;
  notAfter: string;
  lifetimeMs: number;
}

export interface Revocation {
  target: string;
  at: string;
  /** link identities revoked (every certificate of these, including future renewals, is refused) */
  ids: string[];
  serials: string[];
  sites: string[];
}

/** Written by the running router: where its grant server listens. */
export interface GrantServerInfo {
  host: string;
  port: number;
  pid: number;
}

/** Stored next to a redeemed link's certificates (runtime/links/<name>/grant.json): how to renew them. */
export interface LinkGrantInfo {
  grantUrl: string;
  renewUrl: string;
  /** the accepting site */
  site?: string;
  /** common name of the link certificate (the redeeming router's id; the site name before router identities) */
  commonName: string;
  /** the accepting site's router id, which the link's server certificate must name (absent from older grants) */
  peerRouterId?: string;
  lifetimeMs: number;
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot read ${path}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CaravanError(ErrorCodes.CONFIG_IO, `${path} is not valid JSON: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

export async function writeJson(path: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true }).catch((e: unknown) => {
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot create ${dirname(path)}: ${errorMessage(e)}`, {
      cause: e,
    });
  });
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function readIssued(dir: string): Promise<IssuedCert[]> {
  return (await readJson<{ certs?: IssuedCert[] }>(sitePaths(dir).issued))?.certs ?? [];
}

export async function readRevocations(dir: string): Promise<Revocation[]> {
  return (await readJson<{ revocations?: Revocation[] }>(sitePaths(dir).revoked))?.revocations ?? [];
}

/** What the link acceptor and the renewal route refuse. */
export class RevocationSet {
  readonly ids = new Set<string>();
  readonly serials = new Set<string>();
  private readonly bySerial = new Map<string, IssuedCert>();

  constructor(issued: IssuedCert[], revocations: Revocation[]) {
    for (const c of issued) this.bySerial.set(normalizeSerial(c.serial), c);
    for (const r of revocations) {
      for (const id of r.ids) this.ids.add(id);
      for (const s of r.serials) this.serials.add(normalizeSerial(s));
    }
  }

  static async load(dir: string): Promise<RevocationSet> {
    return new RevocationSet(await readIssued(dir), await readRevocations(dir));
  }

  /** The issued-certificate record of a serial, when this site issued it through a grant. */
  record(serial: string): IssuedCert | undefined {
    return this.bySerial.get(normalizeSerial(serial));
  }

  /** Why a certificate with this serial is refused, or undefined when it is not revoked. */
  refusal(serial: string): string | undefined {
    const s = normalizeSerial(serial);
    const rec = this.bySerial.get(s);
    if (this.serials.has(s) || (rec && this.ids.has(rec.id))) {
      return `certificate revoked (${rec ? `site ${rec.site}, ` : ''}serial ${s}) [${ErrorCodes.LINK_REVOKED}]`;
    }
    return undefined;
  }
}

/** Resolves a path of a site's resource (relative to the site directory) to an absolute one. */
export function sitePath(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}
