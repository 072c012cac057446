// The link-state database: the newest advertisement of every known router, plus tombstones of purged ones.

import type { SpfNode } from './spf.js';
import type { RouterAdvertisement, RouterId } from './types.js';

export class LsdbEntry implements SpfNode {
  private linkMap: Map<RouterId, number> | undefined;
  /** Set by the last SPF run. */
  reachable = false;
  /** `now` of the SPF run that first found this router unreachable (undefined while reachable). */
  unreachableSince: number | undefined;

  constructor(readonly ad: RouterAdvertisement) {}

  /** neighbor -> cost, built on first use (most copies are superseded before any SPF reads them). */
  get links(): Map<RouterId, number> {
    if (this.linkMap === undefined) this.linkMap = new Map(this.ad.links.map((l) => [l.neighbor, l.cost]));
    return this.linkMap;
  }

  get mode(): RouterAdvertisement['mode'] {
    return this.ad.mode;
  }
}

export interface Tombstone {
  ad: RouterAdvertisement;
  expiresAt: number;
}

export class Lsdb {
  readonly entries = new Map<RouterId, LsdbEntry>();
  /** Purged advertisements, remembered for a while so stale copies are not re-learned. */
  readonly tombstones = new Map<RouterId, Tombstone>();

  get(id: RouterId): LsdbEntry | undefined {
    return this.entries.get(id);
  }

  /**
   * Installs `ad` at `now` and returns the previous entry. Reachability carries over from the previous copy (the
   * next SPF corrects it), but the purge clock restarts: a copy is purged only after being held unreachable for
   * the whole purge period, so a live originator has always refreshed past a purged copy.
   */
  install(ad: RouterAdvertisement, now: number): LsdbEntry | undefined {
    const old = this.entries.get(ad.id);
    const entry = new LsdbEntry(ad);
    if (old !== undefined) {
      entry.reachable = old.reachable;
      entry.unreachableSince = old.reachable ? undefined : now;
    }
    this.entries.set(ad.id, entry);
    this.tombstones.delete(ad.id);
    return old;
  }

  purge(id: RouterId, now: number, keepTombstoneMs: number): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    this.tombstones.set(id, { ad: e.ad, expiresAt: now + keepTombstoneMs });
  }

  /** A live tombstone for `id`, dropping it if expired. */
  tombstone(id: RouterId, now: number): Tombstone | undefined {
    const t = this.tombstones.get(id);
    if (t === undefined) return undefined;
    if (t.expiresAt <= now) {
      this.tombstones.delete(id);
      return undefined;
    }
    return t;
  }

  expireTombstones(now: number): void {
    for (const [id, t] of this.tombstones) if (t.expiresAt <= now) this.tombstones.delete(id);
  }
}
