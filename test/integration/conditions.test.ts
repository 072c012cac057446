/**
 * Status conditions of a running router, seen through the CLI (`listener status -o json`), with two real router
 * processes: a listener whose connector is at the other site is Matched; a listener with an invalid spec is
 * Configured False naming the field while the others serve; a listener whose port is taken is Ready False
 * PortInUse; `caravan apply` of a changed spec bumps the generation, the router reports it as observedGeneration
 * and applies the change in place: a TCP connection through the listener stays up; a bad edit of a running
 * listener is reported and leaves it serving with its previous spec.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Condition } from '../../src/api/index.js';
import { cli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { stopAllProcesses, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

interface Row {
  name: string;
  generation?: number;
  status?: { conditions: Condition[] };
}

/** A client connection through a listener that echoes: send a line, read it back. */
class EchoClient {
  private buf = '';
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.buf += d));
  }
  static async open(port: number): Promise<EchoClient> {
    const s = net.connect({ host: HOST, port });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new EchoClient(s);
  }
  async roundTrip(text: string): Promise<void> {
    this.buf = '';
    this.socket.write(text);
    await waitFor(() => this.buf === text, { what: `echo of '${text}'`, timeoutMs: 10_000 });
  }
}

describe('status conditions of a running router', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let westProc: ManagedProcess;
  let echo: net.Server;
  let blocker: net.Server;
  let echoPort: number;
  let takenPort: number;
  const env = (): NodeJS.ProcessEnv => ({ CARAVAN_HOME: root.dir, CARAVAN_SITE: 'west' });

  const listenerStatus = async (name: string): Promise<Row> => {
    const r = await cli(['listener', 'status', name, '-o', 'json'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Row;
  };
  const cond = (row: Row, type: string): Condition | undefined =>
    row.status?.conditions.find((c) => c.type === type);

  before(async () => {
    root = await makeTempRoot('conditions');
    const linkPort = await freePort();
    const sites = join(root.dir, 'sites');
    hub = await TestSite.create(sites, { name: 'hub', linkAccess: { host: HOST, port: linkPort } });
    west = await TestSite.create(sites, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    echo = net.createServer((c) => {
      c.on('error', () => undefined);
      c.pipe(c);
    });
    await new Promise<void>((r) => echo.listen(0, HOST, r));
    await hub.addConnector({ name: 'echo', port: (echo.address() as net.AddressInfo).port });
    // a port some other program holds
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, HOST, r));
    takenPort = (blocker.address() as net.AddressInfo).port;

    echoPort = await freePort();
    const created = await cli(['listener', 'create', 'echo', String(echoPort), '--host', HOST], {
      env: env(),
    });
    assert.equal(created.code, 0, created.stderr);
    await west.addListener({ name: 'taken', port: takenPort, routingKey: 'echo' });
    // an invalid spec written by hand: the router must start anyway and say what is wrong
    await writeFile(
      join(west.dir, 'resources', 'listener-bad.yaml'),
      'apiVersion: caravan.dev/v1alpha1\nkind: Listener\nmetadata: { name: bad }\nspec: { port: 70000 }\n',
    );

    hub.start();
    await hub.ready();
    westProc = west.start();
    await west.ready();
    await west.seesKey('echo');
  });

  after(async () => {
    await stopAllProcesses();
    echo?.close();
    blocker?.close();
    await root?.remove();
  });

  test('a listener whose connector is at another site is Matched and Ready, at generation 1', async () => {
    const row = await waitFor(
      async () => {
        const r = await listenerStatus('echo');
        return cond(r, 'Ready')?.status === 'True' ? r : undefined;
      },
      { what: 'listener echo to be Ready' },
    );
    assert.equal(row.generation, 1);
    assert.equal(cond(row, 'Configured')?.status, 'True');
    assert.equal(cond(row, 'Matched')?.status, 'True');
    assert.equal(cond(row, 'Matched')?.reason, 'ConnectorFound');
    for (const c of row.status?.conditions ?? []) {
      assert.equal(c.observedGeneration, 1, c.type);
      assert.ok(!Number.isNaN(Date.parse(c.lastTransitionTime ?? '')), `${c.type} has a transition time`);
    }
  });

  test('an invalid listener spec: Configured False naming the field; the other listener still works', async () => {
    const row = await listenerStatus('bad');
    const configured = cond(row, 'Configured');
    assert.equal(configured?.status, 'False');
    assert.equal(configured?.reason, 'InvalidSpec');
    assert.match(configured?.message ?? '', /spec\.port/);
    assert.ok(!(configured?.message ?? '').includes('\n'), 'one line');
    assert.equal(cond(row, 'Ready')?.status, 'False');
    const client = await EchoClient.open(echoPort);
    await client.roundTrip('still serving\n');
    client.socket.destroy();
    assert.ok(westProc.running, 'the router runs');
  });

  test('a listener whose port is taken is Ready False with reason PortInUse', async () => {
    const row = await listenerStatus('taken');
    assert.equal(cond(row, 'Configured')?.status, 'True');
    assert.equal(cond(row, 'Ready')?.status, 'False');
    assert.equal(cond(row, 'Ready')?.reason, 'PortInUse');
    const table = await cli(['listener', 'status'], { env: env() });
    assert.match(table.stdout, /taken .*no \(PortInUse\)/);
  });

  test('apply of a changed spec: generation 2 observed, applied in place, the open connection stays up', async () => {
    const client = await EchoClient.open(echoPort);
    await client.roundTrip('before\n');
    const file = join(root.dir, 'echo-allow.yaml');
    await writeFile(
      file,
      `apiVersion: caravan.dev/v1alpha1\nkind: Listener\nmetadata: { name: echo }\n` +
        `spec: { port: ${echoPort}, host: ${HOST}, distribution: closest, allow: [127.0.0.1] }\n`,
    );
    const applied = await cli(['apply', '-f', file], { env: env() });
    assert.equal(applied.code, 0, applied.stderr);
    const row = await waitFor(
      async () => {
        const r = await listenerStatus('echo');
        return cond(r, 'Configured')?.observedGeneration === 2 ? r : undefined;
      },
      { what: 'the router to observe generation 2 of listener echo' },
    );
    assert.equal(row.generation, 2);
    await client.roundTrip('after\n');
    assert.equal(client.socket.destroyed, false);
    await westProc.waitForOutput(/Listener\/echo updated in place \(spec\.allow, spec\.distribution\)/);
    const second = await EchoClient.open(echoPort);
    await second.roundTrip('new connection\n');
    second.socket.destroy();
    client.socket.destroy();
  });

  test('a bad edit of a running listener: Configured False at the new generation, the old spec keeps serving', async () => {
    const client = await EchoClient.open(echoPort);
    await client.roundTrip('before the bad edit\n');
    const file = join(west.dir, 'resources', 'listener-echo.yaml');
    await writeFile(
      file,
      `apiVersion: caravan.dev/v1alpha1\nkind: Listener\nmetadata: { name: echo, generation: 3 }\n` +
        `spec: { port: ${echoPort}, host: ${HOST}, distribution: sideways }\n`,
    );
    const row = await waitFor(
      async () => {
        const r = await listenerStatus('echo');
        return cond(r, 'Configured')?.status === 'False' ? r : undefined;
      },
      { what: 'listener echo to be Configured False' },
    );
    assert.equal(cond(row, 'Configured')?.observedGeneration, 3);
    assert.match(cond(row, 'Configured')?.message ?? '', /spec\.distribution/);
    assert.equal(cond(row, 'Ready')?.reason, 'InvalidSpec');
    await client.roundTrip('after the bad edit\n');
    const second = await EchoClient.open(echoPort);
    await second.roundTrip('a new connection\n');
    second.socket.destroy();
    client.socket.destroy();
  });

  test('a Site field that only a restart applies: Configured False RestartRequired naming it; reverted, True', async () => {
    const siteCondition = async (type: string): Promise<Condition | undefined> =>
      (await west.status()).resources
        .find((r) => r.kind === 'Site' && r.name === 'west')
        ?.status.conditions.find((c) => c.type === type);
    await west.writeResource('Site', 'west', {
      mode: 'interior',
      routing: { helloIntervalMs: 150, deadIntervalMs: 1000 },
    });
    const c = await waitFor(
      async () => {
        const x = await siteCondition('Configured');
        return x?.status === 'False' ? x : undefined;
      },
      { what: 'the Site to be Configured False' },
    );
    assert.equal(c.reason, 'RestartRequired');
    assert.match(c.message ?? '', /spec\.routing changed: applied when the router restarts/);
    assert.equal((await siteCondition('Ready'))?.reason, 'RestartRequired');
    // back to the spec it runs with: nothing is pending any more
    await west.writeResource('Site', 'west', {
      mode: 'interior',
      routing: { helloIntervalMs: 100, deadIntervalMs: 1000 },
    });
    await waitFor(async () => (await siteCondition('Configured'))?.status === 'True' || undefined, {
      what: 'the Site to be Configured True again',
    });
  });
});
