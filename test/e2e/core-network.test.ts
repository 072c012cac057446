/**
 * The core network across real separate networks (Linux network namespaces):
 *
 *   westapp(10.10.0.2) ── west(10.10.0.1) ══ 100.64.1.0/30 ══ hub ══ 100.64.2.0/30 ══ east(10.10.0.1) ── eastapp(10.10.0.2)
 *                          │ 10.20.0.1                                                       redis-server here
 *                          └── edge(10.20.0.2)  (edge router attached to west)
 *
 * west and east use the SAME private CIDR (10.10.0.0/24) and drop every inbound connection on their uplinks
 * (nftables): they can only dial out to the hub. A decoy redis at westapp has the same address as the real one
 * at eastapp, so a wrong path would be visible.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NetLab, startRedis, type Host } from '../support/netns.js';
import { repoRoot, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const LINK_PORT = 55671;
const bulk = join(repoRoot, 'test', 'fixtures', 'bulk.mjs');

describe('core network: hub, two private sites with the same CIDR, an edge', () => {
  let lab: NetLab;
  let root: { dir: string; remove: () => Promise<void> };
  const h: Record<string, Host> = {};
  const s: Record<string, TestSite> = {};
  const procs: Record<string, ManagedProcess> = {};

  const startRouter = (name: string): ManagedProcess => {
    const p = lab.spawn(h[name]!, process.execPath, s[name]!.routerArgs(), { label: `router-${name}` });
    procs[name] = p;
    return p;
  };

  before(async () => {
    lab = await NetLab.create('core');
    root = await makeTempRoot('core');
    for (const n of ['hub', 'west', 'east', 'westapp', 'eastapp', 'edge']) h[n] = await lab.addHost(n);
    const up = await lab.connect(h.hub!, h.west!, '100.64.1.1/30', '100.64.1.2/30', {
      ifNames: ['to-west', 'uplink'],
    });
    const up2 = await lab.connect(h.hub!, h.east!, '100.64.2.1/30', '100.64.2.2/30', {
      ifNames: ['to-east', 'uplink'],
    });
    await lab.connect(h.west!, h.westapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.connect(h.east!, h.eastapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.connect(h.west!, h.edge!, '10.20.0.1/24', '10.20.0.2/24', { ifNames: ['edgelan', 'eth0'] });
    await lab.dropInbound(h.west!, up.bIf);
    await lab.dropInbound(h.east!, up2.bIf);

    // real redis at eastapp; a decoy at westapp with the very same address
    await startRedis(lab, h.eastapp!, '10.10.0.2', 6379);
    await startRedis(lab, h.westapp!, '10.10.0.2', 6379);
    await lab.execOk(h.westapp!, 'redis-cli', ['-h', '10.10.0.2', 'set', 'whoami', 'decoy-at-west']);
    await lab.execOk(h.eastapp!, 'redis-cli', ['-h', '10.10.0.2', 'set', 'whoami', 'real-at-east']);
    lab.spawn(
      h.eastapp!,
      process.execPath,
      [bulk, 'serve', '10.10.0.2', '7000', String(100 * 1024 * 1024), 'e2e'],
      {
        label: 'bulk-server',
      },
    );

    s.hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '0.0.0.0', port: LINK_PORT },
    });
    s.west = await TestSite.create(root.dir, {
      name: 'west',
      linkAccess: { host: '10.20.0.1', port: LINK_PORT },
    });
    s.east = await TestSite.create(root.dir, { name: 'east' });
    s.edge = await TestSite.create(root.dir, { name: 'edge', mode: 'edge' });
    await s.west.linkTo(s.hub, { endpoints: [{ host: '100.64.1.1', port: LINK_PORT }] });
    await s.east.linkTo(s.hub, { endpoints: [{ host: '100.64.2.1', port: LINK_PORT }] });
    await s.edge.linkTo(s.west, { endpoints: [{ host: '10.20.0.1', port: LINK_PORT }] });
    await s.east.addConnector({ name: 'redis', host: '10.10.0.2', port: 6379 });
    await s.east.addConnector({ name: 'bulk', host: '10.10.0.2', port: 7000 });
    await s.west.addListener({ name: 'redis', host: '10.10.0.1', port: 6379 });
    await s.west.addListener({ name: 'bulk', host: '10.10.0.1', port: 7000 });
    await s.edge.addListener({ name: 'redis', host: '127.0.0.1', port: 6379 });
    for (const n of ['hub', 'west', 'east', 'edge']) startRouter(n);
    await s.west.seesKey('redis');
    await s.edge.seesKey('redis');
  });

  after(async () => {
    await lab?.destroy();
    await root?.remove();
  });

  test('the private sites really are private and share a CIDR', async () => {
    // hub cannot dial west's uplink (inbound dropped), but west dialled the hub: the link is up
    const probe = await lab.exec(h.hub!, process.execPath, [
      '-e',
      `const s=require('net').connect(${LINK_PORT},'100.64.1.2');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1500)`,
    ]);
    assert.notEqual(probe.code, 0, 'the hub cannot open a connection to west');
    const st = await s.west!.status();
    assert.ok(st.links.some((l) => l.id === 'to-hub' && l.state === 'up' && siteOf(l.neighbor) === 'hub'));
    const local = await lab.execOk(h.westapp!, 'redis-cli', ['-h', '10.10.0.2', 'get', 'whoami']);
    assert.equal(local.stdout.trim(), 'decoy-at-west');
  });

  test('west reaches the redis at east by routing key, not the decoy with the same address', async () => {
    const r = await lab.execOk(h.westapp!, 'redis-cli', ['-h', '10.10.0.1', '-p', '6379', 'get', 'whoami']);
    assert.equal(r.stdout.trim(), 'real-at-east');
    await lab.execOk(h.westapp!, 'redis-cli', ['-h', '10.10.0.1', 'set', 'written-from', 'west']);
    const e = await lab.execOk(h.eastapp!, 'redis-cli', ['-h', '10.10.0.2', 'get', 'written-from']);
    assert.equal(e.stdout.trim(), 'west');
  });

  test('redis-benchmark through the network completes every request', async () => {
    const r = await lab.execOk(
      h.westapp!,
      'redis-benchmark',
      ['-h', '10.10.0.1', '-p', '6379', '-n', '20000', '-c', '20', '-t', 'ping_inline,set,get', '--csv'],
      { timeoutMs: 120_000 },
    );
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter((l) => /^"(PING_INLINE|SET|GET)"/.test(l));
    assert.equal(rows.length, 3, `three result rows in:\n${r.stdout}`);
    for (const row of rows) {
      const [name, rps] = row.split(',').map((x) => x.replace(/"/g, ''));
      assert.ok(Number(rps) > 0, `${name}: ${rps} requests/s`);
    }
    const check = await lab.execOk(h.eastapp!, 'redis-cli', ['-h', '10.10.0.2', 'dbsize']);
    assert.ok(Number(check.stdout.trim()) >= 2, 'SETs from the benchmark reached the real redis at east');
  });

  test('an edge router reaches the service through its interior', async () => {
    const r = await lab.execOk(h.edge!, 'redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'get', 'whoami']);
    assert.equal(r.stdout.trim(), 'real-at-east');
    const st = await s.edge!.status();
    for (const rt of st.routes)
      assert.equal(siteOf(rt.nextHop), 'west', `edge reaches ${rt.dest} only through west`);
    // the edge is never transit: nobody routes through it
    for (const n of ['hub', 'west', 'east']) {
      const x = await s[n]!.status();
      assert.ok(
        !x.routes.some((rt) => siteOf(rt.nextHop) === 'edge' && siteOf(rt.dest) !== 'edge'),
        `${n} never routes via the edge`,
      );
    }
  });

  test('100 MB each way, checked by hash', async () => {
    const r = await lab.exec(
      h.westapp!,
      process.execPath,
      [bulk, 'send', '10.10.0.1', '7000', String(100 * 1024 * 1024), 'e2e'],
      { timeoutMs: 240_000 },
    );
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      ok?: boolean;
      upOk?: boolean;
      downOk?: boolean;
    };
    assert.equal(out.upOk, true, `client→server bytes match (${r.stdout} ${r.stderr})`);
    assert.equal(out.downOk, true, `server→client bytes match (${r.stdout})`);
  });

  test('a killed router is restarted and the network reconverges without manual steps', async () => {
    procs.east!.kill('SIGKILL');
    await procs.east!.exited;
    await waitFor(
      async () => {
        const st = await s.west!.status();
        return (
          !st.addresses.some((a) => a.key === 'redis') && !st.routes.some((r) => siteOf(r.dest) === 'east')
        );
      },
      { what: 'west to drop east and its connectors', timeoutMs: 10_000 },
    );
    const down = await lab.exec(h.westapp!, 'redis-cli', ['-h', '10.10.0.1', 'ping'], { timeoutMs: 10_000 });
    assert.notEqual(down.stdout.trim(), 'PONG', 'no service while its only site is down');
    startRouter('east');
    await s.west!.seesKey('redis', 1, 20_000);
    await waitFor(
      async () => {
        const r = await lab.exec(h.westapp!, 'redis-cli', ['-h', '10.10.0.1', 'get', 'whoami'], {
          timeoutMs: 5000,
        });
        return r.stdout.trim() === 'real-at-east';
      },
      { what: 'traffic to resume after the restart', timeoutMs: 20_000 },
    );
  });
});
