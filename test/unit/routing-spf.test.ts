// SPF, heap and message validation, tested directly (no engines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryHeap } from '../../src/routing/heap.js';
import { shortestPaths, type SpfNode } from '../../src/routing/spf.js';
import { Prng } from '../support/routing/simulator.js';
import { compareAds, parseRoutingMessage } from '../../src/routing/messages.js';
import type { RouterAdvertisement, RouterMode } from '../../src/routing/types.js';

type Spec = Record<string, { mode?: RouterMode; links: Record<string, number> }>;

function graph(spec: Spec): Map<string, SpfNode> {
  return new Map(
    Object.entries(spec).map(([id, n]) => [
      id,
      { mode: n.mode ?? 'interior', links: new Map(Object.entries(n.links)) },
    ]),
  );
}

/** A symmetric graph from an edge list "a-b:cost". */
function sym(edges: string[], modes: Record<string, RouterMode> = {}): Map<string, SpfNode> {
  const spec: Spec = {};
  for (const e of edges) {
    const [pair, c] = e.split(':');
    const [a, b] = (pair as string).split('-') as [string, string];
    const cost = Number(c ?? 1);
    (spec[a] ??= { links: {} }).links[b] = cost;
    (spec[b] ??= { links: {} }).links[a] = cost;
  }
  for (const [id, mode] of Object.entries(modes)) (spec[id] ??= { links: {} }).mode = mode;
  return graph(spec);
}

function routes(self: string, g: Map<string, SpfNode>): Record<string, [number, string]> {
  const r = shortestPaths(self, g);
  const out: Record<string, [number, string]> = {};
  for (const [d, nh] of [...r.nextHop].sort()) out[d] = [r.cost.get(d) as number, nh];
  return out;
}

test('heap pops in order (random input, duplicates)', () => {
  const rng = new Prng(1);
  const h = new BinaryHeap<number>((a, b) => a < b);
  const xs = Array.from({ length: 2000 }, () => rng.int(500));
  for (const x of xs) h.push(x);
  assert.equal(h.size, xs.length);
  const out: number[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
  assert.deepEqual(
    out,
    [...xs].sort((a, b) => a - b),
  );
  assert.equal(h.pop(), undefined);
});

test("spf: line and asymmetric costs (cost per direction is the advertiser's)", () => {
  const g = graph({
    a: { links: { b: 1 } },
    b: { links: { a: 10, c: 2 } },
    c: { links: { b: 3 } },
  });
  assert.deepEqual(routes('a', g), { b: [1, 'b'], c: [3, 'b'] });
  assert.deepEqual(routes('c', g), { a: [13, 'b'], b: [3, 'b'] });
});

test('spf: a link counts only if both ends advertise it (two-way check)', () => {
  const g = graph({
    a: { links: { b: 1, c: 1 } },
    b: { links: { a: 1 } },
    c: { links: {} }, // c does not list a
  });
  assert.deepEqual(routes('a', g), { b: [1, 'b'] });
  // An advertised neighbor with no advertisement at all is not reachable either.
  const g2 = graph({ a: { links: { z: 1 } } });
  assert.deepEqual(routes('a', g2), {});
  // Self missing from the database: nothing reachable, no throw.
  assert.deepEqual(routes('x', g), {});
});

test('spf: deterministic tie-break picks the lowest next-hop id, whatever the insertion order', () => {
  // Square a-b-d, a-c-d, all cost 1; plus a longer a-e-d of equal total cost 2.
  const edges = ['a-c', 'c-d', 'a-b', 'b-d', 'a-e:1', 'e-d:1'];
  for (let i = 0; i < 6; i++) {
    const rotated = [...edges.slice(i), ...edges.slice(0, i)];
    assert.deepEqual(routes('a', sym(rotated)).d, [2, 'b']);
    assert.deepEqual(routes('d', sym(rotated)).a, [2, 'b']);
  }
  // Tie further away: a -> x reachable via b (b-y-x) and c (c-x with cost 2): both 3 -> b.
  const g = sym(['a-b', 'b-y', 'y-x', 'a-c', 'c-x:2']);
  assert.deepEqual(routes('a', g).x, [3, 'b']);
  // Lower cost beats lower id.
  const g2 = sym(['a-b:5', 'b-x', 'a-c', 'c-x']);
  assert.deepEqual(routes('a', g2).x, [2, 'c']);
});

test('spf: edge routers are destinations but never transit; an edge source uses its own links', () => {
  const g = sym(['i1-e:1', 'e-i2:1', 'i1-m:5', 'm-i2:5', 'e2-i2'], { e: 'edge', e2: 'edge' });
  assert.deepEqual(routes('i1', g), { e: [1, 'e'], e2: [11, 'm'], i2: [10, 'm'], m: [5, 'm'] });
  // From the edge itself, both interiors are one hop away.
  assert.deepEqual(routes('e', g), { e2: [2, 'i2'], i1: [1, 'i1'], i2: [1, 'i2'], m: [6, 'i1'] });
  // Two edges linked directly: usable between them, not through either.
  const g2 = sym(['x-y', 'x-i', 'i-y:9'], { x: 'edge', y: 'edge' });
  assert.deepEqual(routes('x', g2), { i: [1, 'i'], y: [1, 'y'] });
  assert.deepEqual(routes('i', g2), { x: [1, 'x'], y: [9, 'y'] });
});

test('spf: matches a brute-force Bellman-Ford on random graphs', () => {
  const rng = new Prng(77);
  for (let round = 0; round < 30; round++) {
    const n = 5 + rng.int(25);
    const ids = Array.from({ length: n }, (_, i) => `n${i}`);
    const spec: Spec = {};
    for (const id of ids) spec[id] = { mode: rng.int(5) === 0 ? 'edge' : 'interior', links: {} };
    for (let k = 0; k < n * 2; k++) {
      const a = ids[rng.int(n)] as string;
      const b = ids[rng.int(n)] as string;
      if (a === b) continue;
      (spec[a] as Spec[string]).links[b] = 1 + rng.int(4);
      if (rng.int(10) > 0) (spec[b] as Spec[string]).links[a] = 1 + rng.int(4); // some one-way links
    }
    const g = graph(spec);
    for (const src of ids.slice(0, 5)) {
      const got = shortestPaths(src, g);
      // Bellman-Ford with the same rules.
      const dist = new Map<string, number>([[src, 0]]);
      for (let it = 0; it < n; it++) {
        for (const [u, node] of g) {
          const du = dist.get(u);
          if (du === undefined || (u !== src && node.mode === 'edge')) continue;
          for (const [v, c] of node.links) {
            if (!g.get(v)?.links.has(u)) continue;
            if (du + c < (dist.get(v) ?? Infinity)) dist.set(v, du + c);
          }
        }
      }
      assert.deepEqual(
        new Map([...got.cost].sort()),
        new Map([...dist].sort()),
        `round ${round} from ${src}`,
      );
      // The next hop starts a shortest path and is the lowest such id.
      for (const [d, nh] of got.nextHop) {
        const candidates = [...(g.get(src) as SpfNode).links]
          .filter(([v]) => g.get(v)?.links.has(src))
          .filter(([v, c]) => {
            if (v === d) return c === dist.get(d);
            if (g.get(v)?.mode === 'edge') return false;
            // shortest from v to d avoiding nothing special: recompute quickly
            const dv = new Map<string, number>([[v, 0]]);
            for (let it = 0; it < n; it++) {
              for (const [u, node] of g) {
                const du = dv.get(u);
                if (du === undefined || (u !== v && node.mode === 'edge')) continue;
                for (const [w, cw] of node.links) {
                  if (!g.get(w)?.links.has(u)) continue;
                  if (du + cw < (dv.get(w) ?? Infinity)) dv.set(w, du + cw);
                }
              }
            }
            return c + (dv.get(d) ?? Infinity) === dist.get(d);
          })
          .map(([v]) => v)
          .sort();
        assert.equal(nh, candidates[0], `round ${round}: ${src} -> ${d}`);
      }
    }
  }
});

const ad = (over: Partial<RouterAdvertisement> = {}): RouterAdvertisement => ({
  t: 'ra',
  id: 'x',
  mode: 'interior',
  seq: 3,
  boot: 1,
  links: [{ neighbor: 'a', cost: 1 }],
  addresses: { k: 1 },
  key: 'key-x',
  sig: 'sig-x',
  ...over,
});

test('compareAds: higher seq wins; equal seq with different content has a total order', () => {
  assert.equal(compareAds(ad({ seq: 4 }), ad()), 1);
  assert.equal(compareAds(ad(), ad({ seq: 4 })), -1);
  assert.equal(compareAds(ad(), ad()), 0);
  const other = ad({ addresses: { k: 2 } });
  const c1 = compareAds(other, ad());
  const c2 = compareAds(ad(), other);
  assert.notEqual(c1, 0);
  assert.equal(c1, -c2);
  // Zero counts and key order in a peer's copy do not make it different.
  assert.equal(compareAds(ad({ addresses: { z: 0, k: 1 } }), ad()), 0);
});

test('parseRoutingMessage normalises and rejects bad shapes', () => {
  assert.deepEqual(
    parseRoutingMessage(ad({ addresses: { b: 1, a: 2, c: 0 } })),
    ad({ addresses: { a: 2, b: 1 } }),
  );
  assert.deepEqual(parseRoutingMessage({ t: 'hello', id: 'a', mode: 'edge', seen: ['b'], extra: 1 }), {
    t: 'hello',
    id: 'a',
    mode: 'edge',
    seen: ['b'],
  });
  // Unsorted or duplicate links are malformed (originators always sort them).
  assert.equal(
    parseRoutingMessage(
      ad({
        links: [
          { neighbor: 'b', cost: 1 },
          { neighbor: 'a', cost: 1 },
        ],
      }),
    ),
    undefined,
  );
  assert.equal(parseRoutingMessage(ad({ links: [{ neighbor: 'x', cost: 1 }] })), undefined); // self link
  assert.equal(parseRoutingMessage(ad({ seq: 0 })), undefined);
  assert.equal(parseRoutingMessage(ad({ seq: 1.5 })), undefined);
  // Keys must be routing keys: "__proto__" (an own property after JSON.parse) or escape sequences are refused.
  assert.equal(
    parseRoutingMessage(JSON.parse(JSON.stringify(ad()).replace('"k"', '"__proto__"'))),
    undefined,
  );
  assert.equal(parseRoutingMessage(ad({ addresses: { 'k\u001b[2J': 1 } })), undefined);
  assert.equal(parseRoutingMessage(ad({ seq: 2 ** 32 })), undefined);
  const parsed = parseRoutingMessage(ad({ addresses: { 'amqp:queue/a': 1, $management: 1 } }));
  assert.ok(parsed !== undefined && parsed.t === 'ra');
  assert.deepEqual(Object.keys(parsed.addresses), ['$management', 'amqp:queue/a']);
});
