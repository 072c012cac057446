// The routing engine driven by hand: HELLO/two-way, timers, validation, sequence numbers. No sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { RoutingEngine } from '../../src/routing/engine.js';
import { adSigningBytes } from '../../src/routing/messages.js';
import { simulationAuthenticator } from '../support/routing/sim-auth.js';
import type {
  EngineConfig,
  OutboundMessage,
  RouterAdvertisement,
  RoutingMessage,
} from '../../src/routing/types.js';

const HELLO = 100;
const DEAD = 300;

function engine(id: string, over: Partial<EngineConfig> = {}, now = 0): RoutingEngine {
  return new RoutingEngine(
    {
      id,
      mode: 'interior',
      helloIntervalMs: HELLO,
      deadIntervalMs: DEAD,
      authenticator: simulationAuthenticator(id),
      ...over,
    },
    now,
  );
}

/** An advertisement as its originator `ad.id` signs it (with the simulator's stand-in keys). */
function signed(ad: Omit<RouterAdvertisement, 'key' | 'sig'>, as = ad.id): RouterAdvertisement {
  const auth = simulationAuthenticator(as);
  const unsigned = { ...ad, key: auth.key };
  return { ...unsigned, sig: auth.sign(adSigningBytes(unsigned)) };
}

/** A tiny zero-latency network: links are [linkId, a, b]; messages are JSON round-tripped. */
class Net {
  readonly sent: Array<OutboundMessage & { from: string }> = [];
  constructor(
    readonly nodes: Record<string, RoutingEngine>,
    readonly links: Array<[string, string, string]>,
    readonly drop: (linkId: string, from: string, msg: RoutingMessage) => boolean = () => false,
  ) {}

  up(now: number, cost = 1): void {
    for (const [id, a, b] of this.links) {
      this.node(a).linkUp(id, cost, now);
      this.node(b).linkUp(id, cost, now);
    }
  }

  node(id: string): RoutingEngine {
    return this.nodes[id] as RoutingEngine;
  }

  pump(now: number): number {
    let n = 0;
    for (let round = 0; round < 1000; round++) {
      let moved = false;
      for (const [from, eng] of Object.entries(this.nodes)) {
        for (const m of eng.drainOutbox()) {
          this.sent.push({ ...m, from });
          const link = this.links.find((l) => l[0] === m.linkId);
          if (link === undefined || this.drop(m.linkId, from, m.msg)) continue;
          const to = link[1] === from ? link[2] : link[1];
          this.node(to).receive(m.linkId, JSON.parse(JSON.stringify(m.msg)), now);
          moved = true;
          n++;
        }
      }
      if (!moved) return n;
    }
    throw new Error('no quiescence');
  }

  tick(now: number): void {
    for (const e of Object.values(this.nodes)) e.tick(now);
    this.pump(now);
  }
}

test('HELLO exchange: neighbor learned, two-way check, events, routes', () => {
  const a = engine('a');
  const b = engine('b');
  a.linkUp('L', 1, 0);
  const out = a.drainOutbox();
  assert.deepEqual(out, [
    { linkId: 'L', msg: { t: 'hello', id: 'a', mode: 'interior', seen: [], dead: DEAD } },
  ]);
  assert.equal(a.neighborOf('L'), undefined);
  b.linkUp('L', 1, 0);
  b.drainOutbox();
  b.receive('L', out[0]?.msg, 1);
  assert.equal(b.neighborOf('L'), 'a');
  assert.deepEqual(b.drainLinkEvents(), []); // one-way so far
  // b answers at once, listing a.
  const fromB = b.drainOutbox();
  assert.deepEqual(fromB, [
    { linkId: 'L', msg: { t: 'hello', id: 'b', mode: 'interior', seen: ['a'], dead: DEAD } },
  ]);
  a.receive('L', fromB[0]?.msg, 2);
  assert.deepEqual(a.drainLinkEvents(), [{ linkId: 'L', event: 'two-way', neighbor: 'b' }]);
  const net = new Net({ a, b }, [['L', 'a', 'b']]);
  net.pump(3);
  assert.deepEqual(b.drainLinkEvents(), [{ linkId: 'L', event: 'two-way', neighbor: 'a' }]);
  assert.deepEqual([...a.routes().values()], [{ dest: 'b', cost: 1, nextHop: 'b', links: ['L'] }]);
  assert.deepEqual([...b.routes().values()], [{ dest: 'a', cost: 1, nextHop: 'a', links: ['L'] }]);
  // Every message is plain JSON.
  for (const m of net.sent) assert.deepEqual(JSON.parse(JSON.stringify(m.msg)), m.msg);
});

test('one-way link (messages lost in one direction) never becomes an adjacency', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']], (_l, from) => from === 'a');
  net.up(0);
  net.pump(0);
  for (let t = HELLO; t < DEAD; t += HELLO) net.tick(t);
  assert.equal(net.node('a').routes().size, 0);
  assert.equal(net.node('b').routes().size, 0);
  assert.equal(net.node('a').neighborOf('L'), 'b');
  assert.equal(net.node('b').neighborOf('L'), undefined);
  assert.deepEqual(net.node('a').drainLinkEvents(), []);
  // b hears nothing at all: its link goes dead after the dead interval.
  net.tick(DEAD);
  assert.deepEqual(net.node('b').drainLinkEvents(), [{ linkId: 'L', event: 'dead' }]);
});

test('timers: HELLO every interval, dead after deadInterval of silence, nextTimerAt is exact', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  a.drainLinkEvents();
  assert.equal(a.nextTimerAt(), HELLO);
  // Nothing to do before it: tick emits nothing.
  a.tick(HELLO - 1);
  assert.deepEqual(a.drainOutbox(), []);
  a.tick(HELLO);
  assert.deepEqual(
    a.drainOutbox().map((m) => m.msg.t),
    ['hello'],
  );
  assert.equal(a.nextTimerAt(), 2 * HELLO);
  // b goes silent (we stop delivering). a declares the link dead exactly DEAD after the last HELLO heard (t=0).
  a.tick(2 * HELLO);
  a.drainOutbox();
  assert.equal(a.nextTimerAt(), DEAD);
  a.tick(DEAD - 1);
  assert.deepEqual(a.drainLinkEvents(), []);
  a.tick(DEAD);
  assert.deepEqual(a.drainLinkEvents(), [{ linkId: 'L', event: 'dead', neighbor: 'b' }]);
  assert.equal(a.routes().size, 0);
  // A dead link sends nothing more, ignores input, and is forgotten on linkDown.
  a.tick(DEAD + 10 * HELLO);
  assert.ok(a.drainOutbox().every((m) => m.msg.t !== 'hello'));
  a.receive('L', { t: 'hello', id: 'b', mode: 'interior', seen: ['a'] }, DEAD + 1);
  assert.equal(a.stats().ignored, 1);
  assert.equal(a.linkInfo()[0]?.dead, true);
  a.linkDown('L', DEAD + 2);
  assert.deepEqual(a.linkInfo(), []);
  assert.ok(a.nextTimerAt() > DEAD + 2);
  assert.ok(Number.isFinite(a.nextTimerAt())); // refresh / purge remain
});

test("dead interval: the larger of ours and the neighbor's, so sites with different timers do not flap", () => {
  // b says hello every 1000 ms with a dead interval of 3000; a (HELLO 100, DEAD 300) must not time it out at 300
  const a = engine('a');
  a.linkUp('L', 1, 0);
  a.drainOutbox();
  a.receive('L', { t: 'hello', id: 'b', mode: 'interior', seen: ['a'], dead: 3000 }, 0);
  assert.equal(a.linkInfo()[0]?.deadIntervalMs, 3000);
  a.tick(2999);
  assert.ok(!a.drainLinkEvents().some((e) => e.event === 'dead'), "alive until the neighbor's dead interval");
  a.tick(3000);
  assert.deepEqual(
    a.drainLinkEvents().filter((e) => e.event === 'dead'),
    [{ linkId: 'L', event: 'dead', neighbor: 'b' }],
  );

  // a smaller dead interval from the neighbor never shortens ours; a HELLO without one (an older router) keeps ours
  const c = engine('c');
  c.linkUp('L', 1, 0);
  c.receive('L', { t: 'hello', id: 'd', mode: 'interior', seen: ['c'], dead: 150 }, 0);
  assert.equal(c.linkInfo()[0]?.deadIntervalMs, DEAD);
  c.receive('L', { t: 'hello', id: 'd', mode: 'interior', seen: ['c'], dead: 5000 }, 10);
  assert.equal(c.linkInfo()[0]?.deadIntervalMs, 5000);
  c.receive('L', { t: 'hello', id: 'd', mode: 'interior', seen: ['c'] }, 20);
  assert.equal(c.linkInfo()[0]?.deadIntervalMs, DEAD, "follows the neighbor's latest HELLO");
});

test('tick() after nextTimerAt() always moves nextTimerAt() into the future', () => {
  const net = new Net({ a: engine('a'), b: engine('b'), c: engine('c') }, [
    ['L1', 'a', 'b'],
    ['L2', 'b', 'c'],
  ]);
  net.up(0);
  net.pump(0);
  let now = 0;
  for (let i = 0; i < 50; i++) {
    now = Math.min(...Object.values(net.nodes).map((e) => e.nextTimerAt()));
    net.tick(now);
    for (const e of Object.values(net.nodes)) assert.ok(e.nextTimerAt() > now, `stuck at ${now}`);
  }
  assert.ok(now >= (49 * HELLO) / 2);
});

test('malformed messages are ignored and counted, never thrown', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  const before = a.stats();
  const routesBefore = a.routes();
  const good: RouterAdvertisement = signed({
    t: 'ra',
    id: 'z',
    mode: 'interior',
    seq: 1,
    boot: 7,
    links: [{ neighbor: 'b', cost: 1 }],
    addresses: {},
  });
  const hostile = {
    t: 'ra',
    get id(): string {
      throw new Error('boom');
    },
  };
  const bad: unknown[] = [
    null,
    undefined,
    42,
    'hello',
    [],
    {},
    { t: 'nope' },
    { t: 'hello' },
    { t: 'hello', id: '', mode: 'interior', seen: [] },
    { t: 'hello', id: 'b', mode: 'core', seen: [] },
    { t: 'hello', id: 'b', mode: 'interior', seen: 'a' },
    { t: 'hello', id: 'b', mode: 'interior', seen: [1] },
    { t: 'hello', id: 'x'.repeat(300), mode: 'interior', seen: [] },
    { t: 'hello', id: 'b', mode: 'interior', seen: [], dead: 0 },
    { t: 'hello', id: 'b', mode: 'interior', seen: [], dead: -5 },
    { t: 'hello', id: 'b', mode: 'interior', seen: [], dead: 1.5 },
    { t: 'hello', id: 'b', mode: 'interior', seen: [], dead: '3000' },
    { t: 'hello', id: 'b', mode: 'interior', seen: [], dead: 25 * 60 * 60 * 1000 },
    { ...good, seq: 0 },
    { ...good, seq: -1 },
    { ...good, seq: '2' },
    { ...good, seq: Number.MAX_SAFE_INTEGER + 2 },
    { ...good, seq: 2 ** 32 },
    { ...good, key: undefined },
    { ...good, key: '' },
    { ...good, sig: 7 },
    { ...good, sig: 'x'.repeat(300) },
    { ...good, id: 'z\u001b[31m' },
    { ...good, addresses: { 'db\u001b[2J': 1 } },
    { ...good, addresses: { 'a b': 1 } },
    { t: 'hello', id: 'b c', mode: 'interior', seen: [] },
    { ...good, boot: undefined },
    { ...good, boot: '1' },
    { ...good, boot: Infinity },
    { ...good, links: null },
    { ...good, links: [null] },
    { ...good, links: [{ neighbor: 'b' }] },
    { ...good, links: [{ neighbor: 'b', cost: 0 }] },
    { ...good, links: [{ neighbor: 'b', cost: -1 }] },
    { ...good, links: [{ neighbor: 'b', cost: Infinity }] },
    { ...good, links: [{ neighbor: 'b', cost: NaN }] },
    { ...good, links: [{ neighbor: 7, cost: 1 }] },
    {
      ...good,
      links: [
        { neighbor: 'b', cost: 1 },
        { neighbor: 'b', cost: 2 },
      ],
    },
    { ...good, links: [{ neighbor: 'z', cost: 1 }] },
    { ...good, addresses: null },
    { ...good, addresses: [] },
    { ...good, addresses: { db: -1 } },
    { ...good, addresses: { db: 1.5 } },
    { ...good, addresses: { db: '1' } },
    { ...good, addresses: { '': 1 } },
    { ...good, mode: 'router' },
    { ...good, id: 5 },
    hostile,
  ];
  for (const m of bad) assert.doesNotThrow(() => a.receive('L', m, 1));
  const after = a.stats();
  assert.equal(after.malformed - before.malformed, bad.length);
  assert.equal(after.messagesIn - before.messagesIn, bad.length);
  assert.equal(a.routes(), routesBefore);
  assert.equal(a.topology().routers.length, 2);
  // Well-formed but not for us: unknown link, our own id in a HELLO.
  a.receive('nope', { t: 'hello', id: 'b', mode: 'interior', seen: [] }, 2);
  a.receive('L', { t: 'hello', id: 'a', mode: 'interior', seen: [] }, 2);
  assert.equal(a.stats().ignored - before.ignored, 2);
  assert.equal(a.stats().malformed - before.malformed, bad.length);
  // The good one is accepted.
  a.receive('L', good, 3);
  assert.ok(a.topology().routers.some((r) => r.id === 'z'));
});

test('sequence numbers: older copies are answered with ours, newer copies of our own ad make us jump', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  const seqA = a.seq;
  // b sends a stale copy of a's ad: a answers with its current one.
  a.receive(
    'L',
    signed({ t: 'ra', id: 'a', mode: 'interior', seq: 1, boot: 0, links: [], addresses: {} }),
    1,
  );
  const reply = a.drainOutbox();
  assert.equal(reply.length, 1);
  assert.equal((reply[0]?.msg as RouterAdvertisement).seq, seqA);
  // A copy from a previous incarnation with a higher seq: jump past it and flood.
  a.receive(
    'L',
    signed({ t: 'ra', id: 'a', mode: 'interior', seq: 41, boot: -5, links: [], addresses: { old: 1 } }),
    2,
  );
  const flood = a.drainOutbox();
  assert.equal(flood.length, 1);
  const ad = flood[0]?.msg as RouterAdvertisement;
  assert.equal(ad.seq, 42);
  assert.deepEqual(ad.links, [{ neighbor: 'b', cost: 1 }]);
  assert.deepEqual(ad.addresses, {});
  assert.equal(a.seq, 42);
  // Same seq, different content (two incarnations collided): jump again.
  a.receive('L', signed({ ...ad, addresses: { other: 1 } }), 3);
  assert.equal(a.seq, 43);
  // Same seq, same content: a duplicate, nothing happens.
  const dup = a.drainOutbox()[0]?.msg as RouterAdvertisement;
  a.receive('L', dup, 4);
  assert.deepEqual(a.drainOutbox(), []);
  assert.equal(a.seq, 43);
  // b's older copy of a third router is answered; a newer one replaces it.
  net.pump(5);
  a.receive(
    'L',
    signed({ t: 'ra', id: 'c', mode: 'interior', seq: 5, boot: 0, links: [], addresses: {} }),
    6,
  );
  a.drainOutbox();
  a.receive(
    'L',
    signed({ t: 'ra', id: 'c', mode: 'interior', seq: 4, boot: 0, links: [], addresses: {} }),
    7,
  );
  assert.deepEqual(
    a.drainOutbox().map((m) => [(m.msg as RouterAdvertisement).id, (m.msg as RouterAdvertisement).seq]),
    [['c', 5]],
  );
});

test('origination is lazy: several changes before a drain cost one seq', () => {
  const a = engine('a');
  const peers = ['b', 'c', 'd'].map((id) => engine(id));
  const links: Array<[string, string, string]> = peers.map((p, i) => [`L${i}`, 'a', p.id]);
  const net = new Net({ a, ...Object.fromEntries(peers.map((p) => [p.id, p])) }, links);
  net.up(0);
  net.pump(0);
  assert.equal(a.seq, 2); // 1 at start, 2 with all three neighbors
  a.setLocalAddresses({ x: 1 }, 1);
  a.setLocalAddresses({ x: 1, y: 2 }, 1);
  a.setLocalAddresses({ x: 1, y: 2, z: 0 }, 1); // zero = absent
  net.pump(1);
  assert.equal(a.seq, 3);
  a.setLocalAddresses({ y: 2, x: 1 }, 2); // same content, different order: no new seq
  net.pump(2);
  assert.equal(a.seq, 3);
  for (const p of peers) assert.deepEqual(p.addressDestinations('y'), [{ router: 'a', cost: 1, count: 2 }]);
});

test('refresh re-originates the own advertisement every refreshIntervalMs', () => {
  const net = new Net({ a: engine('a', { refreshIntervalMs: 1000 }), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  const s0 = a.seq;
  for (let t = HELLO; t <= 1000; t += HELLO) net.tick(t);
  assert.equal(a.seq, s0 + 1);
  const bView = net
    .node('b')
    .topology()
    .routers.find((r) => r.id === 'a');
  assert.equal(bView?.seq, s0 + 1);
});

test('version changes only when routes or address destinations change', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  const v = a.version;
  assert.equal(a.version, v);
  net.tick(HELLO);
  net.tick(2 * HELLO);
  assert.equal(a.version, v); // HELLOs change nothing
  net.node('b').setLocalAddresses({ k: 1 }, 2 * HELLO);
  net.pump(2 * HELLO);
  assert.equal(a.version, v + 1);
  a.setLinkCost('L', 4, 2 * HELLO);
  net.pump(2 * HELLO);
  assert.equal(a.version, v + 2);
  assert.equal(a.routes().get('b')?.cost, 4);
  assert.deepEqual(a.addressDestinations('k'), [{ router: 'b', cost: 4, count: 1 }]);
  // Returned values are snapshots or frozen: callers cannot corrupt the engine.
  a.addressDestinations('k').pop();
  assert.equal(a.addressDestinations('k').length, 1);
  const route = a.routes().get('b');
  assert.ok(route !== undefined && Object.isFrozen(route) && Object.isFrozen(route.links));
});

test('edge router: sends only its own advertisement and never re-floods', () => {
  const e = engine('e', { mode: 'edge' });
  const net = new Net({ e, i1: engine('i1'), i2: engine('i2') }, [
    ['L1', 'e', 'i1'],
    ['L2', 'e', 'i2'],
  ]);
  net.up(0);
  net.pump(0);
  const fromEdge = net.sent.filter((m) => m.from === 'e' && m.msg.t === 'ra');
  assert.ok(fromEdge.length > 0);
  for (const m of fromEdge) assert.equal((m.msg as RouterAdvertisement).id, 'e');
  // The edge knows both interiors and routes to each directly; i1 and i2 cannot reach each other through it.
  assert.deepEqual([...e.routes().keys()], ['i1', 'i2']);
  assert.deepEqual([...net.node('i1').routes().keys()], ['e']);
  assert.equal(
    net
      .node('i1')
      .topology()
      .routers.some((r) => r.id === 'i2'),
    false,
  );
});

test('configuration and local input errors throw; peer input never does', () => {
  assert.throws(() => engine(''), RangeError);
  assert.throws(() => engine('a', { helloIntervalMs: 0 }), RangeError);
  assert.throws(() => engine('a', { deadIntervalMs: NaN }), RangeError);
  assert.throws(() => engine('a', { mode: 'hub' as 'edge' }), RangeError);
  const a = engine('a');
  assert.throws(() => a.linkUp('L', 0, 0), RangeError);
  assert.throws(() => a.linkUp('L', NaN, 0), RangeError);
  assert.throws(() => a.setLocalAddresses({ db: -1 }, 0), TypeError);
  assert.throws(() => a.setLocalAddresses({ '': 1 }, 0), TypeError);
  a.linkUp('L', 2, 0);
  assert.throws(() => a.setLinkCost('L', -3, 0), RangeError);
  a.setLinkCost('unknown', 3, 0); // unknown link: no-op
  a.linkDown('unknown', 0);
});

test('addresses of self appear with cost 0 even with no neighbors', () => {
  const a = engine('a');
  a.setLocalAddresses({ db: 2 }, 0);
  assert.deepEqual(a.addressDestinations('db'), [{ router: 'a', cost: 0, count: 2 }]);
  assert.deepEqual(a.addressKeys(), ['db']);
  assert.deepEqual(a.topology().routers, [
    { id: 'a', mode: 'interior', seq: 2, reachable: true, links: [], addresses: { db: 2 } },
  ]);
  // The incarnation (default: construction time) is carried in every advertisement.
  const b = engine('b', { incarnation: 1234 }, 50);
  b.linkUp('L', 1, 50);
  b.receive('L', { t: 'hello', id: 'c', mode: 'interior', seen: ['b'] }, 51);
  const ads = b.drainOutbox().filter((m) => m.msg.t === 'ra');
  assert.deepEqual(
    ads.map((m) => (m.msg as RouterAdvertisement).boot),
    [1234],
  );
  assert.equal((engine('c', {}, 99).topology().routers[0] as { seq: number }).seq, 1);
});

test('src/routing is pure: no clocks, timers, randomness, I/O or imports from other project folders', () => {
  const dir = new URL('../../../src/routing/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('engine.ts'));
  for (const f of files) {
    const src = readFileSync(new URL(f, dir), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    for (const banned of [
      'Date.now',
      'new Date',
      'Math.random',
      'setTimeout',
      'setInterval',
      'performance.',
    ]) {
      assert.ok(!src.includes(banned), `${f} uses ${banned}`);
    }
    for (const m of src.matchAll(/from '([^']+)'/g)) {
      const spec = m[1] as string;
      // names.ts holds only the patterns names must match (no I/O, no state)
      assert.ok(spec.startsWith('./') || spec === '../names.js', `${f} imports ${spec}`);
    }
  }
});

test('router info: flooded with the advertisement, shown in topology, validated, bumps infoVersion only', () => {
  const net = new Net({ a: engine('a'), b: engine('b'), c: engine('c') }, [
    ['L1', 'a', 'b'],
    ['L2', 'b', 'c'],
  ]);
  net.up(0);
  net.pump(0);
  const c = net.node('c');
  const v = c.version;
  const iv = c.infoVersion;
  net.node('a').setLocalInfo({ site: 'west', version: '0.1.0', listeners: ['db'] }, 1);
  net.pump(1);
  const snapA = c.topology().routers.find((r) => r.id === 'a');
  assert.deepEqual(snapA?.info, { site: 'west', version: '0.1.0', listeners: ['db'] });
  assert.equal(c.infoVersion, iv + 1);
  assert.equal(c.version, v); // routes and addresses unchanged
  // Same info again: no new advertisement.
  const seq = net.node('a').seq;
  net.node('a').setLocalInfo({ site: 'west', version: '0.1.0', listeners: ['db'] }, 2);
  net.pump(2);
  assert.equal(net.node('a').seq, seq);
  assert.throws(() => net.node('a').setLocalInfo({ big: 'x'.repeat(20_000) }, 3), RangeError);
  // Malformed info from a peer is counted, not installed.
  const before = c.stats().malformed;
  const bad = { t: 'ra', id: 'z', mode: 'interior', seq: 1, boot: 0, links: [], addresses: {} };
  c.receive('L2', { ...bad, info: 'x' }, 4);
  c.receive('L2', { ...bad, info: [1] }, 4);
  c.receive('L2', { ...bad, info: { big: 'x'.repeat(20_000) } }, 4);
  assert.equal(c.stats().malformed - before, 3);
});

test('heard(): any traffic on a link keeps it alive without HELLOs', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  a.drainLinkEvents();
  // No HELLOs from b, but data keeps arriving: never dead.
  for (let t = HELLO; t <= 10 * DEAD; t += HELLO) {
    a.heard('L', t - 1);
    a.tick(t);
    a.drainOutbox();
  }
  assert.deepEqual(a.drainLinkEvents(), []);
  assert.equal(a.routes().size, 1);
  // Silence (no HELLO, no data): dead after the dead interval.
  a.tick(11 * DEAD);
  assert.deepEqual(a.drainLinkEvents(), [{ linkId: 'L', event: 'dead', neighbor: 'b' }]);
  a.heard('unknown', 11 * DEAD); // unknown link: no-op
});

test('forged advertisements are dropped: a wrong key, a bad signature, a copy of another router signed by the sender', () => {
  const net = new Net({ a: engine('a'), b: engine('b'), c: engine('c') }, [
    ['L1', 'a', 'b'],
    ['L2', 'b', 'c'],
  ]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  a.setLocalAddresses({ db: 1 }, 1);
  net.pump(1);
  const c = net.node('c');
  assert.deepEqual(
    c.addressDestinations('db').map((d) => d.router),
    ['a'],
  );
  const aSeq = a.seq;
  const before = c.stats().forged;
  // b, linked to c, claims to speak for a: a huge seq and no addresses, signed with b's own key.
  const forged = signed(
    { t: 'ra', id: 'a', mode: 'interior', seq: 2 ** 31, boot: 0, links: [], addresses: {} },
    'b',
  );
  c.receive('L2', forged, 2);
  // Or a's key but a made-up signature.
  c.receive(
    'L2',
    {
      ...signed({ t: 'ra', id: 'a', mode: 'interior', seq: aSeq + 1, boot: 0, links: [], addresses: {} }),
      sig: 'f'.repeat(16),
    },
    2,
  );
  assert.equal(c.stats().forged - before, 2);
  assert.deepEqual(
    c.addressDestinations('db').map((d) => d.router),
    ['a'],
  );
  // Forged copies of a's own advertisement do not move a's seq either.
  a.receive('L1', forged, 3);
  assert.equal(a.seq, aSeq);
  assert.equal(a.stats().forged, 1);
  net.pump(3);
  assert.deepEqual(
    c.addressDestinations('db').map((d) => d.router),
    ['a'],
  );
});

test('sequence numbers wrap: after 2^32-1 comes 1, and a copy with any seq can be passed', () => {
  const net = new Net({ a: engine('a'), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  const b = net.node('b');
  const ownCopy = (seq: number, boot: number): RouterAdvertisement =>
    signed({ t: 'ra', id: 'a', mode: 'interior', seq, boot, links: [], addresses: {} });
  // A copy from an earlier life of a, just under half the space ahead: newer, a jumps past it.
  a.receive('L', ownCopy(a.seq + 2 ** 31 - 1, -1), 1);
  const high = a.seq;
  assert.ok(high > 2 ** 31);
  net.pump(1);
  assert.equal(b.topology().routers.find((r) => r.id === 'a')?.seq, high);
  // Another one at the very top of the space: a wraps around to 1, and b takes 1 as the newer copy.
  a.receive('L', ownCopy(2 ** 32 - 1, -2), 2);
  assert.equal(a.seq, 1);
  net.pump(2);
  assert.equal(b.topology().routers.find((r) => r.id === 'a')?.seq, 1);
  a.setLocalAddresses({ db: 1 }, 3);
  net.pump(3);
  assert.equal(a.seq, 2);
  assert.deepEqual(
    b.addressDestinations('db').map((d) => d.router),
    ['a'],
  );
  // A copy more than half the space ahead is older, in serial arithmetic: a answers it with its own.
  a.receive('L', ownCopy(2 + 2 ** 31 + 1, -3), 4);
  assert.equal(a.seq, 2);
  assert.deepEqual(
    a.drainOutbox().map((m) => (m.msg as RouterAdvertisement).seq),
    [2],
  );
});

test('maxRouters bounds the database: advertisements of further new routers are dropped and counted', () => {
  const net = new Net({ a: engine('a', { maxRouters: 3 }), b: engine('b') }, [['L', 'a', 'b']]);
  net.up(0);
  net.pump(0);
  const a = net.node('a');
  for (let i = 0; i < 5; i++) {
    a.receive(
      'L',
      signed({ t: 'ra', id: `x${i}`, mode: 'interior', seq: 1, boot: 0, links: [], addresses: {} }),
      1,
    );
  }
  assert.equal(a.topology().routers.length, 3);
  assert.equal(a.stats().overflow, 4);
  // Known routers still update.
  a.receive(
    'L',
    signed({ t: 'ra', id: 'x0', mode: 'interior', seq: 2, boot: 0, links: [], addresses: { k: 1 } }),
    2,
  );
  assert.equal(a.topology().routers.find((r) => r.id === 'x0')?.seq, 2);
});

test('an engine without an authenticator is refused', () => {
  assert.throws(
    () =>
      new RoutingEngine(
        {
          id: 'a',
          mode: 'interior',
          helloIntervalMs: HELLO,
          deadIntervalMs: DEAD,
        } as unknown as EngineConfig,
        0,
      ),
    RangeError,
  );
});
