/**
 * A site whose only way out is an HTTP proxy, on separate networks (Linux network namespaces):
 *
 *   corp(10.30.0.1) ── proxy(10.30.0.2 | 100.64.9.2) ══ hub(100.64.9.1)
 *   west's router        tinyproxy :3128                hub's router, a TCP service
 *
 * corp has no route to 100.64.9.0/30 and the proxy host does not forward packets, so the only way from corp to
 * the hub is a CONNECT through tinyproxy. west redeems the hub's token through the proxy (inside corp), its
 * link dials through it, and a TCP connection at west reaches the service at the hub.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueToken, writeTokenFile } from '../../src/site/grants/index.js';
import { NetLab, startTcpServer, tcpProbe, type Host } from '../support/netns.js';
import { repoRoot, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const LINK_PORT = 55671;
const GRANT_PORT = 55672;
const PROXY = 'http://10.30.0.2:3128';
const REDEEM = join(repoRoot, 'dist', 'src', 'site', 'grants', 'index.js');

describe('a site behind an HTTP proxy links to the hub through it', () => {
  let lab: NetLab;
  let root: { dir: string; remove: () => Promise<void> };
  const h: Record<string, Host> = {};
  let hub: TestSite;
  let west: TestSite;
  let tinyproxy: ManagedProcess;
  let listenPort: number;

  before(async () => {
    lab = await NetLab.create('proxy');
    root = await makeTempRoot('proxy-e2e');
    for (const n of ['corp', 'proxy', 'hub']) h[n] = await lab.addHost(n);
    await lab.connect(h.corp!, h.proxy!, '10.30.0.1/24', '10.30.0.2/24', { ifNames: ['lan', 'corp'] });
    await lab.connect(h.proxy!, h.hub!, '100.64.9.2/30', '100.64.9.1/30', { ifNames: ['wan', 'to-proxy'] });
    await startTcpServer(lab, h.hub!, '127.0.0.1', 7000, 'hello from the hub');

    const conf = join(root.dir, 'tinyproxy.conf');
    await writeFile(
      conf,
      [
        'Port 3128',
        'Listen 10.30.0.2',
        'Timeout 60',
        'Allow 10.30.0.0/24',
        'LogLevel Connect',
        'MaxClients 20',
      ]
        .map((l) => `${l}\n`)
        .join(''),
    );
    tinyproxy = lab.spawn(h.proxy!, 'tinyproxy', ['-d', '-c', conf], { label: 'tinyproxy' });
    await waitFor(async () => (await tcpProbe(lab, h.corp!, '10.30.0.2', 3128)).ok, {
      what: 'tinyproxy to listen',
    });

    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '0.0.0.0', port: LINK_PORT, grantPort: GRANT_PORT },
    });
    await hub.addConnector({ name: 'hello', host: '127.0.0.1', port: 7000 });
    lab.spawn(h.hub!, process.execPath, hub.routerArgs(), { label: 'router-hub' });
    await hub.ready(30_000);

    west = await TestSite.create(root.dir, { name: 'west' });
    listenPort = 7100;
    await west.addListener({ name: 'hello', host: '127.0.0.1', port: listenPort });
  });

  after(async () => {
    await lab?.destroy();
    await root?.remove();
  });

  test('corp cannot reach the hub directly', async () => {
    const r = await tcpProbe(lab, h.corp!, '100.64.9.1', LINK_PORT);
    assert.equal(r.ok, false, 'no route from corp to the hub');
  });

  test('the token is redeemed through the proxy, the link comes up through it, TCP crosses it', async () => {
    const { token } = await issueToken(hub.dir, { redemptions: 1, expiry: '10m', hosts: ['100.64.9.1'] });
    const tokenFile = join(root.dir, 'hub.token');
    await writeTokenFile(tokenFile, token);
    // the redemption runs inside corp: the proxy is its only way to the grant server
    const script =
      'const [mod, dir, file, proxy] = process.argv.slice(1);' +
      'const g = await import(mod);' +
      'const link = await g.redeemToken(dir, await g.readTokenFile(file), { proxy });' +
      'console.log(JSON.stringify(link.spec));';
    const r = await lab.execOk(
      h.corp!,
      process.execPath,
      ['--input-type=module', '-e', script, REDEEM, west.dir, tokenFile, PROXY],
      { timeoutMs: 60_000 },
    );
    const spec = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { proxy?: string };
    assert.equal(spec.proxy, PROXY, 'the Link keeps the proxy');
    await tinyproxy.waitForOutput(new RegExp(`CONNECT 100\\.64\\.9\\.1:${GRANT_PORT} `));

    lab.spawn(h.corp!, process.execPath, west.routerArgs(), { label: 'router-west' });
    await west.ready(30_000);
    await waitFor(
      async () => (await west.status()).links.some((l) => l.direction === 'out' && l.state === 'up'),
      { what: "west's link through the proxy to come up", timeoutMs: 30_000 },
    );
    await tinyproxy.waitForOutput(new RegExp(`CONNECT 100\\.64\\.9\\.1:${LINK_PORT} `));
    await west.seesKey('hello', 1, 30_000);
    const answer = await tcpProbe(lab, h.corp!, '127.0.0.1', listenPort, { timeoutMs: 10_000 });
    assert.deepEqual(answer, { ok: true, data: 'hello from the hub' });
  });
});
