/**
 * UDP connector health with two real routers and real UDP sockets: a target with nothing bound answers ICMP port
 * unreachable; the connector skips it, resets the session so that the client's next datagram goes to a target
 * that listens, withdraws itself while none does, and is advertised again once a probe finds one listening.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const HOST = '127.0.0.1';

async function udpEcho(port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  await new Promise<void>((r) => s.bind(port, HOST, r));
  return s;
}

/** One client socket that sends `text` every 200 ms until an answer comes back (or `timeoutMs` passes). */
function askUntilAnswered(port: number, text: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const send = (): void => s.send(text, port, HOST);
    const every = setInterval(send, 200);
    const timer = setTimeout(() => {
      clearInterval(every);
      s.close();
      reject(new Error(`no answer on ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearInterval(every);
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.bind(0, HOST, send);
  });
}

describe('udp connector health (ICMP port unreachable)', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let hubProc: ManagedProcess;
  const sockets: dgram.Socket[] = [];
  let soloTarget: number;
  const ports = { pair: 0, solo: 0 };

  const connectorStats = async (name: string): Promise<Record<string, number>> =>
    ((await hub.status()).connectors.find((c) => c.name === name)?.stats ?? {}) as Record<string, number>;
  const matched = async (name: string): Promise<boolean | undefined> =>
    (await west.status()).listeners.find((l) => l.name === name)?.matched;

  before(async () => {
    root = await makeTempRoot('udp-health');
    const echo = await udpEcho();
    sockets.push(echo);
    const closed = await freePort(); // nothing binds here
    soloTarget = await freePort();
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    // the first target listed gets the first session: it is the one that does not listen
    await hub.writeResource('Connector', 'pair', {
      type: 'udp',
      targets: [
        { host: HOST, port: closed },
        { host: HOST, port: echo.address().port },
      ],
    });
    await hub.writeResource('Connector', 'solo', { type: 'udp', host: HOST, port: soloTarget });
    hubProc = hub.start();
    const linkPort = (await hub.ready()).router.linkAccess?.port ?? 0;
    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    ports.pair = await freePort();
    ports.solo = await freePort();
    await west.writeResource('Listener', 'pair', { type: 'udp', host: HOST, port: ports.pair });
    await west.writeResource('Listener', 'solo', { type: 'udp', host: HOST, port: ports.solo });
    west.start();
    await west.ready();
    await west.seesKey('pair');
    await west.seesKey('solo');
  });

  after(async () => {
    await stopAllProcesses();
    for (const s of sockets) s.close();
    await root?.remove();
  });

  test("a target that answers port unreachable is skipped; the client's next datagram reaches one that listens", async () => {
    assert.equal(await askUntilAnswered(ports.pair, 'ping'), 'ping');
    const st = await connectorStats('pair');
    assert.ok((st['targetUnreachable'] ?? 0) >= 1, `the dead target was noticed: ${JSON.stringify(st)}`);
    await hubProc.waitForOutput(/udp target answered port unreachable/);
    assert.equal(await matched('pair'), true, 'one target still listens: the connector stays advertised');
  });

  test('with no target listening the connector is withdrawn, and advertised again once one listens', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, HOST, r));
    s.send('anyone?', ports.solo, HOST);
    await waitFor(async () => (await matched('solo')) === false, {
      what: 'the solo connector to be withdrawn',
      timeoutMs: 15_000,
    });
    s.close();
    await hubProc.waitForOutput(/target down: connector withdrawn/);

    sockets.push(await udpEcho(soloTarget));
    await waitFor(async () => (await matched('solo')) === true, {
      what: 'the solo connector to be advertised again',
      timeoutMs: 15_000,
    });
    assert.equal(await askUntilAnswered(ports.solo, 'back'), 'back');
  });
});
