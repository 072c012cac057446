/**
 * Network-wide observability with real routers: west — hub — east. A flow made at west is visible when east is
 * asked for flows (management flows ride the links); the network model seen from east; the console server's API,
 * event stream and static files; and, in a network namespace, a console bound to a non-loopback address that
 * requires the generated credentials.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NetworkModel, TrafficSample } from '../../src/observe/model.js';
import { NetLab } from '../support/netns.js';
import { spawnManaged, stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { skipUnless } from '../support/skip.js';
import { freePort } from '../support/ports.js';

function get(url: string, path = ''): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    http
      .get({ host: u.hostname, port: u.port, path: path || u.pathname }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      })
      .on('error', reject);
  });
}

/** Opens /api/events and resolves with the data of the first event called `name`. */
function firstEvent(url: string, name: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}api/events`, (res) => {
      if (res.headers['content-type'] !== 'text/event-stream') reject(new Error('not an event stream'));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev === name && data !== undefined) {
            clearTimeout(t);
            req.destroy();
            resolve(JSON.parse(data));
          }
        }
      });
    });
    req.on('error', () => undefined);
    const t = setTimeout(() => {
      req.destroy();
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

describe('network-wide observability', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let west: TestSite;
  let east: TestSite;
  let server: net.Server;
  let listenPort: number;
  let consoleDir: string;
  let eastUrl: string;

  before(async () => {
    root = await makeTempRoot('observe');
    consoleDir = join(root.dir, 'console');
    await mkdir(join(consoleDir, 'assets'), { recursive: true });
    await writeFile(join(consoleDir, 'index.html'), '<!doctype html><title>caravan</title>');
    await writeFile(join(consoleDir, 'assets', 'app.js'), 'console.log(1);');
    await writeFile(join(root.dir, 'secret.txt'), 'do not serve');
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', () => undefined);
      s.on('end', () => s.end('pong'));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const env = { ...process.env, CARAVAN_CONSOLE_DIR: consoleDir };

    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: '127.0.0.1', port: 0 } });
    spawnManaged(process.execPath, hub.routerArgs(), { label: 'router-hub' });
    const port = (await hub.ready()).router.linkAccess!.port;
    west = await TestSite.create(root.dir, { name: 'west' });
    east = await TestSite.create(root.dir, { name: 'east' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port }] });
    await east.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port }] });
    listenPort = await freePort();
    await west.addListener({ name: 'ping', port: listenPort });
    await east.addConnector({ name: 'ping', port: (server.address() as net.AddressInfo).port });
    spawnManaged(process.execPath, west.routerArgs(), { label: 'router-west' });
    spawnManaged(process.execPath, [...east.routerArgs(), '--console-port', '0'], {
      label: 'router-east',
      env,
    });
    await west.ready();
    await east.ready();
    await west.seesKey('ping');
    await east.routesTo(['hub', 'west']);
    eastUrl = (await east.status()).router.console!.url;
  });

  after(async () => {
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  test('a flow made at west is visible when east is asked for flows', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ port: listenPort, host: '127.0.0.1', allowHalfOpen: true });
      let got = '';
      c.on('connect', () => c.end('ping!'));
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(reply, 'pong');
    const rec = await waitFor(
      async () => {
        const r = await east.admin().flows({ service: 'ping' });
        const f = r.flows.find((x) => x.outcome !== 'active');
        return f ? { f, r } : undefined;
      },
      { what: 'the finished flow in the flows east reports', timeoutMs: 10_000 },
    );
    assert.deepEqual(rec.r.unanswered, []);
    const f = rec.f;
    assert.equal(f.sourceSite, west.routerId);
    assert.equal(f.listener, 'ping');
    assert.equal(f.destSite, east.routerId);
    assert.equal(f.connector, 'ping');
    assert.match(f.targetAddress ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(f.clientAddress, /^127\.0\.0\.1:\d+$/);
    assert.equal(f.protocol, 'tcp');
    assert.equal(f.outcome, 'ok');
    assert.equal(f.bytesOut, 5);
    assert.equal(f.bytesIn, 4);
    assert.ok(f.endedAt && f.endedAt >= f.startedAt);
    // by site, over the console API too
    const api = await get(eastUrl, `/api/flows?site=${west.routerId}&limit=5`);
    assert.equal(api.status, 200);
    assert.ok((JSON.parse(api.body) as Array<{ id: string }>).some((x) => x.id === f.id));
  });

  test('east builds the network model with every site, link and the matched service', async () => {
    const m = await waitFor(
      async () => {
        const x = await east.admin().network();
        return x.links.filter((l) => l.state === 'up').length === 2 ? x : undefined;
      },
      { what: 'a model with two links up', timeoutMs: 10_000 },
    );
    assert.equal(m.observedBy, east.routerId);
    assert.deepEqual(
      m.sites.map((s) => [s.name, s.reachable, s.version]),
      [
        ['east', true, '0.1.0'],
        ['hub', true, '0.1.0'],
        ['west', true, '0.1.0'],
      ],
    );
    // sites are identified by router id, shown by name
    assert.deepEqual(m.links.map((l) => [siteOf(l.from), siteOf(l.to)].sort().join('--')).sort(), [
      'east--hub',
      'hub--west',
    ]);
    const ping = m.services.find((s) => s.routingKey === 'ping')!;
    assert.deepEqual(ping.listeners, [{ site: west.routerId, count: 1, names: ['ping'] }]);
    assert.deepEqual(ping.connectors, [{ site: east.routerId, count: 1, names: ['ping'] }]);
    assert.equal(ping.matched, true);
    assert.equal(m.unanswered, undefined);
    const api = JSON.parse((await get(eastUrl, '/api/network')).body) as NetworkModel;
    assert.equal(api.sites.length, 3);
  });

  test('/api/events sends a network event; /api/traffic answers samples', async () => {
    const ev = (await firstEvent(eastUrl, 'network')) as NetworkModel;
    assert.equal(ev.observedBy, east.routerId);
    assert.equal(ev.sites.length, 3);
    const t = await get(eastUrl, '/api/traffic');
    assert.equal(t.status, 200);
    const samples = JSON.parse(t.body) as TrafficSample[];
    assert.ok(Array.isArray(samples) && samples.length > 0);
    assert.ok(samples.every((s) => s.t % 2000 === 0 && typeof s.services === 'object'));
  });

  test('the console is served with content types and without directory traversal', async () => {
    const index = await get(eastUrl, '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.match(index.body, /<title>caravan<\/title>/);
    const js = await get(eastUrl, '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
    assert.equal((await get(eastUrl, '/sites/west')).status, 200, 'client-side routes get index.html');
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
    ]) {
      const r = await get(eastUrl, p);
      assert.notEqual(r.status, 200, p);
      assert.doesNotMatch(r.body, /do not serve/, p);
    }
    const post = await new Promise<number>((resolve) => {
      const req = http.request(`${eastUrl}api/network`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.end();
    });
    assert.equal(post, 405, 'read-only');
  });

  test('logs go to the site log file too', async () => {
    const log = await readFile(join(east.dir, 'logs', 'router.log'), 'utf8');
    assert.match(log, /router ready .*subsystem=|router ready/);
    assert.match(log, /console listening/);
    assert.equal((await stat(join(east.dir, 'logs', 'router.log'))).mode & 0o077, 0);
  });
});

const isRoot = process.getuid?.() === 0;

describe(
  'console on a non-loopback address',
  { skip: skipUnless(isRoot, 'needs root (network namespaces)') },
  () => {
    let lab: NetLab;
    let root: { dir: string; remove: () => Promise<void> };

    before(async () => {
      lab = await NetLab.create('console-auth');
      root = await makeTempRoot('console-auth');
    });

    after(async () => {
      await lab?.destroy();
      await root?.remove();
    });

    test('requires credentials; the generated password works and is written 0600', async () => {
      const srv = await lab.addHost('srv');
      const cli = await lab.addHost('cli');
      await lab.connect(srv, cli, '100.64.77.1/30', '100.64.77.2/30');
      const site = await TestSite.create(root.dir, { name: 'solo' });
      await site.writeResource('Site', 'solo', {
        mode: 'interior',
        routing: { helloIntervalMs: 100, deadIntervalMs: 300 },
        console: { host: '100.64.77.1', port: 8089 },
      });
      const proc = lab.spawn(srv, process.execPath, site.routerArgs(), { label: 'router-solo' });
      await site.ready();
      const st = await waitFor(
        async () => {
          const x = await site.status();
          return x.router.console ? x : undefined;
        },
        { what: 'the console server to be up' },
      );
      assert.equal(st.router.console?.url, 'http://100.64.77.1:8089/');
      assert.equal(st.router.console?.auth, true);
      const credFile = join(site.dir, 'runtime', 'console-credentials');
      const cred = (await readFile(credFile, 'utf8')).trim();
      assert.match(cred, /^admin:[A-Za-z0-9_-]{20,}$/);
      assert.equal((await stat(credFile)).mode & 0o777, 0o600);
      const password = cred.slice('admin:'.length);
      await proc.waitForOutput(new RegExp(`generated credentials.*username=admin.*password=${password}`));

      const curl = (args: string[]): Promise<string> =>
        lab
          .exec(cli, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...args])
          .then((r) => r.stdout.trim());
      assert.equal(await curl(['http://100.64.77.1:8089/api/network']), '401');
      assert.equal(await curl(['-u', 'admin:wrong', 'http://100.64.77.1:8089/metrics']), '401');
      assert.equal(await curl(['-u', `admin:${password}`, 'http://100.64.77.1:8089/api/network']), '200');
      assert.equal(await curl(['-u', `admin:${password}`, 'http://100.64.77.1:8089/metrics']), '200');
    });
  },
);
