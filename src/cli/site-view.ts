/** What `status` and `site status` both start from: the site, its router's state, and who the router is. */
import { readSiteIdentity } from '../site/identity-file.js';
import type { Context } from './command.js';
import { humanDuration } from './output.js';
import { routerState, type RouterState } from './router.js';
import { contextSite, readSiteResource, type SiteRef } from './sites.js';

export interface SiteView {
  site: SiteRef;
  /** the running router's status, pid and supervisor (routerState) */
  state: RouterState;
  /** from the running router; while it is stopped, from the site's identity file (else the site's name) */
  routerId: string;
  mode: 'interior' | 'edge';
  linkAccess: { host: string; port: number } | null;
}

/** The command's site and its router: what the running router says, else what the site's files say. */
export async function siteView(ctx: Context): Promise<SiteView> {
  const site = await contextSite(ctx);
  const res = await readSiteResource(site.dir);
  const state = await routerState(site.dir);
  const s = state.status;
  const la = s?.router.linkAccess ?? res.spec.linkAccess;
  return {
    site,
    state,
    routerId:
      s?.router.id ??
      (await readSiteIdentity(site.dir, site.name).catch(() => undefined))?.routerId ??
      site.name,
    mode: s?.router.mode ?? res.spec.mode,
    linkAccess: la ? { host: la.host, port: la.port } : null,
  };
}

/** How long ago `at` (an ISO time) was, e.g. `3m12s`. */
export function since(at: string): string {
  return humanDuration(Date.now() - Date.parse(at));
}
