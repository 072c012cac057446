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

/** How a socket ended: 'end' (a clean FIN) or the error code it got. */
function ending(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    sock.on('end', () => resolve('end'));
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
