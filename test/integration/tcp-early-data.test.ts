/**
 * Early data (docs/adr/0004-early-data.md) with real router processes on 127.0.0.1 linked over mutual TLS: the
 * client's first bytes travel with the flow setup, byte-exact in every case (more than the early-data limit,
 * data and FIN before the flow is established, server speaks first), replayed to another site when the first
 * target refuses, and one link round trip is saved per connection. The link passes through a delaying TCP proxy
 * (a small WAN emulator in this test: each chunk is forwarded `DELAY_MS` later) so that round trips are long
 * enough to count.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const DELAY_MS = 60;

/** Forwards each chunk both ways `delayMs` later, keeping order: one-way latency for the link through it. */
function delayingProxy(
  targetPort: number,
  delayMs: number,
): Promise<{ server: net.Server; port: number; cut: () => void }> {
  const open = new Set<net.Socket>();
  return new Promise((resolve) => {
    // noDelay: Nagle plus delayed ACKs would add 40 ms to small writes and blur the round trips being counted
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (a) => {
      const b = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
      for (const x of [a, b]) {
        open.add(x);
        x.on('close', () => open.delete(x));
      }
      const relay = (from: net.Socket, to: net.Socket): void => {
        from.on('data', (d) => setTimeout(() => to.destroyed || to.write(d), delayMs));
        from.on('end', () => setTimeout(() => to.destroyed || to.end(), delayMs));
        from.on('error', () => to.destroy());
        from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      };
      relay(a, b);
      relay(b, a);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        port: (server.address() as net.AddressInfo).port,
        // the link breaks: every connection through the proxy is dropped at once, bytes in flight are lost
        cut: () => {
          for (const x of open) x.destroy();
        },
      }),
    );
  });
}

/** Hashes what it receives until FIN and answers with the hash; optionally greets first. */
function hashingServer(greeting?: string): Promise<{ server: net.Server; port: number; received: number[] }> {
  const received: number[] = [];
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      if (greeting) s.write(greeting);
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d) => {
        n += d.length;
        h.update(d);
      });
      s.on('end', () => {
        received.push(n);
        s.end(h.digest());
      });
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port, received }),
    );
  });
}

/** Answers every chunk it receives with `pong` (request/response without waiting for FIN). */
function pongServer(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', () => s.write('pong'));
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}

/** Connect, write `payload` and FIN at once (before anything could be established), read everything. */
function sendAtOnce(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    c.end(payload);
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks)));
    c.on('error', reject);
  });
}

/** Time from connect to the first byte of the answer to a request sent at once. */
function firstByteMs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    c.write('ping');
    c.once('data', () => {
      resolve(performance.now() - t0);
      c.destroy();
    });
    c.on('error', reject);
  });
}

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

describe('early data', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let east: TestSite;
  let west: TestSite;
  let westProc: ManagedProcess;
  let proxy: Awaited<ReturnType<typeof delayingProxy>>;
  let echo: Awaited<ReturnType<typeof hashingServer>>;
  let greeter: Awaited<ReturnType<typeof hashingServer>>;
  let retryHub: Awaited<ReturnType<typeof hashingServer>>;
  let retryEast: Awaited<ReturnType<typeof hashingServer>>;
  let pong: Awaited<ReturnType<typeof pongServer>>;
  const port = { early: 0, greet: 0, retry: 0, pongEarly: 0, pongPlain: 0 };

  before(async () => {
    root = await makeTempRoot('early');
    echo = await hashingServer();
    greeter = await hashingServer('hello from the server\n');
    retryHub = await hashingServer();
    retryEast = await hashingServer();
    pong = await pongServer();
    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: '127.0.0.1', port: 0 } });
    await hub.addConnector({ name: 'echo', port: echo.port });
    await hub.addConnector({ name: 'greet', port: greeter.port });
    await hub.addConnector({ name: 'retry', port: retryHub.port });
    await hub.addConnector({ name: 'pong', port: pong.port });
    hub.start();
    const linkPort = (await hub.ready()).router.linkAccess?.port;
    assert.ok(linkPort, 'hub reports its link access port');
    proxy = await delayingProxy(linkPort, DELAY_MS);

    east = await TestSite.create(root.dir, { name: 'east' });
    await east.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    await east.addConnector({ name: 'retry', port: retryEast.port });
    east.start();

    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: proxy.port }] });
    for (const k of Object.keys(port) as Array<keyof typeof port>) port[k] = await freePort();
    await west.addListener({ name: 'early', routingKey: 'echo', port: port.early, earlyData: true });
    await west.addListener({ name: 'pong-early', routingKey: 'pong', port: port.pongEarly, earlyData: true });
    await west.addListener({ name: 'pong-plain', routingKey: 'pong', port: port.pongPlain });
    await west.addListener({ name: 'greet', port: port.greet, earlyData: true });
    await west.addListener({
      name: 'retry',
      port: port.retry,
      earlyData: true,
      distribution: 'closest',
    });
    westProc = west.start();
    await west.ready();
    await west.seesKey('echo');
    await west.seesKey('greet');
    await west.seesKey('pong');
    await west.seesKey('retry', 2);
  });

  after(async () => {
    await stopAllProcesses();
    for (const s of [proxy, echo, greeter, retryHub, retryEast, pong]) s?.server.close();
    await root?.remove();
  });

  test('bytes cross byte-exact: small with FIN before setup, and more than the early-data limit', async () => {
    for (const size of [10, 64 * 1024 - 1, 64 * 1024, 3 * 1024 * 1024]) {
      const payload = randomBytes(size);
      const answer = await sendAtOnce(port.early, payload);
      assert.deepEqual(answer, sha(payload), `${size} bytes`);
    }
    const payloads = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 7919));
    const answers = await Promise.all(payloads.map((p) => sendAtOnce(port.early, p)));
    answers.forEach((a, i) => assert.deepEqual(a, sha(payloads[i]!)));
  });

  test('a server that speaks first still works', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ port: port.greet, host: '127.0.0.1', allowHalfOpen: true });
      let text = '';
      let answered = false;
      c.on('data', (d) => {
        text += d.toString('latin1');
        if (!answered && text.includes('\n')) {
          answered = true;
          c.end('thanks');
        }
      });
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    assert.ok(got.startsWith('hello from the server\n'), got);
    assert.deepEqual(
      Buffer.from(got.slice('hello from the server\n'.length), 'latin1'),
      sha(Buffer.from('thanks')),
    );
  });

  test('one link round trip less to the first byte of the answer', async (t) => {
    // warm both listeners, then alternate; medians of 5 each
    await firstByteMs(port.pongEarly);
    await firstByteMs(port.pongPlain);
    const early: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) {
      early.push(await firstByteMs(port.pongEarly));
      plain.push(await firstByteMs(port.pongPlain));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[2]!;
    const rtt = 2 * DELAY_MS;
    // plain: OPEN→ACCEPT, then DATA→answer = 2 round trips; early: 1
    assert.ok(median(plain) >= 2 * rtt, `plain ${median(plain)} ms, expected ≥ ${2 * rtt}`);
    assert.ok(median(early) >= rtt, `early ${median(early)} ms, expected ≥ ${rtt}`);
    t.diagnostic(
      `first byte: early ${median(early).toFixed(0)} ms, plain ${median(plain).toFixed(0)} ms, RTT ${rtt} ms`,
    );
    assert.ok(
      median(early) < median(plain) - rtt / 2,
      `early ${median(early).toFixed(0)} ms against plain ${median(plain).toFixed(0)} ms (link RTT ${rtt} ms)`,
    );
  });

  test('a refused target: the early bytes are replayed to the next site, exactly once there', async () => {
    // hub (closest) advertises 'retry'; stop its server so the hub's connector gets ECONNREFUSED on the next flow
    await new Promise<void>((r) => retryHub.server.close(() => r()));
    const payload = randomBytes(20_000);
    const answer = await sendAtOnce(port.retry, payload);
    assert.deepEqual(answer, sha(payload), 'the client got the answer of the server at east');
    assert.deepEqual(retryEast.received, [payload.length], 'east received the bytes once');
    assert.deepEqual(retryHub.received, [], 'nothing was delivered at the hub');
    await westProc.waitForOutput(/flow attempt failed .*key=retry .*code=CARAVAN_TARGET_REFUSED/);
    await waitFor(
      async () =>
        ((await west.status()).addresses.find((a) => a.key === 'retry')?.destinations.length ?? 0) === 1,
      {
        what: 'the hub to withdraw its refused connector',
      },
    );
  });

  test('the path breaks after early data went out: the flow fails instead of replaying the bytes', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const c = net.connect({ port: port.pongEarly, host: '127.0.0.1' });
      c.on('connect', () => {
        c.write('ping');
        // OPEN and DATA are now in the link's delay line: break the link before ACCEPT can come back
        setTimeout(() => proxy.cut(), DELAY_MS / 2);
      });
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      c.on('close', () => resolve(got ? `data ${got}` : 'closed'));
    });
    assert.ok(!outcome.startsWith('data'), `the client got no answer (${outcome})`);
    await westProc.waitForOutput(/not retried: early data was sent and may have reached the target/);
  });
});
