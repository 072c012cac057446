/**
 * Link revocation at the accepting site (`caravan link revoke <site-or-link>`): records, in
 * runtime/grants/revoked.json, every certificate issued to the named site or link — including future renewals of
 * them. A running router applies it at once (it watches that file; the admin API's POST /v1/links/revoke does
 * the same and answers when done): the link's sessions are cut, its certificate refused on new connections and
 * for renewal.
 */
import { resolve } from 'node:path';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { normalizeSerial } from './logic.js';
import { readIssued, readRevocations, sitePaths, writeJson, type IssuedCert } from './state.js';

export interface RevokeResult {
  /** serial numbers of the certificates now refused */
  revoked: string[];
  /** the redeeming sites concerned */
  sites: string[];
  /** link identities (stable across renewals) */
  ids: string[];
  /** true when every matching certificate was already revoked */
  alreadyRevoked: boolean;
}

function matches(c: IssuedCert, target: string): boolean {
  if (c.site === target || c.link === target || c.grant === target) return true;
  const hex = target.replace(/:/g, '');
  return /^[0-9a-fA-F]{16,}$/.test(hex) && normalizeSerial(hex) === normalizeSerial(c.serial);
}

/**
 * Revokes the links issued to `target` (a redeeming site's name, the link name it reported, the grant name or a
 * certificate serial). Rejects with LINK_NOT_FOUND when this site issued nothing to it. The file change alone
 * is what a stopped router applies at its next start; a running router applies it within a moment.
 */
export async function revokeLink(siteDir: string, target: string): Promise<RevokeResult> {
  const dir = resolve(siteDir);
  const issued = await readIssued(dir);
  const hits = issued.filter((c) => matches(c, target));
  if (hits.length === 0) {
    const known = [...new Set(issued.map((c) => c.site))].sort();
    throw new CaravanError(
      ErrorCodes.LINK_NOT_FOUND,
      `no link was issued to "${target}" by this site${known.length ? ` (links were issued to: ${known.join(', ')})` : ''}`,
    );
  }
  const ids = [...new Set(hits.map((c) => c.id))];
  const serials = issued.filter((c) => ids.includes(c.id)).map((c) => normalizeSerial(c.serial));
  const sites = [...new Set(hits.map((c) => c.site))];
  const revocations = await readRevocations(dir);
  const doneIds = new Set(revocations.flatMap((r) => r.ids));
  const alreadyRevoked = ids.every((id) => doneIds.has(id));
  if (!alreadyRevoked) {
    revocations.push({ target, at: new Date().toISOString(), ids, serials, sites });
    await writeJson(sitePaths(dir).revoked, { revocations });
  }
  return { revoked: serials, sites, ids, alreadyRevoked };
}
