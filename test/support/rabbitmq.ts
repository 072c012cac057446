/**
 * A private RabbitMQ broker (Debian's rabbitmq-server) with the AMQP 1.0 plugin, for tests: its own node name,
 * ports (AMQP, distribution and epmd), data and log directories under `dir`, listening on 127.0.0.1 only.
 * `stop()` ends the broker and the epmd it started.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { run, spawnManaged, type ManagedProcess } from './proc.js';
import { waitFor } from './wait.js';

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export interface BrokerPorts {
  port: number;
  dist: number;
  epmd: number;
}

export interface Broker {
  port: number;
  /** the ports to start it again on (same dir: same node) */
  ports: BrokerPorts;
  url: string;
  proc: ManagedProcess;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface BrokerOptions {
  /** the one user (SASL PLAIN); clients without credentials are then refused */
  user?: { name: string; password: string };
}

export async function startRabbitMq(
  dir: string,
  again?: BrokerPorts,
  opts: BrokerOptions = {},
): Promise<Broker> {
  if (!existsSync(RABBITMQ_SERVER))
    throw new Error(`${RABBITMQ_SERVER} is missing: apt-get install rabbitmq-server`);
  await mkdir(dir, { recursive: true });
  const { port, dist, epmd } = again ?? {
    port: await freePort(),
    dist: await freePort(),
    epmd: await freePort(),
  };
  await writeFile(join(dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
  await writeFile(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${port}`,
      ...(opts.user
        ? [
            `default_user = ${opts.user.name}`,
            `default_pass = ${opts.user.password}`,
            'amqp1_0.default_user = none',
          ]
        : // the AMQP 1.0 plugin maps clients without credentials to this user, which may connect from loopback
          ['amqp1_0.default_user = guest']),
      'log.console = true',
      'log.file = false',
      '',
    ].join('\n'),
  );
  const node = `caravan-test-${port}@localhost`;
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    ERL_EPMD_PORT: String(epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
  };
  const proc = spawnManaged(RABBITMQ_SERVER, [], { label: 'rabbitmq', env });
  await waitFor(async () => (await accepts(port)) || proc.exitInfo !== undefined, {
    what: 'RabbitMQ to accept AMQP connections',
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  if (proc.exitInfo !== undefined) throw new Error(`RabbitMQ exited: ${proc.output.slice(-2000)}`);
  return {
    port,
    ports: { port, dist, epmd },
    url: `amqp://127.0.0.1:${port}`,
    proc,
    async stop() {
      await proc.stop(10_000);
      // epmd outlives the node it served; it is ours (own port), so stop it too
      await run('epmd', ['-port', String(epmd), '-kill'], { env, timeoutMs: 10_000 }).catch(() => undefined);
    },
  };
}
