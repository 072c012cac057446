/**
 * Session affinity: remembers which destination (router, and connector when it is local) served an affinity key,
 * so that later flows with the same key go there again while it stays reachable. Bounded (least recently used
 * entries are forgotten first); pure, no timers.
 */
export interface AffinityChoice {
  router: string;
  /** the local connector's name, when the destination is this router */
  connector?: string;
}

export class AffinityTable {
  private readonly map = new Map<string, AffinityChoice>();

  constructor(private readonly max = 65_536) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): AffinityChoice | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // refresh its position (least recently used goes first)
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, choice: AffinityChoice): void {
    this.map.delete(key);
    this.map.set(key, choice);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }
}
