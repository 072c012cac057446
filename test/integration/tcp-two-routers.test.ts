/**
 * Two real router processes on 127.0.0.1, linked over mutual TLS: TCP by routing key, byte-exact both ways,
 * half-close, backpressure, refused targets, certificate refusal, port conflicts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { createCa } from '../../src/site/certs/index.js';
import { freePort } from '../support/ports.js';

/** A server that hashes what it receives until FIN, then answers with that hash and `replyBytes` of data. */
function hashingServer(
  replyBytes: number,
): Promise<{ server: net.Server; port: number; reply: Buffer; clients: string[] }> {
  const reply = randomBytes(replyBytes);
  const clients: string[] = [];
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      clients.push(`${s.remoteAddress}:${s.remotePort}`);
      const h = createHash('sha256');
      s.on('data', (d) => h.update(d));
      s.on('end', () => {
        s.write(h.digest());
        s.end(reply);
      });
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port, reply, clients }),
    );
  });
}

function roundTrip(
  port: number,
  payload: Buffer,
): Promise<{ hash: Buffer; rest: Buffer; localPort: number }> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let localPort = 0;
    c.on('connect', () => {
      localPort = c.localPort ?? 0;
      c.end(payload);
    });
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve({ hash: all.subarray(0, 32), rest: all.subarray(32), localPort });
    });
    c.on('error', reject);
  });
}

describe('two routers over mTLS', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let west: TestSite;
  let hubProc: ManagedProcess;
  let westProc: ManagedProcess;
  let echo: Awaited<ReturnType<typeof hashingServer>>;
  let listenPort: number;
  let refusedListenPort: number;

  before(async () => {
    root = await makeTempRoot('int');
    echo = await hashingServer(8 * 1024 * 1024);
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
    });
    await hub.addConnector({ name: 'echo', port: echo.port });
    const deadPort = await freePort(); // nothing listens here
    await hub.addConnector({ name: 'nothing', port: deadPort });
    hubProc = hub.start();
    const hs = await hub.ready();
    const linkPort = hs.router.linkAccess?.port;
    assert.ok(linkPort, 'hub reports its link access port');

    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    // a second, more expensive link between the same two routers
    await west.linkTo(hub, {
      name: 'to-hub-backup',
      endpoints: [{ host: '127.0.0.1', port: linkPort }],
      cost: 5,
    });
    listenPort = await freePort();
    refusedListenPort = await freePort();
    await west.addListener({ name: 'echo', port: listenPort });
    await west.addListener({ name: 'nothing', port: refusedListenPort });
    westProc = west.start();
    await west.ready();
    await west.seesKey('echo');
  });

  after(async () => {
    await stopAllProcesses();
    echo?.server.close();
    await root?.remove();
  });

  test('bytes cross byte-exact in both directions with half-close, and the client address travels', async () => {
    const payload = randomBytes(24 * 1024 * 1024);
    const r = await roundTrip(listenPort, payload);
    assert.deepEqual(
      r.hash,
      createHash('sha256').update(payload).digest(),
      'server saw exactly what the client sent',
    );
    assert.equal(r.rest.length, echo.reply.length);
    assert.ok(r.rest.equals(echo.reply), 'client got exactly what the server sent after the half-close');
    await hubProc.waitForOutput(new RegExp(`flow delivered .*client=127\\.0\\.0\\.1:${r.localPort}\\b`));
  });

  test('many concurrent flows stay byte-exact', async () => {
    const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(64 * 1024 + i * 997));
    const results = await Promise.all(payloads.map((p) => roundTrip(listenPort, p)));
    results.forEach((r, i) => assert.deepEqual(r.hash, createHash('sha256').update(payloads[i]!).digest()));
  });

  test('two links between the same routers are both used as one adjacency, and RTT is measured', async () => {
    const st = await waitFor(
      async () => {
        const x = await west.status();
        const links = x.links.filter((l) => siteOf(l.neighbor) === 'hub' && l.state === 'up');
        return links.length === 2 && links.every((l) => typeof l.rttMs === 'number') ? x : undefined;
      },
      { what: 'both links up with an RTT', timeoutMs: 15_000 },
    );
    const route = st.routes.find((r) => siteOf(r.dest) === 'hub');
    assert.deepEqual(route?.links, ['to-hub', 'to-hub-backup'], 'the cheaper link first');
    assert.equal(route?.cost, 1);
    for (const l of st.links.filter((x) => siteOf(x.neighbor) === 'hub'))
      assert.ok(l.rttMs! > 0 && l.rttMs! < 1000, `a measured round trip (got ${l.rttMs} ms)`);
  });

  test('a refused target closes the client promptly, logs why and withdraws the connector', async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const c = net.connect({ port: refusedListenPort, host: '127.0.0.1' });
      c.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code}`));
      c.on('close', () => resolve('closed'));
      c.resume();
    });
    assert.ok(
      Date.now() - started < 3000,
      `client closed within 3 s (took ${Date.now() - started} ms, ${outcome})`,
    );
    await hubProc.waitForOutput(/target connection failed .*connector=nothing.*ECONNREFUSED/);
    await westProc.waitForOutput(/connection refused: no flow could be established .*key=nothing/);
    await waitFor(
      async () => {
        const s = await hub.status();
        return s.connectors.find((c) => c.name === 'nothing')?.healthy === false;
      },
      { what: 'the dead connector to be marked unhealthy' },
    );
    await waitFor(
      async () => {
        const s = await west.status();
        return s.listeners.find((l) => l.name === 'nothing')?.matched === false;
      },
      { what: 'the listener to be unmatched once the connector is withdrawn' },
    );
  });

  test('a slow reader never makes the routers buffer without bound', async () => {
    // A server that writes as fast as the network takes it, to a client that never reads.
    let written = 0;
    const src = net.createServer((s) => {
      const chunk = randomBytes(64 * 1024);
      const pump = (): void => {
        while (written < 512 * 1024 * 1024 && s.write(chunk)) written += chunk.length;
      };
      s.on('drain', () => {
        written += chunk.length;
        pump();
      });
      s.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => src.listen(0, '127.0.0.1', () => r()));
    const srcPort = (src.address() as net.AddressInfo).port;
    // resources added while the routers run are applied live
    await hub.addConnector({ name: 'firehose', port: srcPort });
    const firehosePort = await freePort();
    await west.addListener({ name: 'firehose', port: firehosePort });
    await west.seesKey('firehose');
    await waitFor(async () => (await west.status()).listeners.some((l) => l.name === 'firehose' && l.port), {
      what: 'the new listener to be up',
    });

    const client = net.connect({ port: firehosePort, host: '127.0.0.1' });
    client.pause();
    client.on('error', () => undefined);
    // wait until the amount written stops growing: everything in between is bounded by windows and socket buffers
    let last = -1;
    let stableSince = Date.now();
    await waitFor(
      () => {
        if (written !== last) {
          last = written;
          stableSince = Date.now();
          return false;
        }
        return written > 0 && Date.now() - stableSince > 1500;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the stalled flow to stop taking data' },
    );
    assert.ok(written < 64 * 1024 * 1024, `a stalled flow took only ${(written / 1048576).toFixed(1)} MiB`);
    client.destroy();
    src.close();
  });

  test('resources change while the router runs: removed, re-added, and invalid files change nothing', async () => {
    const { unlink, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await unlink(join(hub.dir, 'resources', 'connector-echo.yaml'));
    await waitFor(async () => !(await west.status()).addresses.some((a) => a.key === 'echo'), {
      what: 'the removed connector to leave the network',
    });
    await writeFile(join(hub.dir, 'resources', 'broken.yaml'), 'kind: Connector\nspec: [not: valid\n');
    await hubProc.waitForOutput(/resources not applied: the site directory is invalid.*broken\.yaml/);
    await unlink(join(hub.dir, 'resources', 'broken.yaml'));
    await hub.addConnector({ name: 'echo', port: echo.port });
    await west.seesKey('echo');
    const payload = randomBytes(100_000);
    const r = await roundTrip(listenPort, payload);
    assert.deepEqual(r.hash, createHash('sha256').update(payload).digest());
  });

  test('a peer whose certificate comes from another CA is refused, and the refusal is logged', async () => {
    const rogue = await TestSite.create(root.dir, { name: 'rogue' });
    const otherCa = await createCa({ commonName: 'someone else' });
    const linkPort = (await hub.status()).router.linkAccess?.port;
    assert.ok(linkPort);
    await rogue.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }], issuer: otherCa });
    rogue.start();
    await hubProc.waitForOutput(/link refused .*reason=/);
    const s = await waitFor(
      async () => {
        const st = await rogue.status().catch(() => undefined);
        const l = st?.links.find((x) => x.id === 'to-hub');
        return l && l.lastError ? st : undefined;
      },
      { what: 'the rogue link to report why it is down' },
    );
    assert.notEqual(s.links.find((x) => x.id === 'to-hub')?.state, 'up');
    const hs = await hub.status();
    assert.ok(!hs.links.some((l) => siteOf(l.neighbor) === 'rogue'), 'hub has no link with the rogue site');
  });

  test('a listener whose port is taken reports the conflict and the router keeps serving', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const other = await TestSite.create(root.dir, { name: 'other' });
    await other.addListener({ name: 'clash', port: taken });
    other.start();
    const s = await other.ready();
    const l = s.listeners.find((x) => x.name === 'clash');
    assert.match(l?.error ?? '', /already in use/);
    blocker.close();
  });
});
