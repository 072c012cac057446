/**
 * What a linked site cannot do to the others (docs/adr/0007-self-certifying-router-ids.md): three real router
 * processes (hub, west, east) and a hostile peer holding a genuine link certificate from the hub's CA, speaking
 * the real link protocol with hand-made messages. It cannot advertise in another router's name (forged copies
 * are dropped and counted, the victim's services stay, its next advertisements still count), cannot link under
 * another router's id, cannot switch ids mid-link, and names with control characters are refused.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseExposition } from '../../src/observe/metrics.js';
import { stopAllProcesses } from '../support/proc.js';
import { RogueRouter } from '../support/rogue-router.js';
import { makeTempRoot, siteOf, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

describe('trust between linked sites', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let east: TestSite;
  let linkPort = 0;
  let server: net.Server;
  const rogues: RogueRouter[] = [];

  const metric = async (site: TestSite, name: string): Promise<number> =>
    parseExposition(await site.admin().metrics()).get(name) ?? 0;

  const rogue = async (opts: { site?: string; commonName?: string } = {}): Promise<RogueRouter> => {
    const r = RogueRouter.create({ port: linkPort, host: HOST, ca: hub.ca!, ...opts });
    rogues.push(r);
    await r.connect();
    return r;
  };

  before(async () => {
    root = await makeTempRoot('trust');
    server = net.createServer((s) => s.end('db\n')).listen(0, HOST);
    await new Promise((r) => server.once('listening', r));
    const dbPort = (server.address() as net.AddressInfo).port;
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    west = await TestSite.create(root.dir, { name: 'west' });
    east = await TestSite.create(root.dir, { name: 'east' });
    await west.addConnector({ name: 'db', port: dbPort });
    hub.start();
    linkPort = (await hub.ready()).router.linkAccess?.port ?? 0;
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    await east.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    west.start();
    east.start();
    await east.seesKey('db');
    await hub.seesKey('db');
  });

  after(async () => {
    for (const r of rogues) r.close();
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  test('a linked peer cannot advertise in another router’s name; the victim keeps its services', async () => {
    const m = await rogue();
    m.hi();
    m.startHellos(hub.routerId);
    await waitFor(
      async () =>
        (await hub.status()).links.some((l) => l.neighbor === m.identity.routerId && l.state === 'up'),
      { what: 'the hostile peer linked to the hub', timeoutMs: 15_000 },
    );
    const before = await metric(hub, 'caravan_routing_advertisements_dropped_total{reason="forged"}');
    const westKey = (await west.status()).topology.routers.find((r) => r.id === west.routerId);
    assert.ok(westKey);
    // west's routes withdrawn, at a seq far ahead, signed with the attacker's own key ...
    m.advertise(
      m.forge({
        t: 'ra',
        id: west.routerId,
        mode: 'interior',
        seq: 2 ** 31,
        boot: 1,
        links: [],
        addresses: {},
      }),
    );
    // ... or claiming west's real key, with a signature the attacker cannot make
    const withWestKey = m.forge(
      { t: 'ra', id: west.routerId, mode: 'interior', seq: 2 ** 31 + 1, boot: 1, links: [], addresses: {} },
      m.identity.publicKey,
    );
    m.advertise({ ...withWestKey, key: 'A'.repeat(43) });
    await waitFor(
      async () =>
        (await metric(hub, 'caravan_routing_advertisements_dropped_total{reason="forged"}')) >= before + 2,
      { what: 'the hub to drop both forged advertisements', timeoutMs: 10_000 },
    );
    for (const site of [hub, east]) {
      const st = await site.status();
      const db = st.addresses.find((a) => a.key === 'db');
      assert.deepEqual(
        db?.destinations.map((d) => d.router),
        [west.routerId],
        `${site.name} still reaches db at west`,
      );
      const seq = st.topology.routers.find((r) => r.id === west.routerId)?.seq ?? 0;
      assert.ok(seq < 1000, `${site.name} holds west's own advertisement (seq ${seq})`);
    }
    // west's next advertisement still counts everywhere: its sequence numbers were not pushed around
    await west.addConnector({ name: 'db2', port: (server.address() as net.AddressInfo).port });
    await east.seesKey('db2');
    await hub.seesKey('db2');
  });

  test('a peer cannot link under another router’s id', async () => {
    const before = await metric(hub, 'caravan_links_refused_identity_total');
    const m = await rogue();
    m.hi(west.routerId, 'west'); // its certificate names its own id
    await waitFor(async () => m.closed, { what: 'the hub to close the link', timeoutMs: 10_000 });
    assert.ok((await metric(hub, 'caravan_links_refused_identity_total')) >= before + 1);
    const links = (await hub.status()).links.filter((l) => l.neighbor === west.routerId);
    assert.equal(links.length, 1, 'only the real west is linked as west');
    // nor under an id of its own making that does not belong to the site it names
    const n = await rogue({ site: 'mallory' });
    n.hi(n.identity.routerId, 'west');
    await waitFor(async () => n.closed, { what: 'the hub to close the link', timeoutMs: 10_000 });
  });

  test('a peer cannot switch router ids in its HELLOs on an accepted link', async () => {
    const before = await metric(hub, 'caravan_links_refused_identity_total');
    const m = await rogue();
    m.hi();
    m.startHellos(hub.routerId, east.routerId);
    await waitFor(async () => m.closed, { what: 'the hub to close the link', timeoutMs: 10_000 });
    assert.ok((await metric(hub, 'caravan_links_refused_identity_total')) >= before + 1);
    assert.equal((await hub.status()).links.filter((l) => l.neighbor === east.routerId).length, 1);
  });

  test('names with control characters never cross a link', async () => {
    const m = await rogue();
    m.hi(m.identity.routerId, 'mallory\u001b[2J');
    await waitFor(async () => m.closed, { what: 'the hub to close the link', timeoutMs: 10_000 });
    // a well-identified peer whose advertisement names keys with escapes: the advertisement is dropped whole
    const n = await rogue();
    n.hi();
    n.startHellos(hub.routerId);
    await waitFor(
      async () =>
        (await hub.status()).links.some((l) => l.neighbor === n.identity.routerId && l.state === 'up'),
      { what: 'the peer linked to the hub', timeoutMs: 15_000 },
    );
    n.advertise(
      n.forge({
        t: 'ra',
        id: n.identity.routerId,
        mode: 'interior',
        seq: 10,
        boot: 1,
        links: [{ neighbor: hub.routerId, cost: 1 }],
        addresses: { 'db\u001b]0;owned\u0007': 1 },
        info: { site: 'west' },
      }),
    );
    // a valid one claiming to be site west in its info: shown under its own site name, never as west
    n.advertise(
      n.forge({
        t: 'ra',
        id: n.identity.routerId,
        mode: 'interior',
        seq: 11,
        boot: 1,
        links: [{ neighbor: hub.routerId, cost: 1 }],
        addresses: { mallorydb: 1 },
        info: { site: 'west', version: '\u001b[31m9.9' },
      }),
    );
    await hub.seesKey('mallorydb');
    const st = await hub.status();
    assert.ok(!st.addresses.some((a) => a.key.includes('\u001b')));
    const model = await hub.admin().network();
    const site = model.sites.find((s) => s.id === n.identity.routerId);
    assert.equal(site?.name, 'mallory');
    assert.equal(site?.version, '');
    assert.deepEqual(
      model.sites.filter((s) => s.name === 'west').map((s) => s.id),
      [west.routerId],
    );
    assert.equal(siteOf(n.identity.routerId), 'mallory');
  });

  test('the admin socket and every private key are the site owner’s only (mode 0600)', async () => {
    const files = [
      hub.adminSocket,
      ...['identity.key', 'ca.key', 'server.key'].map((f) => join(hub.dir, 'runtime', f)),
      join(west.dir, 'runtime', 'identity.key'),
      join(west.dir, 'runtime', 'links', 'to-hub', 'client.key'),
    ];
    for (const f of files) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  });
});
