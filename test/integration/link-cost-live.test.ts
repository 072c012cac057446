/**
 * Changing a Link's cost while it carries traffic, with two real routers: the new cost applies at both ends (the
 * accepting end takes it over from the dialing end), routes follow, and the link and an open TCP connection
 * through it stay up. A change of anything else in the Link still restarts the link.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const HOST = '127.0.0.1';

/** Echoes every line back upper-cased. */
function upperServer(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined); // the router resets flows when it stops
      s.on('data', (d) => s.write(d.toString().toUpperCase()));
    });
    server.listen(0, HOST, () => resolve({ server, port: (server.address() as net.AddressInfo).port }));
  });
}

function ask(sock: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sock.once('data', (d) => resolve(d.toString()));
    sock.once('error', reject);
    sock.write(text);
  });
}

describe('link cost changed while the link carries a connection', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let westProc: ManagedProcess;
  let hubProc: ManagedProcess;
  let server: net.Server;
  let listenPort: number;
  let hubLinkPort: number;

  const linkView = async (site: TestSite) => {
    const st = await site.status();
    const l = st.links.find((x) => x.state === 'up');
    assert.ok(l, `${site.name} has an up link`);
    return l;
  };

  before(async () => {
    root = await makeTempRoot('cost');
    const up = await upperServer();
    server = up.server;
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    await hub.addConnector({ name: 'upper', port: up.port });
    west = await TestSite.create(root.dir, { name: 'west' });
    listenPort = await freePort();
    await west.addListener({ name: 'upper', port: listenPort });
    hubProc = hub.start();
    hubLinkPort = (await hub.ready()).router.linkAccess?.port ?? 0;
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: hubLinkPort }], cost: 1 });
    westProc = west.start();
    await west.ready();
    await west.seesKey('upper');
  });

  after(async () => {
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  test('both ends take the new cost; the link and an open connection stay up', async () => {
    const sock = net.connect({ host: HOST, port: listenPort });
    await new Promise((r) => sock.once('connect', r));
    assert.equal(await ask(sock, 'before\n'), 'BEFORE\n');
    const westBefore = await linkView(west);
    const hubBefore = await linkView(hub);
    assert.equal(westBefore.cost, 1);
    assert.equal(hubBefore.cost, 1);

    await west.linkTo(hub, { endpoints: [{ host: HOST, port: hubLinkPort }], cost: 7 });
    await westProc.waitForOutput(/Link\/to-hub: cost 1 -> 7/);
    await waitFor(async () => (await linkView(hub)).cost === 7, { what: 'the accepting end to take cost 7' });
    const westAfter = await linkView(west);
    assert.equal(westAfter.cost, 7);
    await waitFor(
      async () => (await west.status()).routes.find((r) => siteOf(r.dest) === 'hub')?.cost === 7,
      {
        what: "west's route to hub to cost 7",
      },
    );
    await waitFor(
      async () => (await hub.status()).routes.find((r) => siteOf(r.dest) === 'west')?.cost === 7,
      {
        what: "hub's route to west to cost 7",
      },
    );
    assert.equal(westAfter.upSince, westBefore.upSince, 'the same link session (not redialled)');
    assert.equal(await ask(sock, 'after\n'), 'AFTER\n', 'the open connection still works');
    assert.doesNotMatch(westProc.output + hubProc.output, /up -> down|link session closed/);
    sock.destroy();
  });

  test('changing the endpoints (not only the cost) restarts the link', async () => {
    await west.linkTo(hub, { endpoints: [{ host: 'localhost', port: hubLinkPort }], cost: 7 });
    await westProc.waitForOutput(/Link\/to-hub updated/);
    await waitFor(async () => (await west.status()).links.some((l) => l.state === 'up'), {
      what: 'the restarted link to come up',
      timeoutMs: 15_000,
    });
    // The accepting end sees the new session a moment after the dialer does: wait for it, do not sample once.
    await waitFor(async () => (await hub.status()).links.some((l) => l.state === 'up' && l.cost === 7), {
      what: 'the hub to show the new session up with cost 7',
    });
  });
});
