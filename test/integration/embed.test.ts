/**
 * The embedding API (src/embed): this test process joins the network as site `app` (an edge, linked over mTLS to a
 * real `hub` router process) and
 * - connects to a real TCP server behind the hub's connector by routing key (bytes checked by hash, half-close);
 * - serves a routing key with Node's own http.Server, which real `curl` reaches through the hub's tcp listener;
 * - holds back a sender that outruns a reader that does not read (flow control end to end);
 * - withdraws the key when the service closes, and reports NO_CONNECTOR for keys nobody serves.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CaravanNode, ErrorCodes, isCaravanError, type FlowSocket } from '../../src/embed/index.js';
import { freePort } from '../support/ports.js';
import { run, stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

describe('embedding API: a Node program as a site', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let node: CaravanNode;
  let echo: net.Server;
  const ports = { web: 0, sink: 0 };

  before(async () => {
    root = await makeTempRoot('embed');
    echo = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, HOST, r));
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    await hub.addConnector({ name: 'echo', port: (echo.address() as net.AddressInfo).port });
    ports.web = await freePort();
    ports.sink = await freePort();
    await hub.addListener({ name: 'web', port: ports.web });
    await hub.addListener({ name: 'sink', port: ports.sink });
    hub.start();
    const linkPort = (await hub.ready()).router.linkAccess?.port ?? 0;
    const app = await TestSite.create(root.dir, { name: 'app', mode: 'edge' });
    await app.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    node = await CaravanNode.start({ dir: app.dir, logLevel: 'debug' });
    assert.equal(node.routerId, app.routerId);
    await node.waitFor('echo', 15_000);
  });

  after(async () => {
    await node?.stop();
    await stopAllProcesses();
    echo?.close();
    await root?.remove();
  });

  test('connect(key): a Duplex to the server behind the key, byte-exact both ways, with half-close', async () => {
    const sock = await node.connect('echo');
    assert.equal(sock.info.router, hub.routerId);
    assert.equal(sock.info.connector, 'echo');
    assert.match(sock.info.target ?? '', /^127\.0\.0\.1:\d+$/);
    const data = randomBytes(4 * 1024 * 1024 + 17);
    const back = readAll(sock);
    sock.end(data);
    const got = await back;
    assert.equal(got.length, data.length);
    assert.equal(sha(got), sha(data));
    assert.equal(sock.bytesWritten, data.length);
    assert.equal(sock.bytesRead, data.length);
  });

  test('serve(key): an http.Server in this process answers real curl through the hub', async () => {
    const server = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (d: Buffer) => body.push(d));
      req.on('end', () => res.end(`${req.method} ${req.url} ${sha(Buffer.concat(body))}\n`));
    });
    const service = node.serve('web', (s) => server.emit('connection', s));
    try {
      await hub.seesKey('web');
      const get = await run('curl', ['-sS', '--max-time', '10', `http://${HOST}:${ports.web}/hello`]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, `GET /hello ${sha(Buffer.alloc(0))}\n`);
      const body = randomBytes(2 * 1024 * 1024);
      const post = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: HOST, port: ports.web, method: 'POST', path: '/upload', agent: false },
          (res) => void readAll(res).then((b) => resolve(b.toString()), reject),
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(post, `POST /upload ${sha(body)}\n`);
      assert.ok(service.delivered >= 2);
      const st = node.status();
      assert.ok(st.addresses.some((a) => a.key === 'web'));
    } finally {
      service.close();
      server.close();
    }
    // withdrawn: the hub no longer has a destination for the key, and a client is turned away
    await waitFor(async () => !(await hub.status()).addresses.some((a) => a.key === 'web'), {
      what: "the hub to drop 'web'",
    });
    const refused = await run('curl', ['-sS', '--max-time', '10', `http://${HOST}:${ports.web}/`]);
    assert.notEqual(refused.code, 0);
  });

  test('flow control: a reader that does not read holds the sender back; nothing is lost when it reads', async (t) => {
    let server: FlowSocket | undefined;
    const service = node.serve('sink', (s) => {
      server = s;
      s.pause();
    });
    try {
      await hub.seesKey('sink');
      const client = net.connect({ host: HOST, port: ports.sink, allowHalfOpen: true });
      client.on('error', (e) => assert.fail(`client: ${e.message}`));
      await new Promise((r) => client.once('connect', r));
      const chunk = randomBytes(64 * 1024);
      const hash = createHash('sha256');
      let sent = 0;
      let blocked = false;
      const pump = (): void => {
        while (!blocked) {
          hash.update(chunk);
          sent += chunk.length;
          if (!client.write(chunk)) blocked = true;
        }
      };
      client.on('drain', () => {
        blocked = false;
        if (sent < 64 * 1024 * 1024) pump();
      });
      pump();
      await waitFor(() => server, { what: 'the flow to reach the service' });
      const s = server as FlowSocket;
      // the sender runs into the limit: blocked, and nothing more moves between two looks
      let last = -1;
      await waitFor(
        () => {
          const now = sent + s.readableLength;
          const still = blocked && now === last;
          last = now;
          return still;
        },
        { what: 'the sender to be held back', intervalMs: 250, timeoutMs: 20_000 },
      );
      // held in this process: the read buffer (16 KiB mark) plus at most one flow window (≤ 1 MiB)
      assert.ok(s.readableLength <= 16 * 1024 + 1024 * 1024 + 64 * 1024, `buffered ${s.readableLength}`);
      assert.ok(sent < 16 * 1024 * 1024, `the sender was held back (sent ${sent})`);
      t.diagnostic(`held back after ${sent} bytes; ${s.readableLength} buffered in the service's socket`);
      const stopAt = sent;
      client.removeAllListeners('drain');
      client.end();
      const got = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        got.update(d);
        n += d.length;
      });
      s.resume();
      await new Promise((r) => s.once('end', r));
      assert.equal(n, stopAt);
      assert.equal(got.digest('hex'), hash.digest('hex'));
      // the service closes its side too: the client sees a clean end, not a reset
      const closed = new Promise((r) => client.once('close', r));
      client.resume();
      s.end();
      await closed;
    } finally {
      service.close();
    }
  });

  test('a key nobody serves: connect() rejects with NO_CONNECTOR; a bad key is a usage error', async () => {
    await assert.rejects(node.connect('nobody-here'), (e: unknown) =>
      isCaravanError(e, ErrorCodes.NO_CONNECTOR),
    );
    await assert.rejects(node.connect('not a key'), (e: unknown) => isCaravanError(e, ErrorCodes.USAGE));
    assert.equal(node.reachable('nobody-here'), false);
    await assert.rejects(node.waitFor('nobody-here', 200), (e: unknown) =>
      isCaravanError(e, ErrorCodes.NO_CONNECTOR),
    );
  });

  test('the embedded site answers on its admin socket like any router', async () => {
    const st = node.status();
    assert.equal(st.router.site, 'app');
    assert.equal(st.router.mode, 'edge');
    assert.ok(st.links.some((l) => l.state === 'up' && siteOf(l.neighbor) === 'hub'));
  });
});
