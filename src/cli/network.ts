/** The whole network as seen from one router: its topology (link-state database) turned into sites. */
import type { StatusSnapshot } from '../admin/types.js';
import type { NetworkModel } from '../observe/model.js';
import { siteOfRouter } from './names.js';

export interface NetworkSite {
  site: string;
  router: string;
  mode: 'interior' | 'edge';
  /** reachable from the router asked */
  reachable: boolean;
  /** the router asked */
  self: boolean;
  links: Array<{ site: string; router: string; cost: number }>;
  /** routing keys with connectors at this site (count of connectors) */
  services: Array<{ key: string; connectors: number }>;
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

/** The same per-site view, from the network model the router builds network-wide (GET /v1/network). */
export function networkViewFromModel(model: NetworkModel): NetworkSite[] {
  const self = model.observedBy;
  const byId = new Map(model.sites.map((s) => [s.id, s]));
  const nameOf = (id: string): string => {
    const s = byId.get(id);
    return s && s.name !== s.id ? s.name : siteOfRouter(id);
  };
  const out = new Map<string, NetworkSite>();
  for (const s of model.sites) {
    out.set(s.id, {
      site: nameOf(s.id),
      router: s.id,
      mode: s.mode,
      reachable: s.id === self || s.reachable,
      self: s.id === self,
      links: [],
      services: [],
    });
  }
  for (const l of model.links) {
    if (l.state !== 'up') continue;
    out.get(l.from)?.links.push({ site: nameOf(l.to), router: l.to, cost: l.cost });
    out.get(l.to)?.links.push({ site: nameOf(l.from), router: l.from, cost: l.cost });
  }
  for (const svc of model.services) {
    for (const c of svc.connectors)
      out.get(c.site)?.services.push({ key: svc.routingKey, connectors: c.count });
  }
  for (const s of out.values()) {
    s.links.sort((a, b) => a.site.localeCompare(b.site));
    s.services.sort((a, b) => a.key.localeCompare(b.key));
  }
  return [...out.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.site.localeCompare(b.site));
}
