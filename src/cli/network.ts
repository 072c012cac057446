/** The whole network as seen from one router: its topology (link-state database) turned into sites. */
import type { NetworkSite } from '../admin/network-view.js';
import type { NetworkModel } from '../observe/model.js';
import { siteOfRouter } from './names.js';

export { networkView, type NetworkSite } from '../admin/network-view.js';

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
