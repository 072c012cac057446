/**
 * Listener allow lists with two real routers. Clients come from two real source addresses on the loopback
 * network (127.0.0.1 and 127.0.0.2, both local on Linux): the allowed one reaches the service over tcp, http1 and
 * udp; the other is closed at once (tcp, http1) or gets no answer (udp), and the listener counts it. Changing the
 * list applies while the router runs.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const HOST = '127.0.0.1';
const OTHER = '127.0.0.2';

/** Sends `text` from `from` and resolves with the answer, or with null when the connection closes without one. */
function tcpAsk(port: number, from: string, text: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port, localAddress: from }, () => s.write(text));
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) s.end();
    });
    s.on('close', () => resolve(got === '' ? null : got));
    s.on('error', () => undefined);
  });
}

function httpGet(port: number, from: string): Promise<number | null> {
  return new Promise((resolve) => {
    http
      .get({ host: HOST, port, path: '/', localAddress: from, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', () => resolve(null));
  });
}

function udpAsk(port: number, from: string, text: string, waitMs = 1500): Promise<string | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.bind(0, from, () => s.send(text, port, HOST));
  });
}

describe('listener allow lists', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  const servers: Array<{ close(): unknown }> = [];
  const ports = { tcp: 0, http: 0, udp: 0 };

  const listenerStats = async (name: string): Promise<Record<string, number>> =>
    ((await west.status()).listeners.find((l) => l.name === name)?.stats ?? {}) as Record<string, number>;

  before(async () => {
    root = await makeTempRoot('allow');
    const tcpEcho = net.createServer((s) => {
      s.on('error', () => undefined); // the router resets flows when it stops
      s.pipe(s);
    });
    const web = http.createServer((_q, r) => r.end('ok'));
    const udpEcho = dgram.createSocket('udp4');
    udpEcho.on('message', (m, r) => udpEcho.send(m, r.port, r.address));
    await new Promise<void>((r) => tcpEcho.listen(0, HOST, r));
    await new Promise<void>((r) => web.listen(0, HOST, r));
    await new Promise<void>((r) => udpEcho.bind(0, HOST, r));
    servers.push(tcpEcho, web, udpEcho);

    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    await hub.addConnector({ name: 'echo', port: (tcpEcho.address() as net.AddressInfo).port });
    await hub.writeResource('Connector', 'web', {
      type: 'http1',
      host: HOST,
      port: (web.address() as net.AddressInfo).port,
    });
    await hub.writeResource('Connector', 'dns', { type: 'udp', host: HOST, port: udpEcho.address().port });
    hub.start();
    const linkPort = (await hub.ready()).router.linkAccess?.port ?? 0;

    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    ports.tcp = await freePort();
    ports.http = await freePort();
    ports.udp = await freePort();
    const allow = [`${HOST}/32`];
    await west.writeResource('Listener', 'echo', { host: HOST, port: ports.tcp, allow });
    await west.writeResource('Listener', 'web', { type: 'http1', host: HOST, port: ports.http, allow });
    await west.writeResource('Listener', 'dns', { type: 'udp', host: HOST, port: ports.udp, allow });
    west.start();
    await west.ready();
    for (const k of ['echo', 'web', 'dns']) await west.seesKey(k);
  });

  after(async () => {
    await stopAllProcesses();
    for (const s of servers) s.close();
    await root?.remove();
  });

  test('tcp: an allowed client gets through, another address is closed at once and counted', async () => {
    assert.equal(await tcpAsk(ports.tcp, HOST, 'hello'), 'hello');
    assert.equal(await tcpAsk(ports.tcp, OTHER, 'hello'), null);
    const st = await listenerStats('echo');
    assert.equal(st['denied'], 1);
  });

  test('http1: the refused address gets no response at all', async () => {
    assert.equal(await httpGet(ports.http, HOST), 200);
    assert.equal(await httpGet(ports.http, OTHER), null);
    assert.equal((await listenerStats('web'))['denied'], 1);
  });

  test('udp: datagrams from another address are dropped', async () => {
    assert.equal(await udpAsk(ports.udp, HOST, 'q1'), 'q1');
    assert.equal(await udpAsk(ports.udp, OTHER, 'q2'), null);
    assert.equal((await listenerStats('dns'))['denied'], 1);
  });

  test('a changed allow list applies while the router runs', async () => {
    await west.writeResource('Listener', 'echo', {
      host: HOST,
      port: ports.tcp,
      allow: [`${HOST}/32`, OTHER],
    });
    await waitFor(async () => (await tcpAsk(ports.tcp, OTHER, 'again')) === 'again', {
      what: 'the second address to be admitted',
      timeoutMs: 10_000,
    });
  });
});
