/**
 * Listeners with several routing keys, with two real routers and real TCP servers. `priority`: connections go to
 * the first key whose connector is reachable, fall over to the next key within the same connection when the
 * first key's target refuses, and come back once it answers again. `weighted`: connections are shared exactly by
 * weight while every key is reachable, and all go to the remaining key when one goes away. The CLI shows the keys
 * and the connections each one got.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import type { ManagedProcess } from '../support/proc.js';
import { run, stopAllProcesses } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

/** A server that answers every connection with its tag and closes it. */
function tagServer(tag: string, port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.end(`${tag}\n`);
    });
    server.once('error', reject);
    server.listen(port, HOST, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** Connects, reads until the far end closes; resolves with what came (empty when the connection was refused). */
function fetchTag(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got.trim()));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('listeners with several routing keys (priority, weighted)', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let westProc: ManagedProcess;
  const servers = new Map<string, net.Server>();
  const ports = { db: 0, api: 0, none: 0, web: 0, h2: 0 };
  const httpServers = new Map<string, http.Server | http2.Http2Server>();
  const h2aSessions = new Set<http2.ServerHttp2Session>();

  const caravan = (args: string[]) => cli(args, { env: { CARAVAN_HOME: root.dir } });
  const keysOf = async (site: string, listener: string) => {
    const r = await caravan(['--site', site, 'listener', 'status', listener, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      matched: boolean;
      strategy: string;
      keys: Array<{ routingKey: string; weight: number; matched: boolean; routed: number }>;
    };
  };

  before(async () => {
    root = await makeTempRoot('keys');
    const sites = join(root.dir, 'sites');
    await mkdir(sites);
    for (const tag of ['east', 'west', 'v1', 'v2']) servers.set(tag, await tagServer(tag));
    hub = await TestSite.create(sites, { name: 'hub', linkAccess: { host: HOST, port: 0 } });
    for (const [name, tag] of [
      ['db-east', 'east'],
      ['db-west', 'west'],
      ['api-v1', 'v1'],
      ['api-v2', 'v2'],
    ] as const)
      await hub.addConnector({ name, port: portOf(servers.get(tag) as net.Server) });
    west = await TestSite.create(sites, { name: 'west' });
    ports.db = await freePort();
    ports.api = await freePort();
    ports.none = await freePort();
    await west.writeResource('Listener', 'db', {
      host: HOST,
      port: ports.db,
      priority: ['db-east', 'db-west'],
    });
    await west.writeResource('Listener', 'api', {
      host: HOST,
      port: ports.api,
      weighted: { 'api-v1': 3, 'api-v2': 1 },
    });
    await west.writeResource('Listener', 'none', {
      host: HOST,
      port: ports.none,
      priority: ['nobody-a', 'nobody-b'],
    });
    // http1 and http2: every request is routed on its own, so the keys apply per request
    for (const tag of ['web-v1', 'web-v2']) {
      const s = http.createServer((_req, res) => res.end(tag));
      await new Promise<void>((r) => s.listen(0, HOST, r));
      httpServers.set(tag, s);
      await hub.writeResource('Connector', tag, {
        type: 'http1',
        host: HOST,
        port: (s.address() as net.AddressInfo).port,
      });
    }
    for (const tag of ['h2-a', 'h2-b']) {
      const s = http2.createServer((_req, res) => res.end(tag));
      if (tag === 'h2-a') s.on('session', (session) => h2aSessions.add(session));
      await new Promise<void>((r) => s.listen(0, HOST, r));
      httpServers.set(tag, s);
      await hub.writeResource('Connector', tag, {
        type: 'http2',
        host: HOST,
        port: (s.address() as net.AddressInfo).port,
      });
    }
    ports.web = await freePort();
    ports.h2 = await freePort();
    await west.writeResource('Listener', 'web', {
      type: 'http1',
      host: HOST,
      port: ports.web,
      weighted: { 'web-v1': 3, 'web-v2': 1 },
    });
    await west.writeResource('Listener', 'h2', {
      type: 'http2',
      host: HOST,
      port: ports.h2,
      priority: ['h2-a', 'h2-b'],
    });
    hub.start();
    const linkPort = (await hub.ready()).router.linkAccess?.port ?? 0;
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    westProc = west.start();
    await west.ready();
    for (const key of ['db-east', 'db-west', 'api-v1', 'api-v2', 'web-v1', 'web-v2', 'h2-a', 'h2-b'])
      await west.seesKey(key);
  });

  after(async () => {
    await stopAllProcesses();
    for (const s of servers.values()) s.close();
    for (const s of httpServers.values()) s.close();
    await root?.remove();
  });

  test('priority: the first key while it answers, the next one when it refuses, the first again when it is back', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await fetchTag(ports.db), 'east');

    // The primary's server goes away: the very next connection still gets an answer, from the second key.
    const eastPort = portOf(servers.get('east') as net.Server);
    await closeServer(servers.get('east') as net.Server);
    assert.equal(await fetchTag(ports.db), 'west', 'falls over to db-west within the same connection');
    // The hub's connector notices its target is down and withdraws db-east; connections go straight to db-west.
    await waitFor(async () => (await keysOf('west', 'db')).keys[0]?.matched === false, {
      what: 'db-east to be withdrawn',
    });
    for (let i = 0; i < 3; i++) assert.equal(await fetchTag(ports.db), 'west');

    // The primary answers again: new connections go back to it.
    servers.set('east', await tagServer('east', eastPort));
    await waitFor(async () => (await keysOf('west', 'db')).keys[0]?.matched === true, {
      what: 'db-east to be advertised again',
      timeoutMs: 15_000,
    });
    assert.equal(await fetchTag(ports.db), 'east');

    const st = await keysOf('west', 'db');
    assert.equal(st.strategy, 'priority');
    assert.deepEqual(
      st.keys.map((k) => [k.routingKey, k.routed]),
      [
        ['db-east', 6],
        ['db-west', 4],
      ],
    );
  });

  test('weighted: connections are shared by weight; a key that goes away leaves all to the others', async () => {
    const count = async (n: number) => {
      const got = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const tag = await fetchTag(ports.api);
        got.set(tag, (got.get(tag) ?? 0) + 1);
      }
      return Object.fromEntries(got);
    };
    assert.deepEqual(await count(40), { v1: 30, v2: 10 }, 'exactly 3:1 while both keys are reachable');

    await closeServer(servers.get('v1') as net.Server);
    servers.delete('v1');
    // Refused connections fall over to api-v2 at once, and api-v2 gets everything once api-v1 is withdrawn.
    assert.deepEqual(await count(8), { v2: 8 });
    await waitFor(async () => (await keysOf('west', 'api')).keys[0]?.matched === false, {
      what: 'api-v1 to be withdrawn',
    });
    assert.deepEqual(await count(8), { v2: 8 });

    const st = await keysOf('west', 'api');
    assert.equal(st.strategy, 'weighted');
    assert.deepEqual(
      st.keys.map((k) => [k.routingKey, k.weight, k.routed]),
      [
        ['api-v1', 3, 30],
        ['api-v2', 1, 26],
      ],
    );
  });

  test('http1 weighted: requests on one keep-alive connection are shared 3:1 between the keys', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: HOST, port: ports.web, path: '/', agent }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    const got: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const tag = await get();
      got[tag] = (got[tag] ?? 0) + 1;
    }
    agent.destroy();
    assert.deepEqual(got, { 'web-v1': 30, 'web-v2': 10 });
    const curl = await run('curl', ['-sS', `http://${HOST}:${ports.web}/`]);
    assert.match(curl.stdout, /^web-v[12]$/);
  });

  test('http2 priority: streams go to the first key, and to the next when its server is gone', async () => {
    const session = http2.connect(`http://${HOST}:${ports.h2}`);
    session.on('error', () => undefined);
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':path': '/' });
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.end();
      });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await get(), 'h2-a');
      // h2-a goes away: no new connections, and the connector's open session to it is cut
      (httpServers.get('h2-a') as http2.Http2Server).close();
      for (const s of h2aSessions) s.destroy();
      assert.equal(await get(), 'h2-b', 'the next stream falls over to h2-b');
    } finally {
      session.close();
    }
  });

  test('no key reachable: the connection is closed, counted as refused, and the log names every key tried', async () => {
    assert.equal(await fetchTag(ports.none), '');
    await westProc.waitForOutput(
      /no flow could be established for any routing key \(nobody-a: .*; nobody-b: /,
    );
    const st = await keysOf('west', 'none');
    assert.equal(st.matched, false);
    const list = await caravan(['--site', 'west', 'listener', 'status', 'none']);
    assert.match(list.stdout, /no connector for any of these keys is reachable/);
  });

  test('the CLI lists the keys, and the connector side sees the listener for each key', async () => {
    const list = await caravan(['--site', 'west', 'listener', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /db\s+tcp\s+db-east>db-west\s/);
    assert.match(list.stdout, /api\s+tcp\s+api-v1=3,api-v2=1\s/);
    const detail = await caravan(['--site', 'west', 'listener', 'status', 'db']);
    assert.match(
      detail.stdout,
      /priority: each connection goes to the first key that has a reachable connector/,
    );
    assert.match(detail.stdout, /db-west:\s+yes: connectors at hub \(cost 1, 1\); \d+ connections/);
    for (const key of ['db-west', 'api-v2']) {
      const c = await caravan(['--site', 'hub', 'connector', 'status', key, '-o', 'json']);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual((JSON.parse(c.stdout) as { listenerSites: string[] }).listenerSites, ['west']);
    }
  });
});
