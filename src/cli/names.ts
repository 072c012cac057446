/** Site names of router ids, for display. */
import { siteNameOf } from '../identity.js';

/** Ids made by routers before router identities: `<site>-<6 hex>`. */
const OLD_SUFFIX_RE = /-[0-9a-f]{6}$/;

/**
 * The site-name part of a router id: the prefix of a self-certifying id (`west-<26 base32>`), or of an id from
 * an older router (`west-<6 hex>`); other ids are returned unchanged.
 */
export function siteOfRouter(routerId: string): string {
  return (
    siteNameOf(routerId) ?? (OLD_SUFFIX_RE.test(routerId) ? routerId.replace(OLD_SUFFIX_RE, '') : routerId)
  );
}
