/**
 * Pure parts of access grants: code hashing and comparison, the redemption decision, expiry, serial numbers,
 * token URLs, the hosts a token names and when a link certificate is due for renewal. No I/O, no clocks: `now`
 * is passed in.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, type ErrorCode } from '../../errors.js';

/** Default lifetime of an issued link certificate. */
export const DEFAULT_LINK_CERT_LIFETIME_MS = 30 * 24 * 3600 * 1000;
/** A certificate is renewed once less than this fraction of its lifetime remains. */
export const RENEW_REMAINING_FRACTION = 1 / 3;

/** A new one-time code: 24 random bytes, base64url (32 characters, valid in a token's `spec.code`). */
export function generateCode(): string {
  return randomBytes(24).toString('base64url');
}

/** SHA-256 of a code, lowercase hex: what a grant stores instead of the code. */
export function hashCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Whether `code` matches a stored hash (or a clear-text code), in constant time. */
export function codeMatches(code: string, stored: { codeHash?: string; code?: string }): boolean {
  const got = Buffer.from(hashCode(code), 'hex');
  const candidates: string[] = [];
  if (stored.codeHash) candidates.push(stored.codeHash);
  if (stored.code) candidates.push(hashCode(stored.code));
  let ok = false;
  for (const h of candidates) {
    const want = Buffer.from(h, 'hex');
    if (want.length === got.length && timingSafeEqual(want, got)) ok = true;
  }
  return ok;
}

/** The state a redemption decision needs. */
export interface GrantCheckInput {
  /** The grant exists (its resource is in resources/). */
  exists: boolean;
  codeOk: boolean;
  /** ms since the epoch */
  expiresAt: number;
  redemptions: number;
  redeemed: number;
}

export interface GrantDecision {
  ok: boolean;
  code?: ErrorCode;
  /** HTTP status for the grant server's answer. */
  status: number;
  message?: string;
}

/**
 * Decides a redemption. The code is checked before expiry and count, so someone without the code learns nothing
 * but that the grant exists.
 */
export function decideRedemption(name: string, g: GrantCheckInput, now: number): GrantDecision {
  if (!g.exists) {
    return { ok: false, status: 404, code: ErrorCodes.GRANT_UNKNOWN, message: `no access grant "${name}"` };
  }
  if (!g.codeOk) {
    return {
      ok: false,
      status: 403,
      code: ErrorCodes.GRANT_BAD_CODE,
      message: `wrong code for access grant "${name}" (token altered or for another grant)`,
    };
  }
  if (now >= g.expiresAt) {
    return {
      ok: false,
      status: 410,
      code: ErrorCodes.GRANT_EXPIRED,
      message: `access grant "${name}" expired at ${new Date(g.expiresAt).toISOString()}`,
    };
  }
  if (g.redeemed >= g.redemptions) {
    return {
      ok: false,
      status: 410,
      code: ErrorCodes.GRANT_USED_UP,
      message: `access grant "${name}" is used up (${g.redeemed} of ${g.redemptions} redemption${g.redemptions === 1 ? '' : 's'} made)`,
    };
  }
  return { ok: true, status: 200 };
}

/** Certificate serial numbers as compared everywhere: uppercase hex without leading zeros or separators. */
export function normalizeSerial(serial: string): string {
  return serial
    .replace(/[^0-9a-fA-F]/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** Whether a bind host is a specific address other sites could dial (not a wildcard). */
export function isSpecificHost(host: string): boolean {
  return !WILDCARDS.has(host);
}

/** Interface addresses as `os.networkInterfaces()` returns them. */
export type InterfaceMap = Record<
  string,
  Array<{ address: string; family: string | number; internal: boolean }> | undefined
>;

/**
 * The hosts a token (and the redeemed link) should name, in order: explicit hosts; else the Site's
 * `linkAccess.hosts`; else the bind host when specific; else every non-internal IPv4 address; else 127.0.0.1.
 */
export function tokenHosts(
  linkAccess: { host: string; hosts?: string[] },
  interfaces: InterfaceMap,
  explicit?: string[],
): string[] {
  if (explicit && explicit.length > 0) return [...new Set(explicit)];
  if (linkAccess.hosts && linkAccess.hosts.length > 0) return [...new Set(linkAccess.hosts)];
  if (isSpecificHost(linkAccess.host)) return [linkAccess.host];
  const out: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (!a.internal && (a.family === 'IPv4' || a.family === 4) && !out.includes(a.address))
        out.push(a.address);
    }
  }
  return out.length > 0 ? out : ['127.0.0.1'];
}

/** `host:port` with IPv6 literals in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function grantUrl(host: string, port: number, grant: string): string {
  return `https://${hostPort(host, port)}/v1/grants/${encodeURIComponent(grant)}`;
}

/** The renewal URL of the grant server that serves `grantUrlText`. */
export function renewUrlFor(grantUrlText: string): string {
  const u = new URL(grantUrlText);
  return `${u.protocol}//${u.host}/v1/renew`;
}

/** Grant name from a redemption path `/v1/grants/<name>`, or undefined. */
export function grantNameFromPath(path: string): string | undefined {
  const m = /^\/v1\/grants\/([^/?#]+)\/?$/.exec(path);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1] as string);
  } catch {
    return undefined;
  }
}

/**
 * When a certificate is due for renewal: once less than a third of its lifetime remains. `lifetimeMs` is the
 * lifetime it was issued with (notBefore is backdated for clock skew, so notAfter − notBefore overstates it).
 */
export function renewalDueAt(notAfter: number, lifetimeMs: number): number {
  return notAfter - lifetimeMs * RENEW_REMAINING_FRACTION;
}

/** Delay before retrying a failed renewal: a tenth of the lifetime, between 1 s and 5 min. */
export function renewalRetryMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.max(1000, Math.floor(lifetimeMs / 10)));
}
