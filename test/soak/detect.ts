/**
 * When did the network detect a fault, and which new connections could it have saved? The routers log every link
 * they lose (`link session closed`, `link dead: no HELLO within the dead interval`) with a timestamp in
 * `logs/router.log`; this reads those lines as they are written. A fault's detection is the first such line, at
 * any router, about a link the fault touched (the cut link, or any link of the site it stopped). Once the network
 * has detected it, a new connection (TCP stream, HTTP request, gRPC call) between a listener site and a provider
 * that the topology still connects must not fail: such a failure that starts more than the bound after detection,
 * while the fault holds, breaks an invariant.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TrafficKind } from './client.js';
import type { FaultKind } from './faults.js';
import { LINKS, SERVICES, SITES, type SiteName, type SoakNetwork } from './topology.js';

export interface LinkDown {
  t: number;
  /** the router that logged it */
  site: SiteName;
  /** the site at the other end of the link */
  neighbor: SiteName | undefined;
  what: 'closed' | 'dead';
}

const LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) \w+\s+link (session closed|dead: no HELLO)\b.*\bneighbor=(\S+)/;

/** Follows every router's log and collects the link-down lines. */
export class LinkWatch {
  readonly events: LinkDown[] = [];
  private readonly offsets = new Map<SiteName, number>();
  private readonly rest = new Map<SiteName, string>();
  private readonly siteOfRouter = new Map<string, SiteName>();

  constructor(private readonly net: SoakNetwork) {
    for (const s of SITES) {
      const st = net.sites.get(s);
      if (st) this.siteOfRouter.set(st.site.routerId, s);
    }
  }

  /** Skips what the logs hold so far (the network's start). */
  skip(): void {
    for (const s of SITES) this.offsets.set(s, this.size(s));
  }

  private path(site: SiteName): string {
    return join((this.net.sites.get(site) as { site: { dir: string } }).site.dir, 'logs', 'router.log');
  }

  private size(site: SiteName): number {
    try {
      return statSync(this.path(site)).size;
    } catch {
      return 0;
    }
  }

  /** Reads what the logs gained since the last call. */
  poll(): void {
    for (const site of SITES) {
      const size = this.size(site);
      let from = this.offsets.get(site) ?? 0;
      if (size < from) from = 0; // a new file
      if (size === from) continue;
      const buf = Buffer.alloc(size - from);
      const fd = openSync(this.path(site), 'r');
      try {
        readSync(fd, buf, 0, buf.length, from);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(site, size);
      const text = (this.rest.get(site) ?? '') + buf.toString('utf8');
      const lines = text.split('\n');
      this.rest.set(site, lines.pop() ?? '');
      for (const line of lines) {
        const m = LINE.exec(line);
        if (!m) continue;
        this.events.push({
          t: Date.parse(m[1] as string),
          site,
          neighbor: this.siteOfRouter.get(m[3] as string),
          what: m[2] === 'session closed' ? 'closed' : 'dead',
        });
      }
    }
  }
}

/** What a fault takes out of the topology while it holds. */
export interface Removed {
  sites: SiteName[];
  /** links, as [a, b] site pairs */
  links: Array<[SiteName, SiteName]>;
}

const NODE_FAULTS: FaultKind[] = ['kill9', 'restart', 'pause', 'partition'];
const WIRE_FAULTS: FaultKind[] = ['cut-down', 'cut-blackhole', 'impair'];

/** The part of the topology a fault touches, or undefined for one the routers do not detect (flood, targets). */
export function scopeOf(kind: FaultKind, target: string): Removed | undefined {
  if (NODE_FAULTS.includes(kind)) return { sites: [target as SiteName], links: [] };
  if (WIRE_FAULTS.includes(kind)) {
    const [a, b] = target.split('~') as [SiteName, SiteName];
    return { sites: [], links: [[a, b]] };
  }
  return undefined;
}

/** The first link-down line in [from, to] about a link inside `scope`. */
export function detection(
  events: LinkDown[],
  scope: Removed,
  from: number,
  to: number,
): LinkDown | undefined {
  const touches = (e: LinkDown): boolean =>
    scope.sites.includes(e.site) ||
    (e.neighbor !== undefined && scope.sites.includes(e.neighbor)) ||
    scope.links.some(([a, b]) => (e.site === a && e.neighbor === b) || (e.site === b && e.neighbor === a));
  return events
    .filter((e) => e.t >= from && e.t <= to && touches(e))
    .reduce<LinkDown | undefined>(
      (first, e) => (first === undefined || e.t < first.t ? e : first),
      undefined,
    );
}

/** Whether the topology without `removed` still connects `site` to a provider of `key`. */
export function reachable(site: SiteName, key: string, removed: Removed): boolean {
  const svc = SERVICES.find((s) => s.key === key);
  if (!svc || removed.sites.includes(site)) return false;
  const cut = (a: SiteName, b: SiteName): boolean =>
    removed.links.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  const seen = new Set<SiteName>([site]);
  const queue: SiteName[] = [site];
  while (queue.length > 0) {
    const at = queue.shift() as SiteName;
    if (svc.at.includes(at)) return true;
    for (const [a, b] of LINKS) {
      const next = a === at ? b : b === at ? a : undefined;
      if (next === undefined || seen.has(next) || removed.sites.includes(next) || cut(at, next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return false;
}

/** Traffic whose every request is a new connection or call through the network */
export const CONNECTION_KINDS: TrafficKind[] = ['stream', 'http', 'grpc'];
