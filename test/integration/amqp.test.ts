/**
 * AMQP message routing with three real routers in a line (west - hub - east) and real AMQP 1.0 clients (Debian's
 * Qpid Proton for Python, test/support/amqp/*.py). Each site has an amqp listener `bus`. Messages cross two
 * links to the receivers; anycast shares them among receivers at several sites without loss or duplicates;
 * multicast copies each to every receiver; a receiver's rejection reaches the sender; a sender gets credit only
 * once a receiver for its address exists; request/response works through dynamic reply addresses; addresses
 * outside the listener are refused.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { run, spawnManaged, stopAllProcesses } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { createCa, issueCertificate } from '../../src/site/certs/index.js';
import { cli } from '../support/cli.js';
import { amqpLine, HOST, PYTHON, SCRIPTS } from '../support/amqp.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

interface Counts {
  accepted: number;
  rejected: number;
  released: number;
  modified: number;
}

describe('amqp: message routing across three routers with Qpid Proton clients', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  const sites: Record<string, TestSite> = {};
  const bus: Record<string, string> = {};
  let caFile = '';

  const send = async (
    site: string,
    address: string,
    count: number,
    extra: string[] = [],
  ): Promise<Counts> => {
    const r = await run(
      PYTHON,
      [join(SCRIPTS, 'send.py'), bus[site] as string, address, String(count), ...extra],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 0, `send.py: ${r.stderr}`);
    return JSON.parse(r.stdout) as Counts;
  };

  /** starts a receiver and waits until its link is attached and its address has reached `seenAt` */
  const receiver = async (
    site: string,
    address: string,
    args: string[],
    seenAt: TestSite[],
  ): Promise<ManagedProcess> => {
    const p = spawnManaged(PYTHON, [join(SCRIPTS, 'recv.py'), bus[site] as string, address, ...args], {
      label: `recv-${site}`,
    });
    await p.waitForOutput(/ready/);
    for (const s of seenAt) await s.seesKey(`amqp:${address}`);
    return p;
  };

  const bodiesOf = async (p: ManagedProcess): Promise<string[]> => {
    await p.exited;
    const line = p.output.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `receiver printed no result: ${p.output}`);
    const r = JSON.parse(line) as { bodies: string[]; error?: string };
    assert.equal(r.error, undefined, p.output);
    return r.bodies;
  };

  before(async () => {
    root = await makeTempRoot('amqp');
    const line = await amqpLine(root.dir, async (name, s, urls) => {
      if (name !== 'west') return;
      // the same address space over TLS (amqps)
      const ca = await createCa({ commonName: 'amqp test CA' });
      const leaf = await issueCertificate(ca, { commonName: 'localhost', usage: 'server', ips: [HOST] });
      caFile = join(root.dir, 'amqp-ca.crt');
      await writeFile(caFile, ca.certPem);
      await writeFile(join(root.dir, 'amqp.crt'), leaf.certPem);
      await writeFile(join(root.dir, 'amqp.key'), leaf.keyPem);
      const tlsPort = await freePort();
      urls['west-tls'] = `amqps://${HOST}:${tlsPort}`;
      await s.writeResource('Listener', 'bus-tls', {
        type: 'amqp',
        host: HOST,
        port: tlsPort,
        routingKey: 'bus',
        tls: { cert: join(root.dir, 'amqp.crt'), key: join(root.dir, 'amqp.key') },
      });
      // clients must log in (SASL PLAIN) as alice
      await writeFile(join(root.dir, 'alice.pass'), 'alice-pw\n', { mode: 0o600 });
      const authPort = await freePort();
      urls['west-auth'] = `amqp://${HOST}:${authPort}`;
      await s.writeResource('Listener', 'bus-auth', {
        type: 'amqp',
        host: HOST,
        port: authPort,
        routingKey: 'bus',
        users: [{ name: 'alice', passwordFile: join(root.dir, 'alice.pass') }],
      });
      // and once more, admitting only clients with a certificate from the same CA
      const client = await issueCertificate(ca, { commonName: 'an amqp client', usage: 'client' });
      await writeFile(join(root.dir, 'client.crt'), client.certPem);
      await writeFile(join(root.dir, 'client.key'), client.keyPem);
      const mtlsPort = await freePort();
      urls['west-mtls'] = `amqps://${HOST}:${mtlsPort}`;
      await s.writeResource('Listener', 'bus-mtls', {
        type: 'amqp',
        host: HOST,
        port: mtlsPort,
        routingKey: 'bus',
        tls: { cert: join(root.dir, 'amqp.crt'), key: join(root.dir, 'amqp.key'), clientCa: caFile },
      });
    });
    Object.assign(sites, line.sites);
    Object.assign(bus, line.bus);
  });

  after(async () => {
    await stopAllProcesses();
    await root?.remove();
  });

  test('anycast over two links: every message reaches the receiver once, in order, and is accepted', async () => {
    const r = await receiver('east', 'bus.orders', ['--count', '50'], [sites.west as TestSite]);
    assert.deepEqual(await send('west', 'bus.orders', 50), {
      accepted: 50,
      rejected: 0,
      released: 0,
      modified: 0,
    });
    assert.deepEqual(
      await bodiesOf(r),
      Array.from({ length: 50 }, (_, i) => `m-${i}`),
    );
  });

  test('anycast with receivers at two sites: a fast sender is shared between them, none lost, none twice', async () => {
    const west = sites.west as TestSite;
    // balanced: the nearer receiver (hub) while it keeps up, the farther one too once messages queue up there
    const a = await receiver('east', 'bus.work', ['--idle', '3', '--credit', '50'], [west]);
    const b = await receiver('hub', 'bus.work', ['--idle', '3', '--credit', '50'], []);
    await west.seesKey('amqp:bus.work', 2);
    assert.equal((await send('west', 'bus.work', 400, ['--pipeline'])).accepted, 400);
    const got = [...(await bodiesOf(a)), ...(await bodiesOf(b))];
    assert.equal(got.length, 400);
    assert.equal(new Set(got).size, 400);
    assert.ok(
      (await bodiesOf(a)).length > 0 && (await bodiesOf(b)).length > 0,
      'both receivers got messages',
    );
  });

  test('multicast (a prefix of the sending listener): every receiver gets every message', async () => {
    const west = sites.west as TestSite;
    const a = await receiver('east', 'bus.events.news', ['--count', '20'], [west]);
    const b = await receiver('hub', 'bus.events.news', ['--count', '20'], []);
    await west.seesKey('amqp:bus.events.news', 2);
    assert.equal((await send('west', 'bus.events.news', 20)).accepted, 20);
    const expected = Array.from({ length: 20 }, (_, i) => `m-${i}`);
    assert.deepEqual((await bodiesOf(a)).sort(), [...expected].sort());
    assert.deepEqual((await bodiesOf(b)).sort(), [...expected].sort());
  });

  test('sender and receiver at the same site: delivered locally', async () => {
    const r = await receiver('west', 'bus.local', ['--count', '5'], [sites.west as TestSite]);
    assert.equal((await send('west', 'bus.local', 5)).accepted, 5);
    assert.deepEqual(await bodiesOf(r), ['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
  });

  test("a receiver's rejection is the sender's outcome", async () => {
    const r = await receiver(
      'east',
      'bus.checks',
      ['--count', '10', '--reject-every', '2'],
      [sites.west as TestSite],
    );
    assert.deepEqual(await send('west', 'bus.checks', 10), {
      accepted: 5,
      rejected: 5,
      released: 0,
      modified: 0,
    });
    assert.equal((await bodiesOf(r)).length, 10);
  });

  test('a sender gets credit only once a receiver for its address exists somewhere', async () => {
    const west = sites.west as TestSite;
    const busStats = async (): Promise<Record<string, number>> =>
      (await west.status()).listeners.find((l) => l.name === 'bus')?.stats ?? {};
    const before = await busStats();
    const sender = spawnManaged(
      PYTHON,
      [join(SCRIPTS, 'send.py'), bus.west as string, 'bus.later', '5', '--timeout', '30'],
      { label: 'send-later' },
    );
    // the listener decides on credit when the sender attaches: once it counted the attach, it has decided
    await waitFor(async () => ((await busStats())['senders'] ?? 0) > (before['senders'] ?? 0), {
      what: 'the sender attached at west',
    });
    assert.equal(
      (await busStats())['messagesIn'],
      before['messagesIn'],
      'no message taken without a receiver',
    );
    assert.equal(sender.output, '', 'nothing sent while nobody receives');
    const r = await receiver('east', 'bus.later', ['--count', '5'], []);
    await sender.exited;
    assert.match(sender.output, /"accepted": 5/);
    assert.equal((await bodiesOf(r)).length, 5);
  });

  test('the anonymous relay: a link without target, each message addressed by its "to"', async () => {
    const r = await receiver('east', 'bus.relay', ['--count', '3'], [sites.west as TestSite]);
    assert.equal((await send('west', 'bus.relay', 3, ['--anonymous'])).accepted, 3);
    assert.equal((await bodiesOf(r)).length, 3);
    // an address outside the listener is rejected per message
    const bad = await send('west', 'elsewhere', 1, ['--anonymous']);
    assert.equal(bad.rejected, 1);
  });

  test('request/response: replies come back to a dynamic address the client router made', async () => {
    const server = spawnManaged(
      PYTHON,
      [join(SCRIPTS, 'rpc_server.py'), bus.east as string, 'bus.rpc', '4'],
      {
        label: 'rpc-server',
      },
    );
    await server.waitForOutput(/ready/);
    await (sites.west as TestSite).seesKey('amqp:bus.rpc');
    const r = await run(PYTHON, [join(SCRIPTS, 'rpc_client.py'), bus.west as string, 'bus.rpc', '4'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { replyTo: string; answers: Array<[number, string]> };
    assert.match(out.replyTo, /^bus\/tmp\/west-[a-z2-7]{26}\/\d+\.[0-9a-f]{12}$/);
    assert.deepEqual(out.answers, [
      [0, 'REQUEST-0'],
      [1, 'REQUEST-1'],
      [2, 'REQUEST-2'],
      [3, 'REQUEST-3'],
    ]);
    await server.waitForOutput(/done/);
  });

  test('amqps: a client that trusts the listener CA sends over TLS; one that does not is refused', async () => {
    const r = await receiver('east', 'bus.secure', ['--count', '3'], [sites.west as TestSite]);
    assert.equal((await send('west-tls', 'bus.secure', 3, ['--ca', caFile])).accepted, 3);
    assert.equal((await bodiesOf(r)).length, 3);
    const other = await createCa({ commonName: 'another CA' });
    const otherFile = join(root.dir, 'other-ca.crt');
    await writeFile(otherFile, other.certPem);
    const refused = await run(PYTHON, [
      join(SCRIPTS, 'send.py'),
      bus['west-tls'] as string,
      'bus.secure',
      '1',
      '--ca',
      otherFile,
      '--timeout',
      '10',
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /certificate|SSL|TLS/i);
  });

  test('amqps with clientCa: a client with a certificate from that CA sends; one without is refused', async () => {
    const r = await receiver('east', 'bus.mtls', ['--count', '2'], [sites.west as TestSite]);
    const withCert = [
      '--ca',
      caFile,
      '--cert',
      join(root.dir, 'client.crt'),
      '--key',
      join(root.dir, 'client.key'),
    ];
    assert.equal((await send('west-mtls', 'bus.mtls', 2, withCert)).accepted, 2);
    assert.equal((await bodiesOf(r)).length, 2);
    const without = await run(PYTHON, [
      join(SCRIPTS, 'send.py'),
      bus['west-mtls'] as string,
      'bus.mtls',
      '1',
      '--ca',
      caFile,
      '--timeout',
      '10',
    ]);
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /certificate|SSL|TLS|handshake|closed/i);
  });

  test('users: the right password logs in; a wrong one or none is refused, and the router logs who', async () => {
    const r = await receiver('east', 'bus.auth', ['--count', '1'], [sites.west as TestSite]);
    const ok = await send('west-auth', 'bus.auth', 1, ['--user', 'alice', '--password', 'alice-pw']);
    assert.equal(ok.accepted, 1);
    assert.deepEqual(await bodiesOf(r), ['m-0']);
    for (const creds of [
      ['--user', 'alice', '--password', 'wrong'],
      ['--user', 'mallory', '--password', 'x'],
      [],
    ]) {
      const res = await run(PYTHON, [
        join(SCRIPTS, 'send.py'),
        bus['west-auth'] as string,
        'bus.auth',
        '1',
        '--timeout',
        '10',
        ...creds,
      ]);
      assert.notEqual(res.code, 0, `refused: ${creds.join(' ')}`);
      assert.match(res.stderr, /auth|SASL|mechanism/i);
    }
    const log = await readFile(join((sites.west as TestSite).dir, 'logs', 'router.log'), 'utf8');
    assert.match(log, /AMQP login refused.*user=mallory/);
  });

  test('a receiver that leaves without settling: the sender gets the message back as released', async () => {
    const r = await receiver('east', 'bus.flaky', ['--hold', '1'], [sites.west as TestSite]);
    assert.deepEqual(await send('west', 'bus.flaky', 1), {
      accepted: 0,
      rejected: 0,
      released: 1,
      modified: 0,
    });
    await r.exited;
    assert.match(r.output, /"held": \["m-0"\]/);
  });

  test('garbage on the AMQP port closes that connection only; the router and other clients carry on', async () => {
    const port = Number(new URL(bus.west as string).port);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: HOST, port }, () => {
        s.write(Buffer.concat([Buffer.from('AMQP\x09\x01\x00\x00'), Buffer.alloc(64, 0xff)]));
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
      s.resume();
      setTimeout(() => resolve(false), 10_000).unref();
    });
    assert.ok(closed, 'the router closed the connection');
    const r = await receiver('east', 'bus.after', ['--count', '1'], [sites.west as TestSite]);
    assert.equal((await send('west', 'bus.after', 1)).accepted, 1);
    assert.deepEqual(await bodiesOf(r), ['m-0']);
  });

  test("an address outside the listener's routing key is refused at attach", async () => {
    const r = await run(PYTHON, [
      join(SCRIPTS, 'send.py'),
      bus.west as string,
      'other.queue',
      '1',
      '--timeout',
      '10',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unauthorized-access|outside this listener/);
  });

  test('listener status counts messages and outcomes', async () => {
    const st = await (sites.west as TestSite).status();
    const l = st.listeners.find((x) => x.name === 'bus');
    assert.ok(l);
    assert.equal(l.type, 'amqp');
    assert.ok((l.stats.messagesIn ?? 0) >= 188, JSON.stringify(l.stats));
    assert.ok((l.stats.rejected ?? 0) >= 6, JSON.stringify(l.stats));
    const east = (await (sites.east as TestSite).status()).listeners.find((x) => x.name === 'bus');
    assert.ok((east?.stats.messagesOut ?? 0) >= 50, JSON.stringify(east?.stats));
    const metrics = await (sites.west as TestSite).admin().metrics();
    assert.match(metrics, /caravan_amqp_messages_total\{listener="bus",outcome="accepted"\} \d+/);
    assert.match(metrics, /caravan_amqp_messages_total\{listener="bus",outcome="rejected"\} [1-9]/);
    // each message is a flow under the routing key of its address
    assert.match(metrics, /caravan_flows_opened_total\{routing_key="amqp:bus.orders",listener="bus"\} 50/);
  });

  test('the CLI shows an amqp listener matched, with the sites of its receivers', async () => {
    const r = await receiver('east', 'bus.status', ['--count', '1'], [sites.west as TestSite]);
    const env = { CARAVAN_HOME: root.dir, CARAVAN_SITE: 'west' };
    const st = await cli(['listener', 'status', 'bus', '-o', 'json'], { env });
    assert.equal(st.code, 0, st.stderr);
    const row = JSON.parse(st.stdout) as {
      matched: boolean;
      type: string;
      destinations: Array<{ site: string }>;
    };
    assert.equal(row.type, 'amqp');
    assert.equal(row.matched, true);
    assert.deepEqual(
      row.destinations.map((d) => d.site),
      ['east'],
    );
    // the network model (console, `network status`): the address, its receivers' site and the listeners over it
    const model = await (sites.west as TestSite).admin().network();
    const svc = model.services.find((x) => x.routingKey === 'amqp:bus.status');
    assert.ok(svc, JSON.stringify(model.services.map((x) => x.routingKey)));
    assert.equal(svc.protocol, 'amqp');
    assert.equal(svc.matched, true);
    assert.deepEqual(
      svc.connectors.map((c) => siteOf(c.site)),
      ['east'],
    );
    assert.deepEqual(
      svc.listeners.map((l) => siteOf(l.site)),
      ['east', 'hub', 'west'],
    );
    const list = await cli(['listener', 'list'], { env });
    assert.match(list.stdout, /bus\s+amqp\s+bus\s+127\.0\.0\.1:\d+\s+yes\s+east/);
    assert.equal((await send('west', 'bus.status', 1)).accepted, 1);
    assert.deepEqual(await bodiesOf(r), ['m-0']);
  });
});
