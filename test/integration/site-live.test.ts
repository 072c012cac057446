/**
 * Changing the Site resource while the router runs, with two real router processes: the console starts, moves
 * and stops; link access moves to another port (the peer, pointed there, links again) without restarting the
 * router; fields that need a restart (routing timers) are reported as such and leave the router running.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const HOST = '127.0.0.1';
const ROUTING = { helloIntervalMs: 200, deadIntervalMs: 2000 };

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: HOST, port, path }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('Site changes while the router runs', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let hubProc: ManagedProcess;
  let westProc: ManagedProcess;
  let linkPort: number;
  let echo: net.Server;
  let echoListen: number;

  const writeHubSite = (extra: Record<string, unknown>, routing = ROUTING): Promise<void> =>
    hub.writeResource('Site', 'hub', {
      mode: 'interior',
      routing,
      linkAccess: { host: HOST, port: linkPort, grantPort: 0 },
      ...extra,
    });

  before(async () => {
    root = await makeTempRoot('site-live');
    linkPort = await freePort();
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: linkPort },
      ...ROUTING,
    });
    west = await TestSite.create(root.dir, { name: 'west', ...ROUTING });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    echo = net.createServer((c) => {
      c.on('error', () => undefined);
      c.pipe(c);
    });
    await new Promise<void>((r) => echo.listen(0, HOST, r));
    await hub.addConnector({ name: 'echo', port: (echo.address() as net.AddressInfo).port });
    echoListen = await freePort();
    await west.addListener({ name: 'echo', port: echoListen });
    hubProc = hub.start();
    await hub.ready();
    westProc = west.start();
    await west.ready();
    await west.routesTo(['hub']);
    await west.seesKey('echo');
  });

  after(async () => {
    await stopAllProcesses();
    echo?.close();
    await root?.remove();
  });

  test('the flow log turns on and off: each finished flow is one JSON line in logs/flows.log', async () => {
    const writeWestSite = (observe?: Record<string, unknown>): Promise<void> =>
      west.writeResource('Site', 'west', {
        mode: 'interior',
        routing: ROUTING,
        ...(observe ? { observe } : {}),
      });
    const file = join(west.dir, 'logs', 'flows.log');
    const lines = async (): Promise<Array<Record<string, unknown>>> =>
      (await readFile(file, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const roundTrip = (text: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = net.connect({ host: HOST, port: echoListen }, () => s.end(text));
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('end', () => resolve(got));
        s.on('error', reject);
      });

    await writeWestSite({ flowLog: true });
    await westProc.waitForOutput(/Site: flow log on/);
    for (const t of ['one', 'two', 'three']) assert.equal(await roundTrip(t), t);
    await waitFor(async () => (await lines()).length === 3, { what: 'three lines in flows.log' });
    for (const r of await lines()) {
      assert.equal(r['routingKey'], 'echo');
      assert.equal(r['outcome'], 'ok');
      assert.match(String(r['clientAddress']), /^127\.0\.0\.1:\d+$/);
      assert.equal(r['bytesOut'], r['bytesIn'], 'an echo: as many bytes back as out');
      assert.ok(r['endedAt'], 'only finished flows');
    }

    await writeWestSite();
    await westProc.waitForOutput(/Site: flow log off/);
    assert.equal(await roundTrip('four'), 'four');
    // on again, one more flow: the log is written in order, so once that flow's line is there, a line for the
    // flow made while the log was off would be there too
    await writeWestSite({ flowLog: true });
    await westProc.waitForOutput(/Site: flow log on[\s\S]*Site: flow log off[\s\S]*Site: flow log on/);
    assert.equal(await roundTrip('sixsix'), 'sixsix');
    await waitFor(async () => (await lines()).length >= 4, {
      what: 'the line of the flow after the log is on again',
    });
    assert.deepEqual(
      (await lines()).map((r) => r['bytesOut']),
      [3, 3, 5, 6],
      'nothing written while it was off (the 4-byte flow is missing)',
    );
  });

  test('the console starts, moves to another port and stops', async () => {
    const p1 = await freePort();
    await writeHubSite({ console: { host: HOST, port: p1 } });
    await hubProc.waitForOutput(new RegExp(`Site: console on 127\\.0\\.0\\.1:${p1}`));
    assert.equal(await get(p1, '/metrics'), 200);

    const p2 = await freePort();
    await writeHubSite({ console: { host: HOST, port: p2 } });
    await hubProc.waitForOutput(new RegExp(`Site: console on 127\\.0\\.0\\.1:${p2}`));
    assert.equal(await get(p2, '/metrics'), 200);
    assert.ok(await refuses(p1), 'the old console port is closed');

    await writeHubSite({});
    await hubProc.waitForOutput(/Site: console off/);
    assert.ok(await refuses(p2), 'no console once it is removed from the Site');
  });

  test('link access moves to another port: the old one closes and the peer links again on the new one', async () => {
    const old = linkPort;
    linkPort = await freePort();
    await writeHubSite({});
    await hubProc.waitForOutput(new RegExp(`Site: link access on 127\\.0\\.0\\.1:${linkPort}`));
    assert.ok(await refuses(old), 'nothing accepts links on the old port');
    const st = await hub.status();
    assert.equal(st.router.linkAccess?.port, linkPort, 'status reports the new link port');

    // the peer's Link still points at the old port until its owner changes it
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    await waitFor(
      async () => (await west.status()).links.some((l) => siteOf(l.neighbor) === 'hub' && l.state === 'up'),
      { what: 'west to link to hub on its new port', timeoutMs: 20_000 },
    );
    await west.routesTo(['hub']);
    assert.ok(hubProc.running, 'the hub router kept running');
  });

  test('a change that needs a restart is reported and changes nothing else', async () => {
    await writeHubSite({}, { helloIntervalMs: 300, deadIntervalMs: 3000 });
    await hubProc.waitForOutput(/Site: routing changed: restart the router to apply/);
    const st = await west.status();
    assert.ok(
      st.links.some((l) => siteOf(l.neighbor) === 'hub' && l.state === 'up'),
      'the link stays up',
    );
  });
});
