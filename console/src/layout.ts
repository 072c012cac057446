/**
 * Deterministic graph layout for the topology page: same sites and links → same picture, every time, in every
 * browser. Interior routers start on a circle, edge routers next to the interior they are attached to; a fixed
 * number of Fruchterman–Reingold iterations (no randomness) then spreads the graph. O(n²) per iteration with the
 * iteration count shrinking as the graph grows: 300 sites take a few tens of milliseconds.
 */

export interface LayoutNode {
  id: string;
  edge: boolean;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  pos: Map<string, Point>;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

const K = 70; // ideal edge length

export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Layout {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = sorted.length;
  const index = new Map(sorted.map((node, i) => [node.id, i]));
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const adj: number[][] = sorted.map(() => []);
  const pairs: Array<[number, number]> = [];
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    adj[a]!.push(b);
    adj[b]!.push(a);
    pairs.push([a, b]);
  }

  // initial placement: interiors (and unattached edges) on a circle, edges around their first interior
  const hubs = sorted
    .map((node, i) => i)
    .filter((i) => !sorted[i]!.edge || !adj[i]!.some((j) => !sorted[j]!.edge));
  const ring = Math.max(K, (K * hubs.length) / (2 * Math.PI)) * 1.2;
  hubs.forEach((i, k) => {
    const a = (2 * Math.PI * k) / Math.max(hubs.length, 1);
    xs[i] = ring * Math.cos(a);
    ys[i] = ring * Math.sin(a);
  });
  const childCount = new Map<number, number>();
  const childTotal = new Map<number, number>();
  const parentOf = new Map<number, number>();
  sorted.forEach((node, i) => {
    if (!node.edge) return;
    const parent = adj[i]!.filter((j) => !sorted[j]!.edge).sort((a, b) => a - b)[0];
    if (parent === undefined) return;
    parentOf.set(i, parent);
    childTotal.set(parent, (childTotal.get(parent) ?? 0) + 1);
  });
  for (const [i, parent] of parentOf) {
    const k = childCount.get(parent) ?? 0;
    childCount.set(parent, k + 1);
    const total = childTotal.get(parent) ?? 1;
    const px = xs[parent]!;
    const py = ys[parent]!;
    const outward = Math.atan2(py, px) || 0;
    const a = outward + ((k - (total - 1) / 2) / Math.max(total, 1)) * Math.PI * 1.6;
    const r = K * (0.8 + 0.15 * (k % 3));
    xs[i] = px + r * Math.cos(a);
    ys[i] = py + r * Math.sin(a);
  }

  // Fruchterman–Reingold with a linear cooling schedule and a little gravity (keeps components together)
  const iterations = n <= 60 ? 300 : n <= 150 ? 150 : 80;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  const k2 = K * K;
  let temp = K * 1.5;
  const cool = temp / (iterations + 1);
  for (let it = 0; it < iterations; it++) {
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = xs[i]!;
      const yi = ys[i]!;
      for (let j = i + 1; j < n; j++) {
        let ddx = xi - xs[j]!;
        let ddy = yi - ys[j]!;
        let d2 = ddx * ddx + ddy * ddy;
        if (d2 < 0.01) {
          // coincident: push apart along a direction fixed by the indices
          ddx = ((i * 7 + j * 13) % 11) - 5 || 1;
          ddy = ((i * 11 + j * 3) % 7) - 3 || 1;
          d2 = ddx * ddx + ddy * ddy;
        }
        const f = k2 / d2; // (k²/d) along the unit vector = k² · delta / d²
        dx[i] = dx[i]! + ddx * f;
        dy[i] = dy[i]! + ddy * f;
        dx[j] = dx[j]! - ddx * f;
        dy[j] = dy[j]! - ddy * f;
      }
    }
    for (const [a, b] of pairs) {
      const ddx = xs[a]! - xs[b]!;
      const ddy = ys[a]! - ys[b]!;
      const d = Math.sqrt(ddx * ddx + ddy * ddy) || 0.01;
      const f = d / K; // (d²/k) along the unit vector
      dx[a] = dx[a]! - ddx * f;
      dy[a] = dy[a]! - ddy * f;
      dx[b] = dx[b]! + ddx * f;
      dy[b] = dy[b]! + ddy * f;
    }
    for (let i = 0; i < n; i++) {
      const gx = dx[i]! - xs[i]! * 0.02;
      const gy = dy[i]! - ys[i]! * 0.02;
      const len = Math.sqrt(gx * gx + gy * gy);
      if (len > 0) {
        const step = Math.min(len, temp);
        xs[i] = xs[i]! + (gx / len) * step;
        ys[i] = ys[i]! + (gy / len) * step;
      }
    }
    temp -= cool;
  }

  const pos = new Map<string, Point>();
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  sorted.forEach((node, i) => {
    const x = Math.round(xs[i]! * 10) / 10;
    const y = Math.round(ys[i]! * 10) / 10;
    pos.set(node.id, { x, y });
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  });
  if (n === 0) return { pos, minX: -100, minY: -100, maxX: 100, maxY: 100 };
  return { pos, minX, minY, maxX, maxY };
}
