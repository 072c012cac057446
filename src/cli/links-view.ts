/** The links of a site as the CLI shows them: Link resources merged with the running router's view. */
import type { LinkStatusView, ResourceStatusView, StatusSnapshot } from '../admin/types.js';
import { rejectedOnly, resourceStatus } from './conditions-view.js';
import type { LinkResource } from '../api/index.js';
import { siteOfRouter } from './names.js';

export interface LinkRow {
  name: string;
  direction: 'in' | 'out';
  state: string;
  /** the site at the other end */
  peer?: string;
  peerRouter?: string;
  cost?: number;
  rttMs?: number;
  endpoints?: string[];
  /** the HTTP proxy an outbound link goes through (without its password) */
  proxy?: string;
  lastError?: string;
  bytesIn?: number;
  bytesOut?: number;
  activeFlows?: number;
  /** outbound links of a Link resource: metadata.generation the router observed, and its conditions */
  generation?: number;
  status?: ResourceStatusView['status'];
}

export function linkRows(resources: LinkResource[], status: StatusSnapshot | undefined): LinkRow[] {
  const rows: LinkRow[] = [];
  const views = status?.links ?? [];
  const fromView = (v: LinkStatusView): Partial<LinkRow> => ({
    state: v.state,
    ...(v.neighbor ? { peer: siteOfRouter(v.neighbor), peerRouter: v.neighbor } : {}),
    ...(v.cost ? { cost: v.cost } : {}),
    ...(v.rttMs !== undefined ? { rttMs: v.rttMs } : {}),
    ...(v.lastError ? { lastError: v.lastError } : {}),
    bytesIn: v.bytesIn,
    bytesOut: v.bytesOut,
    activeFlows: v.activeFlows,
  });
  for (const r of resources) {
    const matching = views.filter(
      (v) => v.direction === 'out' && (v.name === r.metadata.name || v.id === r.metadata.name),
    );
    const v = matching.find((m) => m.state === 'up') ?? matching[0];
    rows.push({
      name: r.metadata.name,
      direction: 'out',
      state: status ? 'connecting' : 'stopped',
      cost: r.spec.cost,
      endpoints: r.spec.endpoints.map((e) => `${e.host}:${e.port}`),
      ...(r.spec.proxy !== undefined ? { proxy: withoutPassword(r.spec.proxy) } : {}),
      ...(v ? fromView(v) : {}),
      ...resourceStatus(status, 'Link', r.metadata.name),
    });
  }
  for (const v of rejectedOnly(
    status,
    'Link',
    resources.map((r) => r.metadata.name),
  ))
    rows.push({
      name: v.name,
      direction: 'out',
      state: 'invalid',
      ...(v.generation !== undefined ? { generation: v.generation } : {}),
      status: v.status,
    });
  for (const v of views) {
    if (v.direction === 'in') rows.push({ name: v.id, direction: 'in', ...fromView(v) } as LinkRow);
    else if (!resources.some((r) => r.metadata.name === v.name || r.metadata.name === v.id)) {
      rows.push({ name: v.name, direction: 'out', ...fromView(v) } as LinkRow);
    }
  }
  return rows;
}

/** A proxy URL for display: the password never leaves the Link resource. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
