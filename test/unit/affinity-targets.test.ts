/**
 * Session affinity and tie rotation in the router core, multi-target connectors (tcp), and the udp / http1 flow
 * framings. In-process: one Router with local connectors, real sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { HeadReader, encodeHead } from '../../src/adapters/http1/framing.js';
import { filterHeaders } from '../../src/adapters/http1/headers.js';
import { RequestMetrics } from '../../src/adapters/http1/metrics.js';
import { TcpConnector } from '../../src/adapters/tcp/connector.js';
import { TcpListener } from '../../src/adapters/tcp/listener.js';
import { DatagramReader, encodeDatagram } from '../../src/adapters/udp/session.js';
import { nullLogger } from '../../src/observe/log.js';
import { AffinityTable } from '../../src/router/affinity.js';
import type { ConnectorHandler, FlowHeader, FlowStream } from '../../src/router/contract.js';
import { chooseDestination } from '../../src/router/distribution.js';
import { Router } from '../../src/router/router.js';
import { generateIdentity } from '../../src/identity.js';

const routers: Router[] = [];
after(() => {
  for (const r of routers) r.stop();
});

function newRouter(): Router {
  const r = new Router({
    identity: generateIdentity('s1').identity,
    mode: 'interior',
    site: 's1',
    helloIntervalMs: 1000,
    deadIntervalMs: 3000,
    logger: nullLogger,
  });
  routers.push(r);
  return r;
}

/** A connector that accepts every flow and closes it at once, remembering who got it. */
class FakeConnector implements ConnectorHandler {
  healthy = true;
  readonly got: string[] = [];
  constructor(
    readonly name: string,
    readonly routingKey: string,
  ) {}
  deliver(stream: FlowStream, header: FlowHeader): void {
    this.got.push(header.client);
    stream.accept(Buffer.from(JSON.stringify({ router: 'r1', connector: this.name, target: 'x' })));
    stream.on('data', () => undefined);
    stream.end();
  }
}

async function open(r: Router, client: string, extra: { affinityKey?: string; rotateTies?: boolean } = {}) {
  let connector = '';
  let closed: Promise<unknown> | undefined;
  await r.openFlow(
    { routingKey: 'svc', listener: 'l', client, distribution: 'balanced', proto: 'tcp', ...extra },
    ({ stream, accept }) => {
      connector = accept.connector;
      closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.on('data', () => undefined);
      stream.end();
    },
  );
  // the flow has closed, so in-flight counts are back to zero
  await closed;
  return connector;
}

test('rotation breaks exact ties round-robin and leaves better candidates alone', () => {
  const c = [
    { router: 'b', cost: 1, inFlight: 0 },
    { router: 'a', cost: 1, inFlight: 0 },
    { router: 'c', cost: 2, inFlight: 0 },
  ];
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => chooseDestination(c, 'balanced', i)?.router),
    ['a', 'b', 'a', 'b'],
  );
  assert.equal(chooseDestination(c, 'balanced')?.router, 'a', 'without rotation: deterministic');
  assert.equal(
    chooseDestination([{ router: 'z', cost: 1, inFlight: 0 }, ...c.slice(2)], 'closest', 7)?.router,
    'z',
  );
});

test('the affinity table is bounded and forgets the least recently used key first', () => {
  const t = new AffinityTable(2);
  t.set('a', { router: 'r1' });
  t.set('b', { router: 'r2' });
  assert.equal(t.get('a')?.router, 'r1'); // a is now the most recent
  t.set('c', { router: 'r3' });
  assert.equal(t.size, 2);
  assert.equal(t.get('b'), undefined);
  assert.equal(t.get('a')?.router, 'r1');
});

test('core: tcp flows stay deterministic, rotateTies spreads, affinity sticks while the connector is healthy', async () => {
  const r = newRouter();
  const x = new FakeConnector('x', 'svc');
  const y = new FakeConnector('y', 'svc');
  r.addConnector(x);
  r.addConnector(y);
  const plain = [];
  for (let i = 0; i < 4; i++) plain.push(await open(r, `10.0.0.1:${1000 + i}`));
  assert.deepEqual(plain, ['x', 'x', 'x', 'x'], 'no hint: unchanged (lowest name on a tie)');
  const rotated = [];
  for (let i = 0; i < 4; i++) rotated.push(await open(r, `10.0.0.1:${2000 + i}`, { rotateTies: true }));
  assert.deepEqual(new Set(rotated), new Set(['x', 'y']), `rotateTies reaches both: ${rotated.join(',')}`);

  const sticky = [];
  for (let i = 0; i < 6; i++)
    sticky.push(await open(r, `10.0.0.9:${3000 + i}`, { affinityKey: '10.0.0.9', rotateTies: true }));
  assert.equal(new Set(sticky).size, 1, `one client address, one connector: ${sticky.join(',')}`);
  const first = sticky[0]!;
  // another client may land elsewhere, but stays where it landed too
  const other = [];
  for (let i = 0; i < 4; i++)
    other.push(await open(r, `10.0.0.7:${i}`, { affinityKey: '10.0.0.7', rotateTies: true }));
  assert.equal(new Set(other).size, 1);
  // the sticky connector becomes unreachable: the client moves, and stays on the new one
  const c = first === 'x' ? x : y;
  c.healthy = false;
  r.refreshAddresses();
  const moved = [];
  for (let i = 0; i < 3; i++) moved.push(await open(r, `10.0.0.9:${4000 + i}`, { affinityKey: '10.0.0.9' }));
  assert.deepEqual(new Set(moved), new Set([first === 'x' ? 'y' : 'x']));
  c.healthy = true;
  r.refreshAddresses();
  assert.equal(
    await open(r, '10.0.0.9:5000', { affinityKey: '10.0.0.9' }),
    moved[0],
    'it does not flap back',
  );
});

function server(reply: string): Promise<{ s: net.Server; port: number }> {
  return new Promise((resolve) => {
    const s = net.createServer((c) => {
      c.on('error', () => undefined);
      c.write(reply);
      // hold the connection until the client closes, so "active" counts are visible
      c.on('data', () => undefined);
      c.on('end', () => c.end());
    });
    s.listen(0, '127.0.0.1', () => resolve({ s, port: (s.address() as net.AddressInfo).port }));
  });
}

async function deadPort(): Promise<number> {
  const { s, port } = await server('');
  await new Promise((r) => s.close(r));
  return port;
}

test('tcp connector with several targets: balanced by active flows, a refusing target is skipped', async () => {
  const r = newRouter();
  const a = await server('A');
  const b = await server('B');
  const dead = await deadPort();
  const conn = new TcpConnector(
    r,
    {
      name: 'multi',
      routingKey: 'svc',
      host: '127.0.0.1',
      port: dead,
      targets: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
      probeIntervalMs: 60_000,
    },
    nullLogger,
  );
  r.addConnector(conn);
  const lis = new TcpListener(
    r,
    { name: 'l', routingKey: 'svc', host: '127.0.0.1', port: 0, distribution: 'balanced' },
    nullLogger,
  );
  await lis.start();
  const clients: net.Socket[] = [];
  const replies: string[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const c = net.connect(lis.port!, '127.0.0.1');
      clients.push(c);
      c.on('error', () => undefined);
      replies.push(await new Promise<string>((resolve) => c.once('data', (d) => resolve(d.toString()))));
    }
    assert.deepEqual(
      replies.slice().sort(),
      ['A', 'A', 'A', 'B', 'B', 'B'],
      `held connections spread evenly: ${replies.join(',')}`,
    );
    assert.ok(conn.healthy, 'one failed target does not withdraw the connector');
    assert.equal(conn.pool.targets[0]!.failed, true);
    assert.equal(conn.target, `127.0.0.1:${dead},127.0.0.1:${a.port},127.0.0.1:${b.port}`);
  } finally {
    for (const c of clients) c.destroy();
    await lis.stop();
    conn.stop();
    a.s.close();
    b.s.close();
  }
});

test('tcp connector given new targets in place: established flows go on, new flows go to the new list', async () => {
  const r = newRouter();
  const a = await server('A');
  const b = await server('B');
  const conn = new TcpConnector(
    r,
    {
      name: 'pods',
      routingKey: 'svc',
      host: '127.0.0.1',
      port: a.port,
      targets: [{ host: '127.0.0.1', port: a.port }],
    },
    nullLogger,
  );
  r.addConnector(conn);
  const lis = new TcpListener(
    r,
    { name: 'l', routingKey: 'svc', host: '127.0.0.1', port: 0, distribution: 'balanced' },
    nullLogger,
  );
  await lis.start();
  const clients: net.Socket[] = [];
  const connect = async (): Promise<{ c: net.Socket; reply: string }> => {
    const c = net.connect(lis.port!, '127.0.0.1');
    clients.push(c);
    c.on('error', () => undefined);
    const reply = await new Promise<string>((resolve) => c.once('data', (d) => resolve(d.toString())));
    return { c, reply };
  };
  try {
    const held = await connect();
    assert.equal(held.reply, 'A');
    const first = conn.pool.targets[0];
    // A leaves, B comes (a pod replaced behind a selector)
    conn.update({
      name: 'pods',
      routingKey: 'svc',
      host: '127.0.0.1',
      port: b.port,
      targets: [{ host: '127.0.0.1', port: b.port }],
    });
    assert.equal(conn.target, `127.0.0.1:${b.port}`);
    assert.equal((await connect()).reply, 'B');
    // A again, next to B: the kept target B holds its active flow, so the new flow goes to A
    conn.update({
      name: 'pods',
      routingKey: 'svc',
      host: '127.0.0.1',
      port: a.port,
      targets: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
    });
    assert.notEqual(conn.pool.targets[0], first, 'a target that left and came back starts afresh');
    assert.equal(conn.pool.targets[1]!.active, 1, 'B keeps its count of active flows');
    assert.equal((await connect()).reply, 'A');
    // the first flow to A was never cut: it ends cleanly when the client ends it
    const ended = new Promise<string>((resolve) => {
      held.c.once('end', () => resolve('end'));
      held.c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      held.c.once('close', () => resolve('close'));
    });
    held.c.end();
    assert.equal(await ended, 'end');
    assert.ok(conn.healthy);
  } finally {
    for (const c of clients) c.destroy();
    await lis.stop();
    conn.stop();
    a.s.close();
    b.s.close();
  }
});

test('udp framing keeps datagram boundaries across any chunking', () => {
  const dgs = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(9000, 7), Buffer.from('last')];
  const wire = Buffer.concat(dgs.map(encodeDatagram));
  for (const size of [1, 2, 3, 100, 4096, wire.length]) {
    const r = new DatagramReader();
    const got: Buffer[] = [];
    let frameBytes = 0;
    for (let off = 0; off < wire.length; off += size)
      r.feed(wire.subarray(off, off + size), (dg, n) => {
        got.push(Buffer.from(dg));
        frameBytes += n;
      });
    assert.deepEqual(got, dgs, `chunks of ${size}`);
    assert.equal(frameBytes, wire.length, 'every byte is returned to the flow');
  }
});

test('http1 head frame: split anywhere, body follows; hop-by-hop headers are removed', () => {
  const head = {
    v: 1 as const,
    method: 'POST',
    url: '/x',
    version: '1.1',
    headers: ['Host', 'h'],
    body: 'length' as const,
  };
  const wire = Buffer.concat([encodeHead(head), Buffer.from('BODY')]);
  for (const size of [1, 3, 5, wire.length]) {
    let got: unknown;
    let used = 0;
    let body = '';
    const r = new HeadReader(
      (json, n) => {
        got = json;
        used = n;
      },
      (c) => (body += c.toString()),
    );
    for (let off = 0; off < wire.length; off += size) r.feed(wire.subarray(off, off + size));
    assert.deepEqual(got, head);
    assert.equal(used + body.length, wire.length);
    assert.equal(body, 'BODY');
  }
  const f = filterHeaders(
    [
      'Host',
      'h',
      'Connection',
      'keep-alive, X-Secret',
      'X-Secret',
      '1',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Transfer-Encoding',
      'chunked',
      'X-Ok',
      '2',
    ],
    false,
  );
  assert.deepEqual(f.headers, ['Host', 'h', 'X-Ok', '2']);
  assert.equal(f.chunked, true);
  const u = filterHeaders(['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket'], true);
  assert.deepEqual(u.headers, ['Host', 'h', 'Upgrade', 'websocket', 'Connection', 'Upgrade']);
});

test('request metrics: methods, status classes, cumulative latency buckets', () => {
  const m = new RequestMetrics();
  m.start('GET');
  m.finish(200, 3);
  m.start('BREW');
  m.finish(503, 700);
  const f = m.flatten();
  assert.equal(f['method_GET'], 1);
  assert.equal(f['method_OTHER'], 1);
  assert.equal(f['status_2xx'], 1);
  assert.equal(f['status_5xx'], 1);
  assert.equal(f['latency_ms_le_5'], 1);
  assert.equal(f['latency_ms_le_1000'], 2);
  assert.equal(f['latency_ms_le_inf'], 2);
  assert.equal(f['requestsActive'], 0);
});

test('resources: types, targets, affinity and protocol options validate', async () => {
  const { validateResource } = await import('../../src/api/index.js');
  const v = (kind: string, spec: Record<string, unknown>): unknown =>
    validateResource({ apiVersion: 'caravan.dev/v1alpha1', kind, metadata: { name: 'x' }, spec }, 't').spec;
  assert.deepEqual(
    v('Connector', {
      type: 'http1',
      targets: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    }),
    {
      routingKey: 'x',
      host: 'a',
      port: 1,
      type: 'http1',
      targets: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    },
  );
  assert.throws(
    () => v('Connector', { targets: [{ host: 'a', port: 1 }], port: 5 }),
    /either host\/port or targets/,
  );
  assert.throws(
    () => v('Connector', { type: 'tcp', port: 5, idleTimeoutMs: 1000 }),
    /applies only to type udp/,
  );
  assert.throws(
    () => v('Listener', { type: 'http1', port: 5, affinity: 'sticky' }),
    /affinity: must be one of: client/,
  );
  assert.deepEqual(
    v('Listener', { type: 'udp', port: 5, affinity: 'client', idleTimeoutMs: 500, maxSessions: 9 }),
    {
      routingKey: 'x',
      host: '0.0.0.0',
      port: 5,
      type: 'udp',
      distribution: 'balanced',
      affinity: 'client',
      idleTimeoutMs: 500,
      maxSessions: 9,
    },
  );
});
