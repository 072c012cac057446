/**
 * The address other sites dial, for tokens: set by the user (spec.linkAccess.hosts, or a specific
 * spec.linkAccess.host), else read from the link-access Service (LoadBalancer ingress; a ClusterIP Service's
 * cluster DNS name, for users who put their own Ingress or Route in front). A NodePort Service needs a node
 * address from the user; until an address is known the result says what it waits for. Pure.
 */
import type { LinkAccess } from '../../api/index.js';
import type { LinkAddress } from './model.js';
import type { ServiceObject, ServiceType } from './objects.js';

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

export type AddressResult = { address: LinkAddress } | { pending: string };

function nodePorts(svc: ServiceObject | undefined): { link?: number; grants?: number } {
  const ports = svc?.spec.ports ?? [];
  const by = (n: string): number | undefined => ports.find((p) => p.name === n)?.nodePort;
  const out: { link?: number; grants?: number } = {};
  const link = by('link');
  const grants = by('grants');
  if (link !== undefined) out.link = link;
  if (grants !== undefined) out.grants = grants;
  return out;
}

export function linkAddress(
  la: LinkAccess,
  type: ServiceType,
  svc: ServiceObject | undefined,
  namespace: string,
  serviceName: string,
): AddressResult {
  const userHosts = la.hosts ?? (WILDCARD.has(la.host) ? undefined : [la.host]);
  if (type === 'NodePort') {
    if (!userHosts)
      return { pending: 'a NodePort link access needs a node address: set spec.linkAccess.hosts' };
    const np = nodePorts(svc);
    if (np.link === undefined || np.grants === undefined)
      return { pending: `waiting for node ports of Service ${serviceName}` };
    return { address: { source: 'NodePort', hosts: userHosts, port: np.link, grantPort: np.grants } };
  }
  if (userHosts)
    return { address: { source: 'spec', hosts: userHosts, port: la.port, grantPort: la.grantPort } };
  if (type === 'LoadBalancer') {
    const hosts = (svc?.status?.loadBalancer?.ingress ?? [])
      .map((i) => i.ip ?? i.hostname)
      .filter((h): h is string => typeof h === 'string' && h !== '');
    if (hosts.length === 0)
      return {
        pending: `waiting for an address of LoadBalancer Service ${serviceName} (or set spec.linkAccess.hosts)`,
      };
    return { address: { source: 'LoadBalancer', hosts, port: la.port, grantPort: la.grantPort } };
  }
  return {
    address: {
      source: 'ClusterIP',
      hosts: [`${serviceName}.${namespace}.svc`],
      port: la.port,
      grantPort: la.grantPort,
    },
  };
}
