// The network model (pure) from a simulated 300-site topology snapshot: correct and fast. Prints timings.
// Also: the metrics registry's exposition format and the flow recorder's ring, counters and traffic samples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowRecorder, mergeSamples } from '../../src/observe/flows.js';
import { MetricsRegistry, parseExposition } from '../../src/observe/metrics.js';
import { buildNetworkModel, type RouterReport, type TopologyInput } from '../../src/observe/network-model.js';

/** 300 sites: 10 hubs in a ring, 29 spokes per hub (plus the hub's own); every spoke a connector, every 3rd a listener. */
function simulate(n = 300): { topology: TopologyInput; reports: Map<string, RouterReport> } {
  const hubs = 10;
  const routers: TopologyInput['routers'] = [];
  const links = new Map<string, Array<{ neighbor: string; cost: number }>>();
  const add = (a: string, b: string, cost: number): void => {
    (links.get(a) ?? links.set(a, []).get(a)!).push({ neighbor: b, cost });
    (links.get(b) ?? links.set(b, []).get(b)!).push({ neighbor: a, cost });
  };
  const id = (i: number): string => `s${String(i).padStart(3, '0')}-abcdef`;
  for (let h = 0; h < hubs; h++) add(id(h), id((h + 1) % hubs), 5);
  for (let i = hubs; i < n; i++) add(id(i), id(i % hubs), 1);
  const reports = new Map<string, RouterReport>();
  for (let i = 0; i < n; i++) {
    const rid = id(i);
    const key = `svc-${i % 50}`;
    routers.push({
      id: rid,
      mode: 'interior',
      // the last site's advertisement says it is unreachable (e.g. partitioned)
      reachable: i !== n - 1,
      links: (links.get(rid) ?? []).sort((a, b) => (a.neighbor < b.neighbor ? -1 : 1)),
      addresses: i >= hubs ? { [key]: 1 } : {},
      info: {
        site: `s${String(i).padStart(3, '0')}`,
        version: '0.1.0',
        platform: 'linux/x64 node v20',
        listeners: i % 3 === 0 ? { [`svc-${(i + 1) % 50}`]: 1 } : {},
        protocols: { [key]: 'tcp' },
      },
    });
    if (i % 3 === 0) {
      reports.set(rid, {
        routerId: rid,
        traffic: {
          routerId: rid,
          t: 0,
          services: { [`svc-${(i + 1) % 50}`]: { bytesPerSec: 100, flowsPerSec: 1 } },
          destinations: { [id(((i + 1) % 50) + hubs)]: { bytesPerSec: 100, flowsPerSec: 1 } },
        },
        linkRtt: Object.fromEntries((links.get(rid) ?? []).map((l) => [l.neighbor, 2.5])),
      });
    }
  }
  return { topology: { routers }, reports };
}

test('network model of 300 sites: sites, links, services, traffic; built fast', () => {
  const { topology, reports } = simulate(300);
  const self = topology.routers[0]!;
  const input = {
    self: { id: self.id, site: 's000', mode: 'interior' as const, version: '0.1.0', platform: 'x' },
    topology,
    localLinks: [
      { neighbor: 's001-abcdef', neighborMode: 'interior' as const, cost: 5, state: 'up', rttMs: 1.25 },
    ],
    reports,
    now: new Date(0),
  };
  buildNetworkModel(input); // warm up
  const runs = 20;
  const t0 = performance.now();
  let m = buildNetworkModel(input);
  for (let i = 1; i < runs; i++) m = buildNetworkModel(input);
  const ms = (performance.now() - t0) / runs;
  const bytes = JSON.stringify(m).length;
  console.log(
    `network model: 300 sites, ${m.links.length} links, ${m.services.length} services: ${ms.toFixed(2)} ms/build, ${(bytes / 1024).toFixed(0)} KiB JSON`,
  );
  assert.ok(ms < 250, `model built in ${ms.toFixed(1)} ms`);
  assert.ok(bytes < 1024 * 1024, `model is ${bytes} bytes`);

  assert.equal(m.observedBy, self.id);
  assert.equal(m.sites.length, 300);
  assert.equal(m.sites[0]!.id, self.id, 'the observing site first');
  assert.equal(m.sites[0]!.name, 's000');
  assert.equal(m.sites.filter((s) => !s.reachable).length, 1);
  assert.equal(m.sites.find((s) => s.id === 's299-abcdef')?.reachable, false);
  assert.ok(m.sites.every((s) => s.version === '0.1.0' && s.platform.startsWith('linux')));
  // 10 ring links + 290 spokes, each once, all two-way
  assert.equal(m.links.length, 300);
  assert.ok(m.links.every((l) => l.state === 'up' && l.from < l.to && l.id === `${l.from}--${l.to}`));
  assert.equal(m.links.find((l) => l.id === 's000-abcdef--s001-abcdef')?.cost, 5);
  assert.equal(m.links.find((l) => l.id === 's000-abcdef--s001-abcdef')?.rttMs, 1.25, 'own RTT wins');
  assert.equal(m.links.find((l) => l.id === 's003-abcdef--s013-abcdef')?.rttMs, 2.5, 'RTT reported by s003');
  // 50 keys; svc-k has connectors at the spokes i ≡ k (mod 50), i >= 10
  assert.equal(m.services.length, 50);
  const svc7 = m.services.find((s) => s.routingKey === 'svc-7')!;
  assert.deepEqual(
    svc7.connectors.map((c) => c.site),
    ['s057-abcdef', 's107-abcdef', 's157-abcdef', 's207-abcdef', 's257-abcdef'],
  );
  assert.equal(svc7.protocol, 'tcp');
  // listeners for svc-7 at i % 3 == 0 and (i + 1) % 50 == 7: i = 6, 156 (56, 106, 206, 256 are not multiples of 3)
  assert.deepEqual(
    svc7.listeners.map((l) => l.site),
    ['s006-abcdef', 's156-abcdef'],
  );
  assert.equal(svc7.matched, true);
  assert.equal(svc7.bytesPerSec, 200);
  assert.equal(svc7.flowsPerSec, 2);
  assert.equal(m.traffic.length, reports.size);
  assert.ok(m.traffic.every((p) => p.bytesPerSec === 100 && p.flowsPerSec === 1));
});

test('network model: a link advertised by one end only is down; an edge seen on our own link is added', () => {
  const m = buildNetworkModel({
    self: { id: 'a', site: 'a', mode: 'interior', version: 'v', platform: 'p' },
    topology: {
      routers: [
        { id: 'a', mode: 'interior', reachable: true, links: [{ neighbor: 'b', cost: 2 }], addresses: {} },
        { id: 'b', mode: 'interior', reachable: true, links: [], addresses: { db: 1 } },
      ],
    },
    localLinks: [{ neighbor: 'e1', neighborMode: 'edge', cost: 1, state: 'up', rttMs: 3 }],
    reports: new Map(),
    now: new Date(0),
  });
  assert.deepEqual(
    m.links.map((l) => [l.id, l.state, l.cost, l.rttMs]),
    [
      ['a--b', 'down', 2, undefined],
      ['a--e1', 'up', 1, 3],
    ],
  );
  assert.equal(m.sites.find((s) => s.id === 'e1')?.mode, 'edge');
  assert.deepEqual(m.services, [
    {
      routingKey: 'db',
      listeners: [],
      connectors: [{ site: 'b', count: 1 }],
      matched: false,
      bytesPerSec: 0,
      flowsPerSec: 0,
    },
  ]);
});

test('metrics registry: counters, gauges, histograms in the text exposition format', () => {
  const r = new MetricsRegistry();
  const c = r.counter('caravan_x_total', 'X things', ['key']);
  c.inc({ key: 'a"b\\c\nd' }, 2);
  r.gauge('caravan_up', 'Up').set({}, 1);
  const h = r.histogram('caravan_d_seconds', 'D', ['k'], [0.1, 1]);
  h.observe({ k: 'x' }, 0.05);
  h.observe({ k: 'x' }, 0.5);
  h.observe({ k: 'x' }, 5);
  const text = r.expose();
  assert.match(text, /^# HELP caravan_x_total X things$/m);
  assert.match(text, /^# TYPE caravan_x_total counter$/m);
  assert.match(text, /^caravan_x_total\{key="a\\"b\\\\c\\nd"\} 2$/m);
  assert.match(text, /^# TYPE caravan_d_seconds histogram$/m);
  const v = parseExposition(text);
  assert.equal(v.get('caravan_up'), 1);
  assert.equal(v.get('caravan_d_seconds_bucket{k="x",le="0.1"}'), 1);
  assert.equal(v.get('caravan_d_seconds_bucket{k="x",le="1"}'), 2);
  assert.equal(v.get('caravan_d_seconds_bucket{k="x",le="+Inf"}'), 3);
  assert.equal(v.get('caravan_d_seconds_count{k="x"}'), 3);
  assert.equal(v.get('caravan_d_seconds_sum{k="x"}'), 5.55);
  assert.throws(() => r.counter('bad name', 'x'));
  assert.throws(() => r.gauge('caravan_x_total', 'X', ['key']), /different shapes/);
});

test('flow recorder: bounded ring, newest first, outcomes, counters and traffic samples', () => {
  let now = 1_000_000;
  const rec = new FlowRecorder('r1', { capacity: 3, now: () => now });
  const bytes = { bytesOut: 0, bytesIn: 0 };
  const start = (i: number, key = 'db'): ReturnType<FlowRecorder['start']> =>
    rec.start({
      id: `r1/${i}`,
      routingKey: key,
      protocol: 'tcp',
      sourceSite: 'r1',
      listener: 'l',
      clientAddress: '127.0.0.1:1',
    });
  rec.sample();
  const f1 = start(1);
  f1.established({ destSite: 'r2', connector: 'c', targetAddress: 't:1' }, () => bytes);
  bytes.bytesOut = 1000;
  bytes.bytesIn = 3000;
  now += 2000;
  const s = rec.sample();
  assert.equal(s.services['db'], 2000, '4000 bytes in 2 s');
  assert.equal(s.sitePairs['r1->r2'], 2000);
  assert.equal(rec.localTraffic().services['db']?.flowsPerSec, 0.5);
  f1.finish('ok');
  const f2 = start(2);
  f2.finish('CARAVAN_NO_CONNECTOR');
  start(3, 'web');
  start(4, 'web');
  const all = rec.query({ limit: 10 });
  assert.deepEqual(
    all.map((r) => r.id),
    ['r1/4', 'r1/3', 'r1/2'],
    'capacity 3, newest first',
  );
  assert.equal(all[2]!.outcome, 'CARAVAN_NO_CONNECTOR');
  assert.deepEqual(
    rec.query({ service: 'web', limit: 1 }).map((r) => r.id),
    ['r1/4'],
  );
  const c = rec.keyListenerCounters().find((x) => x.routingKey === 'db')!;
  assert.deepEqual(
    { ...c },
    { routingKey: 'db', listener: 'l', opened: 2, closed: 2, active: 0, bytesOut: 1000, bytesIn: 3000 },
  );
  assert.equal(rec.errorsByCode.get('CARAVAN_NO_CONNECTOR'), 1);
  now += 2000;
  assert.equal(rec.sample().services['db'], undefined, 'no bytes since');
  assert.deepEqual(
    mergeSamples([
      [{ t: 2, services: { a: 1 }, sitePairs: {} }],
      [
        { t: 2, services: { a: 2 }, sitePairs: { 'x->y': 3 } },
        { t: 4, services: {}, sitePairs: {} },
      ],
    ]),
    [
      { t: 2, services: { a: 3 }, sitePairs: { 'x->y': 3 } },
      { t: 4, services: {}, sitePairs: {} },
    ],
  );
});

test('network model: an amqp listener is listed with every address under it that has receivers', () => {
  const m = buildNetworkModel({
    self: { id: 'west', site: 'west', mode: 'interior', version: 'v', platform: 'p' },
    topology: {
      routers: [
        {
          id: 'west',
          mode: 'interior',
          reachable: true,
          links: [{ neighbor: 'east', cost: 1 }],
          addresses: {},
          info: {
            listeners: { 'amqp:bus': 1, 'amqp:idle': 1 },
            protocols: { 'amqp:bus': 'amqp', 'amqp:idle': 'amqp' },
          },
        },
        {
          id: 'east',
          mode: 'interior',
          reachable: true,
          links: [{ neighbor: 'west', cost: 1 }],
          addresses: { 'amqp:bus.orders': 1, 'amqp:bus/eu': 2, 'amqp:other': 1 },
        },
      ],
    },
    localLinks: [],
    reports: new Map(),
    now: new Date(0),
  });
  const view = m.services.map((s) => [s.routingKey, s.protocol, s.listeners.map((l) => l.site), s.matched]);
  assert.deepEqual(view, [
    ['amqp:bus.orders', 'amqp', ['west'], true],
    ['amqp:bus/eu', 'amqp', ['west'], true],
    ['amqp:idle', 'amqp', ['west'], false],
    ['amqp:other', 'amqp', [], false],
  ]);
});
