/**
 * A target that resets its connection while the connector's router still has its last bytes unread: Node's
 * libuv (1.46 in Node 20) reads that reset as a clean end-of-stream (a short read with POLLHUP is taken for EOF).
 * The tcp pipe checks every end with a zero-length write (src/adapters/tcp/pipe.ts, checkedEnd), so the client
 * reads a reset, never a clean end that would make a cut-short transfer look complete. Found by the chaos soak
 * (docs/design/security.md, "Soak"): before the check, `target-restart` cut streams silently.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stopAllProcesses } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

/** 'end' for a clean FIN, else the error code; an 'end' is checked with a zero-length write (see above). */
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

describe("a target's reset behind unread bytes reaches the client as a reset", () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let server: net.Server;
  const targets: net.Socket[] = [];
  let listenPort: number;

  before(async () => {
    root = await makeTempRoot('hidden-reset');
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      targets.push(s);
    });
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    const serverPort = (server.address() as net.AddressInfo).port;
    const linkPort = await freePort();
    listenPort = await freePort();
    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: HOST, port: linkPort } });
    await hub.addConnector({ name: 'svc', port: serverPort });
    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    await west.addListener({ name: 'svc', port: listenPort });
    hub.start();
    west.start();
    await hub.ready();
    await west.ready();
    await west.seesKey('svc');
  });

  after(async () => {
    await stopAllProcesses();
    server?.close();
    await root?.remove();
  });

  test(
    'the target writes more than the path holds, then resets; the client reads slowly',
    { timeout: 60_000 },
    async () => {
      for (let round = 0; round < 3; round++) {
        const before = targets.length;
        const client = net.connect({ host: HOST, port: listenPort, allowHalfOpen: true });
        const clientEnd = ending(client);
        client.pause();
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
        const target = await waitFor(() => targets[before], { what: 'the target to get the connection' });
        // 8 MiB: more than the flow's window and the sockets' buffers on the way hold, so the connector's router
        // stops reading the target and the target's last bytes wait unread in the router's receive buffer
        const chunk = Buffer.alloc(64 * 1024, round);
        for (let i = 0; i < 128; i++) target.write(chunk);
        await waitFor(() => target.writableLength < 64 * 1024 * 100, {
          what: 'the router to take some bytes',
        });
        target.resetAndDestroy();
        client.resume();
        assert.equal(
          await clientEnd,
          'ECONNRESET',
          `round ${round}: the client reads a reset, not a clean end`,
        );
      }
    },
  );
});
