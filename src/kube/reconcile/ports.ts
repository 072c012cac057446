/**
 * Everything a Kubernetes site binds lives in one router pod, so two listeners (or a listener and the link
 * access) on one port clash. The older resource keeps the port; the newer one is reported. Pure.
 */
import type { ListenerResource, SiteResource } from '../../api/index.js';
import type { KubeMeta } from './objects.js';

/** Oldest first (creationTimestamp), then by name: who keeps a contested port or Service name. */
export function byAge(a: { meta: KubeMeta }, b: { meta: KubeMeta }): number {
  const ta = a.meta.creationTimestamp ?? '';
  const tb = b.meta.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0;
}

/** Listener name → the port clash that keeps it out. */
export function portConflicts(
  site: SiteResource | undefined,
  listeners: readonly { meta: KubeMeta; resource: ListenerResource }[],
): Map<string, string> {
  const used = new Map<string, string>();
  const la = site?.spec.linkAccess;
  if (la) {
    used.set(`tcp/${la.port}`, `the Site's spec.linkAccess.port`);
    used.set(`tcp/${la.grantPort}`, `the Site's spec.linkAccess.grantPort`);
  }
  const out = new Map<string, string>();
  for (const l of [...listeners].sort(byAge)) {
    const spec = l.resource.spec;
    const key = `${spec.type === 'udp' ? 'udp' : 'tcp'}/${spec.port}`;
    const holder = used.get(key);
    if (holder) out.set(l.meta.name, `port ${spec.port} is already used by ${holder}`);
    else used.set(key, `Listener ${l.meta.name}`);
  }
  return out;
}
