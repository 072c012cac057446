/**
 * The whole network as one router sees it, from its status snapshot (the link-state database turned into sites):
 * what `caravan network status` shows, and what a Kubernetes-mode router summarizes into its Site's status. Pure.
 */
import { siteNameOf } from '../identity.js';
import type { StatusSnapshot } from './types.js';

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

export interface NetworkSite {
  site: string;
  router: string;
  mode: 'interior' | 'edge';
  /** reachable from the router asked */
  reachable: boolean;
  /** the router asked */
  self: boolean;
  links: Array<{ site: string; router: string; cost: number }>;
  /** what the site's router advertises about itself, when it does: its platform, its listeners (count) */
  platform?: string;
  listeners?: number;
  /** routing keys with connectors at this site (count of connectors) */
  services: Array<{ key: string; connectors: number }>;
}

/** The platform and listener count a router advertises (its routing info), when it does. */
function advertised(info: Record<string, unknown> | undefined): { platform?: string; listeners?: number } {
  const out: { platform?: string; listeners?: number } = {};
  if (typeof info?.['platform'] === 'string') out.platform = info['platform'];
  const l = info?.['listeners'];
  if (l !== null && typeof l === 'object' && !Array.isArray(l))
    out.listeners = Object.values(l).reduce<number>(
      (n, v) => n + (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0),
      0,
    );
  return out;
}

export function networkView(status: StatusSnapshot): NetworkSite[] {
  const self = status.router.id;
  const out = new Map<string, NetworkSite>();
  for (const r of status.topology.routers) {
    out.set(r.id, {
      site: r.id === self ? status.router.site : siteOfRouter(r.id),
      router: r.id,
      mode: r.mode,
      reachable: r.id === self || r.reachable,
      self: r.id === self,
      ...advertised(r.info),
      links: r.links
        .map((l) => ({ site: siteOfRouter(l.neighbor), router: l.neighbor, cost: l.cost }))
        .sort((a, b) => a.site.localeCompare(b.site)),
      services: Object.entries(r.addresses)
        .filter(([, n]) => n > 0)
        .map(([key, connectors]) => ({ key, connectors }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    });
  }
  if (!out.has(self)) {
    out.set(self, {
      site: status.router.site,
      router: self,
      mode: status.router.mode,
      reachable: true,
      self: true,
      links: status.links
        .filter((l) => l.state === 'up' && l.neighbor)
        .map((l) => ({ site: siteOfRouter(l.neighbor!), router: l.neighbor!, cost: l.cost })),
      services: status.connectors.filter((c) => c.healthy).map((c) => ({ key: c.routingKey, connectors: 1 })),
    });
  }
  // edge routers attached here are not in the link-state database: add them from our links
  for (const l of status.links) {
    if (l.neighborMode !== 'edge' || !l.neighbor || l.state !== 'up' || out.has(l.neighbor)) continue;
    out.set(l.neighbor, {
      site: siteOfRouter(l.neighbor),
      router: l.neighbor,
      mode: 'edge',
      reachable: true,
      self: false,
      links: [{ site: status.router.site, router: self, cost: l.cost }],
      services: [],
    });
  }
  return [...out.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.site.localeCompare(b.site));
}
