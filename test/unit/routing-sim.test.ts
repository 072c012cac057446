// Network-level behaviour of the routing engine, on the in-process simulator (fake clock, no sleeps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Simulator,
  buildFullMesh,
  buildLine,
  buildRandom,
  buildRing,
  Prng,
  type SimConfig,
} from '../support/routing/simulator.js';

function converged(sim: Simulator, opts: Parameters<Simulator['check']>[0] = {}): void {
  const errors = sim.check(opts);
  assert.deepEqual(errors, [], errors.join('\n'));
}

function newSim(cfg: Partial<SimConfig> = {}): Simulator {
  return new Simulator({ helloIntervalMs: 100, ...cfg });
}

test('line of 8 converges; costs are hop counts; messages are JSON round-tripped', () => {
  const sim = newSim();
  const ids = buildLine(sim, 8);
  const took = sim.runUntilQuiet();
  converged(sim);
  const r = sim.engine(ids[0] as string).routes();
  assert.equal(r.size, 7);
  assert.equal(r.get(ids[7] as string)?.cost, 7);
  assert.equal(r.get(ids[7] as string)?.nextHop, ids[1]);
  assert.ok(sim.counters.bytes > 0);
  assert.ok(took < 1000, `converged in ${took} ms of simulated time`);
});

test('ring of 9 converges and uses the shorter way round', () => {
  const sim = newSim();
  const ids = buildRing(sim, 9);
  sim.runUntilQuiet();
  converged(sim);
  const r = sim.engine('r0').routes();
  assert.equal(r.get('r2')?.nextHop, 'r1');
  assert.equal(r.get('r7')?.nextHop, 'r8');
  assert.equal(r.get('r4')?.cost, 4);
  assert.equal(r.get('r5')?.cost, 4);
  assert.equal(r.get('r5')?.nextHop, 'r8');
  assert.equal(ids.length, 9);
});

test('even ring: equidistant destination breaks the tie toward the lower next-hop id', () => {
  const sim = newSim();
  buildRing(sim, 6);
  sim.runUntilQuiet();
  converged(sim);
  // r0 -> r3: via r1 (r0-r1-r2-r3) or via r5 (r0-r5-r4-r3), both cost 3.
  assert.equal(sim.engine('r0').routes().get('r3')?.nextHop, 'r1');
  // r3 -> r0: via r2 or r4, both cost 3.
  assert.equal(sim.engine('r3').routes().get('r0')?.nextHop, 'r2');
});

test('full mesh of 7 converges with direct routes', () => {
  const sim = newSim();
  const ids = buildFullMesh(sim, 7);
  sim.runUntilQuiet();
  converged(sim);
  for (const id of ids) {
    const routes = sim.engine(id).routes();
    assert.equal(routes.size, 6);
    for (const route of routes.values()) {
      assert.equal(route.cost, 1);
      assert.equal(route.nextHop, route.dest);
    }
  }
});

for (const seed of [1, 2, 3, 42]) {
  test(`random graph (60 routers, mean degree 3, random costs 1..5, random latency, seed ${seed}) converges`, () => {
    const sim = newSim();
    buildRandom(sim, 60, 3, { seed, maxCost: 5, latencyMs: [1, 20] });
    sim.runUntilQuiet();
    converged(sim);
  });
}

test('same seed, same run: the simulation is deterministic', () => {
  const run = (): string => {
    const sim = newSim();
    buildRandom(sim, 40, 4, { seed: 7, maxCost: 3, latencyMs: [1, 9] });
    sim.runUntilQuiet();
    const routes = sim.aliveIds().map((id) => [...sim.engine(id).routes().values()]);
    return JSON.stringify({ routes, counters: sim.counters, now: sim.now });
  };
  assert.equal(run(), run());
});

test('link loss: a failed link is detected by HELLO timeout and traffic reroutes', () => {
  const sim = newSim();
  buildRing(sim, 5);
  sim.runUntilQuiet();
  assert.equal(sim.engine('r0').routes().get('r1')?.nextHop, 'r1');
  const [link] = sim.linksBetween('r0', 'r1');
  assert.ok(link);
  const t0 = sim.now;
  sim.failLink(link.id);
  assert.ok(
    sim.runUntil(() => sim.engine('r0').routes().get('r1')?.nextHop === 'r4', 5000),
    'r0 reroutes to r1 via r4',
  );
  const detect = sim.now - t0;
  assert.ok(
    detect >= sim.cfg.deadIntervalMs && detect <= sim.cfg.deadIntervalMs + 200,
    `rerouted after ${detect} ms`,
  );
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().get('r1')?.cost, 4);
  assert.equal(sim.engine('r1').routes().get('r0')?.nextHop, 'r2');
});

test('graceful link removal reroutes at once (no timeout)', () => {
  const sim = newSim();
  buildRing(sim, 5);
  sim.runUntilQuiet();
  const t0 = sim.now;
  const [link] = sim.linksBetween('r0', 'r1');
  assert.ok(link);
  sim.removeLink(link.id);
  assert.ok(sim.runUntil(() => sim.engine('r1').routes().get('r0')?.nextHop === 'r2', 1000));
  assert.ok(sim.now - t0 < 50, `rerouted after ${sim.now - t0} ms`);
  sim.runUntilQuiet();
  converged(sim);
});

test('partition and heal: both halves lose each other, then re-learn everything via database sync', () => {
  const sim = newSim();
  // Two rings of 5 joined by a single bridge r2 <-> s2.
  const a = buildRing(sim, 5, { prefix: 'r' });
  const b = buildRing(sim, 5, { prefix: 's' });
  const bridge = sim.addLink('r2', 's2');
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().size, 9);

  sim.failLink(bridge);
  sim.runUntilQuiet();
  converged(sim);
  for (const id of a) {
    const routes = sim.engine(id).routes();
    assert.equal(routes.size, 4);
    for (const s of b) assert.equal(routes.has(s), false);
  }
  // Addresses follow reachability too.
  sim.setAddresses('s4', { db: 1 });
  sim.runUntilQuiet();
  assert.deepEqual(sim.engine('r0').addressDestinations('db'), []);
  assert.equal(sim.engine('s0').addressDestinations('db')[0]?.router, 's4');

  // Heal with a new link between different routers: the halves exchange their databases.
  sim.addLink('r4', 's1', { cost: 2 });
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().size, 9);
  assert.deepEqual(sim.engine('r0').addressDestinations('db'), [{ router: 's4', cost: 5, count: 1 }]);
});

test('partition longer than purgeAfterMs heals at once (refresh outpaces tombstones)', () => {
  const sim = newSim({ purgeAfterMs: 2000 });
  buildLine(sim, 3, { prefix: 'a' });
  buildLine(sim, 3, { prefix: 'b' });
  const bridge = sim.addLink('a2', 'b0');
  sim.runUntilQuiet();
  converged(sim);
  sim.failLink(bridge);
  sim.runFor(6000); // dead, purge, and well past
  assert.equal(
    sim
      .engine('a0')
      .topology()
      .routers.some((r) => r.id.startsWith('b')),
    false,
  );
  sim.addLink('a2', 'b0');
  const took = sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('a0').routes().size, 5);
  assert.ok(took < 100, `healed in ${took} ms`);
});

test('router restart: the new incarnation jumps past its old seq and everyone converges', () => {
  const sim = newSim();
  buildRing(sim, 6);
  sim.setAddresses('r3', { api: 2 });
  sim.runUntilQuiet();
  // Churn r3's seq up a few times before the restart.
  for (let i = 1; i <= 4; i++) {
    sim.setAddresses('r3', { api: 2, [`k${i}`]: 1 });
    sim.runUntilQuiet();
  }
  const oldSeq = sim.engine('r3').seq;
  assert.ok(oldSeq >= 5, `old seq ${oldSeq}`);
  sim.killRouter('r3');
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().has('r3'), false);
  // r3's ad is still in the databases (unreachable), waiting to be purged.
  const snap = sim
    .engine('r0')
    .topology()
    .routers.find((r) => r.id === 'r3');
  assert.equal(snap?.reachable, false);
  assert.equal(snap?.seq, oldSeq);

  sim.restartRouter('r3'); // addresses are restored by restartRouter
  sim.runUntilQuiet();
  converged(sim);
  const newSeq = sim.engine('r3').seq;
  assert.ok(newSeq > oldSeq, `new seq ${newSeq} > old ${oldSeq}`);
  for (const id of sim.aliveIds()) {
    const r3 = sim
      .engine(id)
      .topology()
      .routers.find((r) => r.id === 'r3');
    assert.equal(r3?.seq, newSeq, `${id} has r3 at the new seq`);
    assert.equal(r3?.reachable, true);
  }
  // The old addresses (k4) are gone, the restored ones are there.
  assert.deepEqual(sim.engine('r0').addressKeys(), ['api', 'k4']);
  assert.deepEqual(sim.engine('r0').addressDestinations('api'), [{ router: 'r3', cost: 3, count: 2 }]);
});

test('router restart after its advertisement was purged everywhere: tombstones teach it the old seq', () => {
  const sim = newSim({ purgeAfterMs: 2000 });
  buildLine(sim, 4);
  sim.runUntilQuiet();
  for (let i = 0; i < 3; i++) {
    sim.setAddresses('r3', { [`x${i}`]: 1 });
    sim.runUntilQuiet();
  }
  const oldSeq = sim.engine('r3').seq;
  sim.killRouter('r3');
  sim.runFor(3000); // dead (300 ms) + purge (2000 ms)
  assert.equal(
    sim
      .engine('r2')
      .topology()
      .routers.some((r) => r.id === 'r3'),
    false,
  );
  sim.restartRouter('r3');
  sim.runUntilQuiet();
  converged(sim);
  assert.ok(sim.engine('r3').seq > oldSeq);
  assert.equal(sim.engine('r0').routes().get('r3')?.cost, 3);
});

test('router crash with purge: unreachable advertisements are dropped after purgeAfterMs', () => {
  const sim = newSim({ purgeAfterMs: 5000 });
  buildLine(sim, 4);
  sim.runUntilQuiet();
  sim.killRouter('r3');
  sim.runUntilQuiet();
  const has = (id: string): boolean =>
    sim
      .engine(id)
      .topology()
      .routers.some((r) => r.id === 'r3');
  assert.equal(has('r0'), true);
  sim.runFor(5000);
  for (const id of ['r0', 'r1', 'r2']) assert.equal(has(id), false, `${id} purged r3`);
  // The purge does not come back through the normal HELLO/refresh traffic.
  sim.runFor(3000);
  for (const id of ['r0', 'r1', 'r2']) assert.equal(has(id), false, `${id} still without r3`);
});

test('cost change flips the path', () => {
  const sim = newSim();
  //   r0 --1-- r1 --1-- r3
  //    \--1-- r2 --2--/
  for (const id of ['r0', 'r1', 'r2', 'r3']) sim.addRouter(id);
  const l01 = sim.addLink('r0', 'r1');
  sim.addLink('r1', 'r3');
  sim.addLink('r0', 'r2');
  sim.addLink('r2', 'r3', { cost: 2 });
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(
    { ...sim.engine('r0').routes().get('r3') },
    { dest: 'r3', cost: 2, nextHop: 'r1', links: [l01] },
  );
  const v = sim.engine('r0').version;
  sim.setLinkCost(l01, 5);
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().get('r3')?.nextHop, 'r2');
  assert.equal(sim.engine('r0').routes().get('r3')?.cost, 3);
  assert.ok(sim.engine('r0').version > v);
  // Asymmetric costs: only r1's side gets cheaper again; r0 still sees cost 5 on its side.
  sim.setLinkCost(l01, 1, 'r1');
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().get('r3')?.nextHop, 'r2');
  assert.equal(sim.engine('r3').routes().get('r0')?.nextHop, 'r1');
  assert.equal(sim.engine('r3').routes().get('r0')?.cost, 2);
});

test('parallel links between two routers: min cost is advertised, links are listed best first, loss of one is survivable', () => {
  const sim = newSim();
  sim.addRouter('a');
  sim.addRouter('b');
  sim.addRouter('c');
  const slow = sim.addLink('a', 'b', { cost: 3, id: 'ab-slow' });
  const fast = sim.addLink('a', 'b', { cost: 1, id: 'ab-fast' });
  const fast2 = sim.addLink('a', 'b', { cost: 1, id: 'ab-fast2' });
  sim.addLink('b', 'c');
  sim.runUntilQuiet();
  converged(sim);
  const ra = sim.engine('a');
  assert.deepEqual(ra.routes().get('b')?.links, [fast, fast2, slow]);
  assert.deepEqual(ra.routes().get('c'), { dest: 'c', cost: 2, nextHop: 'b', links: [fast, fast2, slow] });
  const ab = ra.topology().routers.find((r) => r.id === 'a')?.links;
  assert.deepEqual(ab, [{ neighbor: 'b', cost: 1 }]);
  assert.equal(ra.neighborOf(slow), 'b');

  sim.failLink(fast);
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(ra.routes().get('c')?.links, [fast2, slow]);
  sim.removeLink(fast2);
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(ra.routes().get('c'), { dest: 'c', cost: 4, nextHop: 'b', links: [slow] });
  // Advertisements still flow over the remaining link.
  sim.setAddresses('c', { svc: 1 });
  sim.runUntilQuiet();
  assert.deepEqual(ra.addressDestinations('svc'), [{ router: 'c', cost: 4, count: 1 }]);
});

test('edge routers: get full routes from their interiors and are never transit', () => {
  const sim = newSim();
  // i0 - i1 - i2 (interior line) ; e0 attached to i0 and i2 ; e1 attached to i1.
  for (const id of ['i0', 'i1', 'i2']) sim.addRouter(id);
  sim.addRouter('e0', 'edge', { web: 1 });
  sim.addRouter('e1', 'edge');
  sim.addLink('i0', 'i1', { cost: 5 });
  sim.addLink('i1', 'i2', { cost: 5 });
  sim.addLink('e0', 'i0');
  sim.addLink('e0', 'i2');
  sim.addLink('e1', 'i1');
  sim.runUntilQuiet();
  converged(sim);
  // i0 -> i2 would cost 2 through e0, but edges are not transit: 10 through i1.
  assert.deepEqual(
    {
      cost: sim.engine('i0').routes().get('i2')?.cost,
      nextHop: sim.engine('i0').routes().get('i2')?.nextHop,
    },
    { cost: 10, nextHop: 'i1' },
  );
  // The edge itself (as source) uses both its interiors.
  const e0 = sim.engine('e0').routes();
  assert.equal(e0.get('i0')?.cost, 1);
  assert.equal(e0.get('i2')?.cost, 1);
  assert.equal(e0.get('i1')?.cost, 6);
  assert.equal(e0.get('e1')?.cost, 7);
  // e1 learned the whole database from i1 and reaches everyone through it.
  const e1 = sim.engine('e1').routes();
  assert.deepEqual([...e1.keys()], ['e0', 'i0', 'i1', 'i2']);
  for (const r of e1.values()) assert.equal(r.nextHop, 'i1');
  assert.deepEqual(sim.engine('e1').addressDestinations('web'), [{ router: 'e0', cost: 7, count: 1 }]);
  // Edges do not re-flood: e0 forwards no one else's advertisement.
  assert.deepEqual(sim.engine('i1').addressDestinations('web'), [{ router: 'e0', cost: 6, count: 1 }]);
  // An edge with one interior loses everything when it goes.
  sim.killRouter('i1');
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('e1').routes().size, 0);
  assert.equal(sim.engine('i0').routes().get('i2')?.nextHop, undefined); // only path is via edge e0
  assert.equal(sim.engine('e0').routes().get('i2')?.cost, 1);
});

test('edge traffic counts: edges send only their own advertisement', () => {
  const sim = newSim();
  buildLine(sim, 5);
  sim.addRouter('e', 'edge');
  sim.addLink('e', 'r2');
  sim.runUntilQuiet();
  converged(sim);
  sim.resetCounters();
  // A change far away floods to the edge, which does not forward it anywhere.
  sim.setAddresses('r0', { x: 1 });
  sim.runUntilQuiet();
  const edgeOut = sim.engine('e').stats();
  assert.ok(edgeOut.adsAccepted >= 1);
  // 4 interior hops r0->r1->r2->r3->r4 plus r2->e: 5 advertisements, no duplicates.
  assert.equal(sim.counters.byType.ra, 5);
});

test('address advertisements appear, change, withdraw and follow reachability', () => {
  const sim = newSim();
  buildLine(sim, 4);
  sim.runUntilQuiet();
  const r0 = sim.engine('r0');
  const v0 = r0.version;
  sim.setAddresses('r2', { db: 1, web: 2 });
  sim.setAddresses('r3', { db: 3 });
  sim.setAddresses('r0', { db: 1 });
  sim.runUntilQuiet();
  converged(sim);
  assert.ok(r0.version > v0);
  assert.deepEqual(r0.addressKeys(), ['db', 'web']);
  assert.deepEqual(r0.addressDestinations('db'), [
    { router: 'r0', cost: 0, count: 1 },
    { router: 'r2', cost: 2, count: 1 },
    { router: 'r3', cost: 3, count: 3 },
  ]);
  assert.deepEqual(r0.addressDestinations('nope'), []);
  // Withdraw (count 0) and change.
  sim.setAddresses('r2', { db: 0, web: 5 });
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(
    r0.addressDestinations('db').map((d) => d.router),
    ['r0', 'r3'],
  );
  assert.deepEqual(r0.addressDestinations('web'), [{ router: 'r2', cost: 2, count: 5 }]);
  // Reachability: cutting r2-r3 hides r3's keys from r0, restoring brings them back.
  const [l23] = sim.linksBetween('r2', 'r3');
  assert.ok(l23);
  sim.removeLink(l23.id);
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(
    r0.addressDestinations('db').map((d) => d.router),
    ['r0'],
  );
  sim.addLink('r2', 'r3');
  sim.runUntilQuiet();
  converged(sim);
  assert.deepEqual(
    r0.addressDestinations('db').map((d) => d.router),
    ['r0', 'r3'],
  );
  // Withdrawing everything.
  sim.setAddresses('r0', {});
  sim.setAddresses('r3', {});
  sim.setAddresses('r2', {});
  sim.runUntilQuiet();
  assert.deepEqual(r0.addressKeys(), []);
});

test('address-only changes do not run SPF on the other routers', () => {
  const sim = newSim();
  buildRing(sim, 6);
  sim.runUntilQuiet();
  for (const id of sim.aliveIds()) sim.engine(id).routes();
  const before = sim.engine('r3').stats().spfRuns;
  sim.setAddresses('r0', { a: 1 });
  sim.runUntilQuiet();
  assert.deepEqual(sim.engine('r3').addressKeys(), ['a']);
  assert.equal(sim.engine('r3').stats().spfRuns, before);
});

test('periodic refresh re-originates advertisements but changes no route', () => {
  const sim = newSim({ refreshIntervalMs: 2000 });
  buildRing(sim, 5);
  sim.runUntilQuiet();
  const seq = sim.engine('r0').seq;
  const v = sim.engine('r1').version;
  sim.runFor(4500);
  assert.ok(sim.engine('r0').seq >= seq + 2);
  const r0 = sim
    .engine('r1')
    .topology()
    .routers.find((r) => r.id === 'r0');
  assert.equal(r0?.seq, sim.engine('r0').seq);
  assert.equal(sim.engine('r1').version, v);
  converged(sim);
});

test('silent failure of the only link: both ends time out, the cut-off router has no routes', () => {
  const sim = newSim();
  buildLine(sim, 3);
  sim.runUntilQuiet();
  const [l] = sim.linksBetween('r0', 'r1');
  assert.ok(l);
  sim.failLink(l.id);
  sim.runUntilQuiet();
  converged(sim);
  assert.equal(sim.engine('r0').routes().size, 0);
  assert.equal(sim.engine('r2').routes().size, 1);
  assert.deepEqual(
    sim
      .engine('r0')
      .linkInfo()
      .map((x) => x.linkId),
    [],
  );
});

test('many changes at once on a random graph, then convergence', () => {
  const sim = newSim();
  const ids = buildRandom(sim, 80, 4, { seed: 99, maxCost: 4, latencyMs: [1, 15] });
  sim.runUntilQuiet();
  converged(sim);
  // Fail some links, kill two routers, add shortcuts, change costs, all within one hello interval.
  let k = 0;
  for (const id of ids) {
    const links = ids.slice(0, 10).flatMap((other) => sim.linksBetween(id, other));
    for (const l of links) {
      if (l.state === 'up' && k++ % 3 === 0) sim.failLink(l.id);
    }
  }
  sim.killRouter(ids[20] as string);
  sim.killRouter(ids[30] as string, { graceful: true });
  sim.addLink(ids[40] as string, ids[50] as string, { cost: 2 });
  sim.addLink(ids[41] as string, ids[79] as string, { cost: 1 });
  sim.runFor(50);
  sim.restartRouter(ids[30] as string);
  sim.setAddresses(ids[5] as string, { s: 1 });
  sim.setAddresses(ids[60] as string, { s: 2 });
  sim.runUntilQuiet();
  converged(sim);
});

for (const seed of (process.env.CHAOS_SEEDS ?? '11,12,13,14,15,16').split(',').map(Number)) {
  test(`chaos (seed ${seed}): random failures, restarts, costs, addresses and edges, then convergence`, () => {
    const rng = new Prng(seed);
    const sim = newSim({ purgeAfterMs: 3000 });
    const ids = buildRandom(sim, 30, 3, { seed, maxCost: 6, latencyMs: [1, 30] });
    const edges = ['e0', 'e1', 'e2'];
    for (const e of edges) {
      sim.addRouter(e, 'edge', { [`svc-${e}`]: 1 });
      sim.addLink(e, ids[rng.int(ids.length)] as string);
      sim.addLink(e, ids[rng.int(ids.length)] as string);
    }
    const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)] as T;
    for (let step = 0; step < 60; step++) {
      const up = sim.aliveIds();
      const live = up.flatMap((a) => up.filter((b) => a < b).flatMap((b) => sim.linksBetween(a, b)));
      const liveUp = live.filter((l) => l.state === 'up');
      switch (rng.int(8)) {
        case 0:
          if (liveUp.length > 0) sim.failLink(pick(liveUp).id);
          break;
        case 1:
          if (liveUp.length > 0) sim.removeLink(pick(liveUp).id);
          break;
        case 2: {
          const a = pick(up);
          const b = pick(up);
          if (a !== b && !(edges.includes(a) && edges.includes(b)))
            sim.addLink(a, b, { cost: 1 + rng.int(6) });
          break;
        }
        case 3:
          if (liveUp.length > 0)
            sim.setLinkCost(pick(liveUp).id, 1 + rng.int(9), rng.int(2) === 0 ? undefined : pick(up));
          break;
        case 4: {
          const victim = pick(ids);
          if (sim.isAlive(victim)) sim.killRouter(victim, { graceful: rng.int(2) === 0 });
          else sim.restartRouter(victim);
          break;
        }
        case 5: {
          const r = pick(up);
          sim.setAddresses(r, rng.int(3) === 0 ? {} : { [`k${rng.int(4)}`]: 1 + rng.int(3), shared: 1 });
          break;
        }
        case 6:
          sim.runFor(rng.int(2000));
          break;
        default:
          sim.runFor(rng.int(100));
      }
    }
    for (const id of ids) if (!sim.isAlive(id) && rng.int(2) === 0) sim.restartRouter(id);
    sim.runUntilQuiet();
    converged(sim);
    // And after purge time everything unreachable is gone, while everything reachable stays.
    sim.runFor(7000);
    converged(sim);
    for (const id of sim.aliveIds()) {
      const eng = sim.engine(id);
      const known = eng.topology().routers;
      for (const r of known) assert.equal(r.reachable, true, `${id} still holds unreachable ${r.id}`);
      assert.equal(known.length, eng.routes().size + 1);
    }
  });
}
