/**
 * Connector targets from pods: the pods of the namespace matching the selector that are Running, Ready and not
 * being deleted, with an IP. Sorted by IP, one target per IP, so the same pods always give the same list. Pure.
 */
import type { HostPort } from '../../api/index.js';
import type { PodObject } from './objects.js';
import { matches, type Requirements } from './selector.js';

/** Whether a pod may receive new connections. */
export function podServes(pod: PodObject): boolean {
  const st = pod.status;
  return (
    pod.metadata.deletionTimestamp === undefined &&
    st?.phase === 'Running' &&
    typeof st.podIP === 'string' &&
    st.podIP !== '' &&
    (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

export interface PodTargets {
  targets: HostPort[];
  /** Pods that match the selector, serving or not (for messages). */
  matching: number;
}

export function podTargets(
  reqs: Requirements,
  pods: readonly PodObject[],
  namespace: string,
  port: number,
): PodTargets {
  const mine = pods.filter(
    (p) => (p.metadata.namespace ?? namespace) === namespace && matches(reqs, p.metadata.labels),
  );
  const ips = new Set<string>();
  for (const p of mine) if (podServes(p)) ips.add(p.status?.podIP as string);
  const sorted = [...ips].sort(compareIp);
  return { targets: sorted.map((host) => ({ host, port })), matching: mine.length };
}

/** IPv4 addresses numerically, then anything else as text. */
function compareIp(a: string, b: string): number {
  const n = (ip: string): number | undefined => {
    const parts = ip.split('.');
    if (parts.length !== 4) return undefined;
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
  };
  const x = n(a);
  const y = n(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
