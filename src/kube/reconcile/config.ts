/**
 * The runtime configuration of a Kubernetes site: the same SiteConfig a site directory gives (loadSiteDir), made
 * from the validated Custom Resources. Relative paths resolve against the pod's state folder, where the
 * controller writes the Secrets' keys as files, just as a site directory's `runtime/` holds them. Pure (path
 * arithmetic only; the files are not read here).
 */
import { isAbsolute, resolve } from 'node:path';
import type {
  AccessGrantResource,
  AccessTokenResource,
  ConnectorResource,
  LinkResource,
  ListenerResource,
  SiteResource,
  TlsFiles,
} from '../../api/index.js';
import type { SiteConfig } from '../../site/site-dir.js';
import type { LinkAddress } from './model.js';

const at = (dir: string, p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
const tlsAt = (dir: string, t: TlsFiles): TlsFiles => ({
  ca: at(dir, t.ca),
  cert: at(dir, t.cert),
  key: at(dir, t.key),
});

export interface ConfigParts {
  namespace: string;
  stateDir: string;
  site: SiteResource;
  routerId: string;
  address?: LinkAddress;
  links: LinkResource[];
  listeners: ListenerResource[];
  connectors: ConnectorResource[];
  grants: AccessGrantResource[];
  tokens: AccessTokenResource[];
}

export function buildConfig(p: ConfigParts): SiteConfig {
  const dir = p.stateDir;
  const site = structuredClone(p.site);
  site.spec.routerId = p.routerId;
  if (site.spec.linkAccess && p.address) site.spec.linkAccess.hosts = [...p.address.hosts];
  if (site.spec.tls) site.spec.tls = tlsAt(dir, site.spec.tls);
  if (site.spec.admin?.socket !== undefined) site.spec.admin.socket = at(dir, site.spec.admin.socket);

  const links = p.links.map((l) => {
    const c = structuredClone(l);
    c.spec.tls = tlsAt(dir, c.spec.tls);
    return c;
  });
  const listeners = p.listeners.map((l) => {
    const c = structuredClone(l);
    if (c.spec.tls) {
      c.spec.tls.cert = at(dir, c.spec.tls.cert);
      c.spec.tls.key = at(dir, c.spec.tls.key);
      if (c.spec.tls.clientCa !== undefined) c.spec.tls.clientCa = at(dir, c.spec.tls.clientCa);
    }
    if (c.spec.users)
      c.spec.users = c.spec.users.map((u) => ({ ...u, passwordFile: at(dir, u.passwordFile) }));
    return c;
  });
  const connectors = p.connectors.map((k) => {
    const c = structuredClone(k);
    if (c.spec.tls?.ca !== undefined) c.spec.tls.ca = at(dir, c.spec.tls.ca);
    if (c.spec.passwordFile !== undefined) c.spec.passwordFile = at(dir, c.spec.passwordFile);
    return c;
  });
  const sources = new Map<string, string>();
  const src = (kind: string, name: string): void => {
    sources.set(`${kind}/${name}`, `kubernetes:${p.namespace}/${kind}/${name}`);
  };
  src('Site', site.metadata.name);
  for (const r of [...links, ...listeners, ...connectors, ...p.grants, ...p.tokens])
    src(r.kind, r.metadata.name);
  return {
    dir,
    site,
    links,
    listeners,
    connectors,
    grants: p.grants.map((g) => structuredClone(g)),
    tokens: p.tokens.map((t) => structuredClone(t)),
    sources,
  };
}
