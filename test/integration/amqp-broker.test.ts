/**
 * An amqp Connector to a real broker (Debian's RabbitMQ with its AMQP 1.0 plugin) as the waypoint of an address,
 * with three real routers (west - hub - east) and Qpid Proton clients. Producers at west send while no consumer
 * exists anywhere: the messages are stored in the broker queue at hub (accepted by the broker). A consumer that
 * attaches later at east gets them all, in order, from the broker. While the broker is down, the connector is
 * withdrawn, and it comes back when the broker does. The broker requires a password (SASL PLAIN); a connector
 * with the wrong one is never advertised and the router logs why.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli } from '../support/cli.js';
import { run, spawnManaged, stopAllProcesses } from '../support/proc.js';
import { startRabbitMq, type Broker } from '../support/rabbitmq.js';
import { amqpLine, HOST, PYTHON, SCRIPTS } from '../support/amqp.js';
import { makeTempRoot, type TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const USER = { name: 'caravan', password: 's3cret-pw' };

describe('amqp connector: a RabbitMQ queue as the waypoint of an address', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let broker: Broker;
  const sites: Record<string, TestSite> = {};
  const bus: Record<string, string> = {};
  const queue = `/queue/caravan-orders-${process.pid}`;

  before(async () => {
    root = await makeTempRoot('amqpq');
    broker = await startRabbitMq(join(root.dir, 'rabbitmq'), undefined, { user: USER });
    const line = await amqpLine(root.dir, async (name, s) => {
      if (name !== 'hub') return;
      await writeFile(join(s.dir, 'runtime', 'broker.pass'), `${USER.password}\n`, { mode: 0o600 });
      await writeFile(join(s.dir, 'runtime', 'wrong.pass'), 'not-the-password\n', { mode: 0o600 });
      await s.writeResource('Connector', 'orders', {
        type: 'amqp',
        host: HOST,
        port: broker.port,
        routingKey: 'bus.orders',
        address: queue,
        username: USER.name,
        passwordFile: 'runtime/broker.pass',
      });
      await s.writeResource('Connector', 'wrong', {
        type: 'amqp',
        host: HOST,
        port: broker.port,
        routingKey: 'bus.elsewhere',
        username: USER.name,
        passwordFile: 'runtime/wrong.pass',
      });
    });
    Object.assign(sites, line.sites);
    Object.assign(bus, line.bus);
    await (sites.west as TestSite).seesKey('amqpq:bus.orders', 1, 30_000);
  });

  after(async () => {
    await stopAllProcesses();
    await broker?.stop();
    await root?.remove();
  });

  test('messages sent while nobody receives are stored by the broker and delivered to a later consumer', async () => {
    const sent = await run(PYTHON, [join(SCRIPTS, 'send.py'), bus.west as string, 'bus.orders', '10'], {
      timeoutMs: 60_000,
    });
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(JSON.parse(sent.stdout), { accepted: 10, rejected: 0, released: 0, modified: 0 });

    const consumer = spawnManaged(
      PYTHON,
      [join(SCRIPTS, 'recv.py'), bus.east as string, 'bus.orders', '--count', '10'],
      {
        label: 'recv-east',
      },
    );
    await consumer.exited;
    const line = consumer.output.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, consumer.output);
    assert.deepEqual(
      (JSON.parse(line) as { bodies: string[] }).bodies,
      Array.from({ length: 10 }, (_, i) => `m-${i}`),
    );
    const st = await (sites.hub as TestSite).status();
    const c = st.connectors.find((x) => x.name === 'orders');
    assert.equal(c?.healthy, true);
    assert.equal(c?.stats.toBroker, 10);
    assert.equal(c?.stats.fromBroker, 10);
  });

  test('a wrong password: the connector stays withdrawn and says why', async () => {
    const hubLog = join((sites.hub as TestSite).dir, 'logs', 'router.log');
    await waitFor(
      async () =>
        /cannot connect to the broker; retrying.*connector=wrong.*(auth|sasl|credential|password)/i.test(
          await readFile(hubLog, 'utf8'),
        ),
      {
        what: "the hub to log the broker's refusal",
      },
    );
    const c = (await (sites.hub as TestSite).status()).connectors.find((x) => x.name === 'wrong');
    assert.equal(c?.healthy, false);
    assert.ok(
      !(await (sites.west as TestSite).status()).addresses.some((a) => a.key === 'amqpq:bus.elsewhere'),
    );
  });

  test('the CLI shows the broker connector advertised, and the listeners that reach it', async () => {
    const r = await cli(['connector', 'status', 'orders', '-o', 'json'], {
      env: { CARAVAN_HOME: root.dir, CARAVAN_SITE: 'hub' },
    });
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout) as {
      type: string;
      advertised: boolean;
      target: string;
      listenerSites: string[];
    };
    assert.equal(row.type, 'amqp');
    assert.equal(row.advertised, true);
    assert.equal(row.target, `amqp://${HOST}:${broker.port}${queue}`);
    assert.deepEqual(row.listenerSites, ['east', 'hub', 'west']);
  });

  test('while the broker is down the connector is withdrawn; it reconnects by itself when the broker is back', async () => {
    const west = sites.west as TestSite;
    await broker.stop();
    await waitFor(async () => !(await west.status()).addresses.some((a) => a.key === 'amqpq:bus.orders'), {
      what: 'the broker connector to be withdrawn',
      timeoutMs: 20_000,
    });
    broker = await startRabbitMq(join(root.dir, 'rabbitmq'), broker.ports, { user: USER });
    await west.seesKey('amqpq:bus.orders', 1, 30_000);
    const sent = await run(PYTHON, [join(SCRIPTS, 'send.py'), bus.west as string, 'bus.orders', '2'], {
      timeoutMs: 60_000,
    });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(sent.stdout) as { accepted: number }).accepted, 2);
    const c = (await (sites.hub as TestSite).status()).connectors.find((x) => x.name === 'orders');
    assert.equal(c?.stats.connects, 2);
  });
});
