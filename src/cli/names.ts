/** Router ids and site names: `caravan site create west` gives router id `west-<6 hex>`. */
import { randomBytes } from 'node:crypto';

const SUFFIX_RE = /-[0-9a-f]{6}$/;

/** A new router id for a site: `<name>-<6 random hex>` (at most 63 characters). */
export function newRouterId(siteName: string): string {
  return `${siteName.slice(0, 56)}-${randomBytes(3).toString('hex')}`;
}

/** The site name of a router id made by newRouterId (other ids are returned unchanged). */
export function siteOfRouter(routerId: string): string {
  return SUFFIX_RE.test(routerId) ? routerId.replace(SUFFIX_RE, '') : routerId;
}
