// Shortest path first: Dijkstra over the link-state database with a binary heap.
//
// - A directed edge u -> v (cost advertised by u) is used only if v's advertisement also lists u (two-way check).
// - Edge routers are never transit: they are reached, but not expanded, unless they are the source.
// - Deterministic tie-break: lower cost, then lower next-hop id; the heap pops by (cost, next hop, router id).
//   With positive costs every router keeps, among all its shortest paths, the one whose first hop has the
//   lowest id, whatever the order of the database.
// Complexity: O((N + E) log N) time, O(N + E) memory for N routers and E advertised links.

import { BinaryHeap } from './heap.js';
import type { RouterId, RouterMode } from './types.js';

export interface SpfNode {
  mode: RouterMode;
  /** neighbor -> cost from this node. */
  links: ReadonlyMap<RouterId, number>;
}

export interface SpfResult {
  /** Cost to every reachable router, self included (0). */
  cost: Map<RouterId, number>;
  /** First hop toward every reachable router except self. */
  nextHop: Map<RouterId, RouterId>;
}

interface HeapItem {
  c: number;
  nh: RouterId;
  id: RouterId;
}

function less(a: HeapItem, b: HeapItem): boolean {
  if (a.c !== b.c) return a.c < b.c;
  if (a.nh !== b.nh) return a.nh < b.nh;
  return a.id < b.id;
}

export function shortestPaths(self: RouterId, nodes: ReadonlyMap<RouterId, SpfNode>): SpfResult {
  const cost = new Map<RouterId, number>();
  const nextHop = new Map<RouterId, RouterId>();
  const done = new Set<RouterId>();
  const heap = new BinaryHeap<HeapItem>(less);
  cost.set(self, 0);
  heap.push({ c: 0, nh: '', id: self });
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) {
    const u = item.id;
    if (done.has(u)) continue;
    // Skip stale heap entries (a better path was found after this one was pushed).
    if (item.c !== cost.get(u) || (u !== self && item.nh !== nextHop.get(u))) continue;
    done.add(u);
    const node = nodes.get(u);
    if (node === undefined) continue;
    if (u !== self && node.mode === 'edge') continue; // edges are never transit
    for (const [v, c] of node.links) {
      if (done.has(v)) continue;
      const peer = nodes.get(v);
      if (peer === undefined || !peer.links.has(u)) continue; // two-way check
      const nc = item.c + c;
      const nh = u === self ? v : item.nh;
      const cur = cost.get(v);
      if (cur === undefined || nc < cur || (nc === cur && nh < (nextHop.get(v) as RouterId))) {
        cost.set(v, nc);
        nextHop.set(v, nh);
        heap.push({ c: nc, nh, id: v });
      }
    }
  }
  return { cost, nextHop };
}
