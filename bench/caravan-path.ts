// Caravan paths: a chain of real router processes built from TestSite directories. The last router accepts a
// link and has the connectors; the first one dials and has the listeners; a 2-hop chain has a transit router in
// between that accepts links from both.
import type { ManagedProcess } from '../test/support/proc.js';
import { spawnManaged } from '../test/support/proc.js';
import { TestSite } from '../test/support/sites.js';
import { waitFor } from '../test/support/wait.js';
import { ROUTER_NODE_FLAGS } from '../src/site/node-flags.js';
import { routerMain } from './env.js';
import type { BenchPath, PathName } from './paths.js';
import { freePort, HOST } from './ports.js';
import type { Servers } from './servers.js';

export interface CaravanPathOptions {
  /** Extra node flags for every router (e.g. --cpu-prof), after ROUTER_NODE_FLAGS (so they can override them). */
  nodeArgs?: string[];
  logLevel?: string;
  helloIntervalMs?: number;
  /** the listeners send the client's first bytes with the flow setup (docs/adr/0004-early-data.md) */
  earlyData?: boolean;
  /** The router entry point to run (default: this build's); `--compare` passes another build's. */
  routerMain?: string;
  /** The node flags of that build (default: this build's ROUTER_NODE_FLAGS). */
  routerFlags?: readonly string[];
  /** Prefix of the site names (default `h<hops>`); two paths of the same hop count need different ones. */
  prefix?: string;
}

export interface CaravanPath extends BenchPath {
  sites: TestSite[];
  /** The routers, listener router first. */
  routers: ManagedProcess[];
}

const KEYS = { redis: 'bench-redis', iperf: 'bench-iperf', udp: 'bench-iperf-udp' } as const;

function startRouter(site: TestSite, logDir: string, opts: CaravanPathOptions): ManagedProcess {
  return spawnManaged(
    process.execPath,
    [
      ...(opts.routerFlags ?? ROUTER_NODE_FLAGS),
      ...(opts.nodeArgs ?? []),
      opts.routerMain ?? routerMain,
      '--dir',
      site.dir,
      '--log-level',
      opts.logLevel ?? 'warn',
    ],
    { label: `router-${site.name}`, logDir },
  );
}

/** The router answers on its admin socket before its link acceptor is up: wait for the port to be reported. */
async function linkPort(site: TestSite): Promise<number> {
  await site.ready();
  return waitFor(async () => (await site.status().catch(() => undefined))?.router.linkAccess?.port, {
    timeoutMs: 15_000,
    what: `router ${site.name} to report its link access port`,
  });
}

/**
 * Adds a udp listener (on the iperf listener's port number: iperf3 -u sends its TCP control connection and its
 * datagrams to one port) and a udp connector to the iperf3 server to a running path, and sets its udpPort. Done
 * when the UDP rows start, not at start: a router loads its udp adapter with its first udp resource, and the
 * idle and churn memory figures are of routers without one.
 */
export async function addUdp(p: CaravanPath, serverIperfPort: number): Promise<void> {
  const listener = p.sites[0];
  const connector = p.sites[p.sites.length - 1];
  if (!listener || !connector) throw new Error(`${p.name} has no sites`);
  await connector.writeResource('Connector', 'iperf-udp', {
    type: 'udp',
    host: HOST,
    port: serverIperfPort,
    routingKey: KEYS.udp,
  });
  await listener.writeResource('Listener', 'iperf-udp', {
    type: 'udp',
    host: HOST,
    port: p.iperfPort,
    routingKey: KEYS.udp,
  });
  await listener.seesKey(KEYS.udp, 1, 30_000);
  // the key is seen once the connector has it; the listener's own socket is bound by then or shortly after
  await waitFor(
    async () => {
      const l = (await listener.status()).listeners.find((x) => x.name === 'iperf-udp');
      if (l?.error !== undefined) throw new Error(`udp listener of ${p.name}: ${l.error}`);
      return l?.port !== undefined;
    },
    { timeoutMs: 15_000, what: `the udp listener of ${p.name} to be bound` },
  );
  p.udpPort = p.iperfPort;
}

function pidOf(p: ManagedProcess): number {
  if (p.pid === undefined) throw new Error(`${p.label} has no pid`);
  return p.pid;
}

/** hops = 1: listener router -> connector router; hops = 2: listener -> transit -> connector. */
export async function caravanPath(
  root: string,
  servers: Servers,
  hops: 1 | 2,
  opts: CaravanPathOptions = {},
): Promise<CaravanPath> {
  const name: PathName = hops === 1 ? 'caravan-1hop' : 'caravan-2hop';
  const prefix = opts.prefix ?? `h${hops}`;
  const hello = opts.helloIntervalMs ?? 1000;
  const access = { host: HOST, port: 0 };
  const logDir = `${root}/logs`;
  const routers: ManagedProcess[] = [];

  const connector = await TestSite.create(root, {
    name: `${prefix}-conn`,
    linkAccess: access,
    helloIntervalMs: hello,
  });
  await connector.addConnector({ name: 'redis', port: servers.redisPort, routingKey: KEYS.redis });
  await connector.addConnector({ name: 'iperf', port: servers.iperfPort, routingKey: KEYS.iperf });
  const listener = await TestSite.create(root, { name: `${prefix}-lsnr`, helloIntervalMs: hello });
  const redisPort = await freePort();
  const iperfPort = await freePort();
  const early = opts.earlyData ? { earlyData: true } : {};
  await listener.addListener({ name: 'redis', port: redisPort, routingKey: KEYS.redis, ...early });
  await listener.addListener({ name: 'iperf', port: iperfPort, routingKey: KEYS.iperf, ...early });

  const sites = [listener];
  let hub = connector;
  if (hops === 2) {
    const transit = await TestSite.create(root, {
      name: `${prefix}-transit`,
      linkAccess: access,
      helloIntervalMs: hello,
    });
    sites.push(transit);
    hub = transit;
  }
  sites.push(connector);

  const hubProc = startRouter(hub, logDir, opts);
  const hubPort = await linkPort(hub);
  routers.push(hubProc);
  if (hops === 2) {
    await connector.linkTo(hub, { endpoints: [{ host: HOST, port: hubPort }] });
    routers.push(startRouter(connector, logDir, opts));
  }
  await listener.linkTo(hub, { endpoints: [{ host: HOST, port: hubPort }] });
  const lsnrProc = startRouter(listener, logDir, opts);
  routers.unshift(lsnrProc);
  await listener.ready();
  await listener.seesKey(KEYS.redis, 1, 30_000);
  await listener.seesKey(KEYS.iperf, 1, 30_000);

  const roles = hops === 1 ? ['listener', 'connector'] : ['listener', 'transit', 'connector'];
  return {
    name,
    redisPort,
    iperfPort,
    sites,
    routers,
    procs: routers.map((r, i) => ({ role: roles[i] as string, pid: pidOf(r) })),
    stop: async () => {
      await Promise.all(routers.map((r) => r.stop(5000)));
    },
  };
}
