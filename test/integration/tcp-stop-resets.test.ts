/**
 * A router that stops (SIGTERM) while TCP flows are open resets them at both ends: the client of its listener
 * and the target of its connector read a reset, never a clean end-of-stream that would make a cut-short
 * transfer look complete. Found by the chaos soak (docs/design/security.md, "Soak").
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stopAllProcesses, type ManagedProcess } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

/**
 * How a socket ended: 'end' (a clean FIN) or the error code it got. Node's libuv reports a reset that arrives
 * while unread bytes wait in the receive buffer as a clean end (src/adapters/tcp/pipe.ts, checkedEnd), so an
 * 'end' is checked with a zero-length write, which fails on a connection that was reset. (The sockets here are
 * half-open, so the write is allowed after a real FIN.)
 */
function ending(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    sock.on('end', () => {
      if (sock.destroyed || !sock.writable) return resolve('end');
      sock.write(Buffer.alloc(0), (err) =>
        resolve(err ? ((err as NodeJS.ErrnoException).code ?? 'error') : 'end'),
      );
    });
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('a stopping router resets its open TCP flows', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let server: net.Server;
  const targets: net.Socket[] = [];
  let serverPort: number;
  let listenPort: number;
  let linkPort: number;

  before(async () => {
    root = await makeTempRoot('stop-reset');
    // a target that sends a little and keeps the connection open: a transfer still in progress
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      targets.push(s);
      s.write('hello');
    });
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    serverPort = (server.address() as net.AddressInfo).port;
    linkPort = await freePort();
    listenPort = await freePort();
    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: HOST, port: linkPort } });
    await hub.addConnector({ name: 'svc', port: serverPort });
    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    await west.addListener({ name: 'svc', port: listenPort });
  });

  after(async () => {
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  /** Starts both routers, opens a flow through them and waits until bytes moved both ways. */
  async function openFlow(): Promise<{ client: net.Socket; target: net.Socket; procs: ManagedProcess[] }> {
    const procs = [hub.start(), west.start()];
    await hub.ready();
    await west.ready();
    await west.seesKey('svc');
    const before = targets.length;
    const client = net.connect({ host: HOST, port: listenPort, allowHalfOpen: true });
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('data', () => resolve()));
    const target = await waitFor(() => targets[before], { what: 'the target to get the connection' });
    target.on('error', () => undefined);
    client.write('ping');
    await new Promise<void>((resolve) => target.once('data', () => resolve()));
    return { client, target, procs };
  }

  test('stopping the listener side resets the client', { timeout: 60_000 }, async () => {
    const { client, target, procs } = await openFlow();
    const clientEnd = ending(client);
    const targetEnd = ending(target);
    const [hubProc, westProc] = procs as [ManagedProcess, ManagedProcess];
    westProc.kill('SIGTERM');
    assert.equal(await clientEnd, 'ECONNRESET', 'the client reads a reset, not a clean end');
    assert.equal(await targetEnd, 'ECONNRESET', 'the target reads a reset, not a clean end');
    await westProc.exited;
    await hubProc.stop();
  });

  test('stopping the connector side resets the target and the client', { timeout: 60_000 }, async () => {
    const { client, target, procs } = await openFlow();
    const clientEnd = ending(client);
    const targetEnd = ending(target);
    const [hubProc, westProc] = procs as [ManagedProcess, ManagedProcess];
    hubProc.kill('SIGTERM');
    assert.equal(await targetEnd, 'ECONNRESET', 'the target reads a reset, not a clean end');
    assert.equal(await clientEnd, 'ECONNRESET', 'the client reads a reset, not a clean end');
    await hubProc.exited;
    await westProc.stop();
  });
});

describe('a stopping transit router resets the flows through it', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let mid: TestSite;
  let lsn: TestSite;
  let dst: TestSite;
  let server: net.Server;
  const targets: net.Socket[] = [];
  let listenPort: number;

  before(async () => {
    root = await makeTempRoot('stop-reset-transit');
    // a target that streams to its client without end and reads what it gets: transfers in both directions
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      targets.push(s);
      s.on('error', () => undefined);
      const chunk = Buffer.alloc(16 * 1024, 7);
      const more = (): void => {
        while (!s.destroyed && s.write(chunk));
      };
      s.on('drain', more);
      more();
    });
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    const serverPort = (server.address() as net.AddressInfo).port;
    const linkPort = await freePort();
    listenPort = await freePort();
    mid = await TestSite.create(root.dir, { name: 'mid', linkAccess: { host: HOST, port: linkPort } });
    lsn = await TestSite.create(root.dir, { name: 'lsn' });
    dst = await TestSite.create(root.dir, { name: 'dst' });
    await lsn.linkTo(mid, { endpoints: [{ host: HOST, port: linkPort }] });
    await dst.linkTo(mid, { endpoints: [{ host: HOST, port: linkPort }] });
    await dst.addConnector({ name: 'svc', port: serverPort });
    await lsn.addListener({ name: 'svc', port: listenPort });
  });

  after(async () => {
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  test(
    'SIGTERM of the transit router: client and target read resets, never a clean end',
    { timeout: 90_000 },
    async () => {
      const procs = [mid.start(), lsn.start(), dst.start()];
      await Promise.all([mid.ready(), lsn.ready(), dst.ready()]);
      await lsn.seesKey('svc');
      // several flows with bytes moving both ways through mid, each client sending without end
      const flows: Array<{ client: net.Socket; clientEnd: Promise<string> }> = [];
      for (let i = 0; i < 6; i++) {
        const client = net.connect({ host: HOST, port: listenPort, allowHalfOpen: true });
        const clientEnd = ending(client);
        const chunk = Buffer.alloc(16 * 1024, 3);
        const more = (): void => {
          while (!client.destroyed && client.write(chunk));
        };
        client.on('connect', more);
        client.on('drain', more);
        client.resume();
        await new Promise<void>((resolve) => client.once('data', () => resolve()));
        flows.push({ client, clientEnd });
      }
      await waitFor(() => targets.length >= 6, { what: 'the target to get all flows' });
      const targetEnds = targets.map((t) => ending(t));
      await Promise.all(targets.map((t) => new Promise<void>((resolve) => t.once('data', () => resolve()))));
      const [midProc] = procs as [ManagedProcess];
      midProc.kill('SIGTERM');
      const clientEnds = await Promise.all(flows.map((f) => f.clientEnd));
      const serverEnds = await Promise.all(targetEnds);
      assert.deepEqual(
        clientEnds,
        clientEnds.map(() => 'ECONNRESET'),
        'every client reads a reset',
      );
      assert.deepEqual(
        serverEnds,
        serverEnds.map(() => 'ECONNRESET'),
        'every target reads a reset',
      );
      await midProc.exited;
    },
  );
});
