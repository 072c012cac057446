/**
 * The soak's network: five sites in their own network namespaces, each a real `caravan-router --supervise`.
 *
 *            hub-a ─────────── hub-b            two hubs accept links; every other site dials out
 *           /  │  \           /   |
 *       leaf   │   west ─────/    |             west also accepts: east–west closes a ring
 *              │     │            |
 *              └──── east ────────┘             leaf sits behind hub-a only and cannot be dialled (nftables)
 *
 * A stranger namespace (no site) reaches both hubs' public ports, for the flood fault; a spare edge site with a
 * wire to each hub redeems tokens (redeem.ts) and carries no traffic. Targets (SERVICES): a checked-stream
 * server at east (`bulk-east`) and at leaf (`bulk-leaf`), an HTTP/1.1 server at east and at west (`web`, two
 * providers, balanced), a gRPC server at east and at west (`rpc`), a UDP server at leaf (`dgram`) and the AMQP
 * receiver of `bus.soak` at east. Clients at west, leaf and hub-b.
 */
import { join } from 'node:path';
import { NetLab, type Host } from '../support/netns.js';
import { repoRoot, type ManagedProcess } from '../support/proc.js';
import { TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { ROUTER_NODE_FLAGS } from '../../src/site/node-flags.js';
import { readSupervisorRecord } from '../../src/site/supervision.js';
import { AMQP_ADDRESS } from './amqp.js';
import type { ClientTarget, TrafficKind } from './client.js';

export const LINK_PORT = 55671;
export const HELLO_MS = 500;
export const DEAD_MS = 2500;
const AGENT = join(repoRoot, 'dist', 'test', 'soak', 'agent.js');

export const SITES = ['hub-a', 'hub-b', 'west', 'east', 'leaf'] as const;
export type SiteName = (typeof SITES)[number];

/** One veth pair between two namespaces: `dialer` dials `acceptor` across it. */
export interface Wire {
  name: string;
  a: SiteName;
  b: SiteName | 'stranger' | 'spare';
  aIf: string;
  bIf: string;
  aAddr: string;
  bAddr: string;
}

/** The site links: [dialer, acceptor, cost]; the wire between them carries the link. */
export const LINKS: Array<[SiteName, SiteName, number]> = [
  ['hub-b', 'hub-a', 1],
  ['west', 'hub-a', 1],
  ['west', 'hub-b', 1],
  ['east', 'hub-a', 1],
  ['east', 'hub-b', 1],
  ['east', 'west', 2],
  ['leaf', 'hub-a', 1],
];

export interface Service {
  key: string;
  kind: TrafficKind;
  port: number;
  /** sites with a connector (and a target server) for it */
  at: SiteName[];
  /** sites with a listener for it (and a client using it) */
  from: SiteName[];
}

export const SERVICES: Service[] = [
  { key: 'bulk-east', kind: 'stream', port: 7001, at: ['east'], from: ['west', 'leaf', 'hub-b'] },
  { key: 'bulk-leaf', kind: 'stream', port: 7002, at: ['leaf'], from: ['west', 'hub-b'] },
  { key: 'web', kind: 'http', port: 7003, at: ['east', 'west'], from: ['leaf', 'west'] },
  { key: 'rpc', kind: 'grpc', port: 7004, at: ['east', 'west'], from: ['leaf', 'hub-b'] },
  { key: 'dgram', kind: 'udp', port: 7005, at: ['leaf'], from: ['west', 'hub-b'] },
  // amqp: the receiver at east attaches to the address through east's amqp listener (port + 1000, like the
  // listeners of every site in `at` or `from`); it advertises the key, there is no connector
  { key: `amqp:${AMQP_ADDRESS}`, kind: 'amqp', port: 7006, at: ['east'], from: ['west', 'leaf'] },
];

/** The services the reconvergence probes check (a checked stream or request each) */
export const PROBED = SERVICES.filter((s) => s.kind === 'stream' || s.kind === 'http');

const RESOURCE_TYPE: Record<TrafficKind, string> = {
  stream: 'tcp',
  http: 'http1',
  grpc: 'http2',
  udp: 'udp',
  amqp: 'amqp',
};

export const RESTART_ENV = {
  CARAVAN_RESTART_DELAY_MS: '300',
  CARAVAN_RESTART_MAX_DELAY_MS: '3000',
  CARAVAN_RESTART_STABLE_MS: '5000',
  CARAVAN_RESTART_LIMIT: '100000',
};

export interface SiteState {
  name: SiteName;
  host: Host;
  site: TestSite;
  supervisor: ManagedProcess;
  /** supervisors started for this site (a restart fault starts a new one) */
  generation: number;
  /** set while a restart fault has the supervisor stopped on purpose */
  stopping: boolean;
}

export interface ServerState {
  key: string;
  site: SiteName;
  kind: TrafficKind;
  port: number;
  proc: ManagedProcess;
}

export class SoakNetwork {
  readonly sites = new Map<SiteName, SiteState>();
  readonly wires: Wire[] = [];
  readonly servers: ServerState[] = [];
  readonly clients = new Map<SiteName, ManagedProcess>();
  stranger!: Host;
  /** the edge site that redeems tokens during the faults (redeem.ts); not part of the traffic */
  spare!: { host: Host; site: TestSite; proc: ManagedProcess };
  /** called with every target server started after the network was built (a restarted one) */
  onServer: ((proc: ManagedProcess) => void) | undefined;

  private constructor(
    readonly lab: NetLab,
    readonly root: string,
  ) {}

  static async build(root: string): Promise<SoakNetwork> {
    const lab = await NetLab.create('soak');
    const net = new SoakNetwork(lab, root);
    const hosts = new Map<string, Host>();
    for (const n of [...SITES, 'stranger', 'spare']) hosts.set(n, await lab.addHost(n));
    net.stranger = hosts.get('stranger') as Host;
    let subnet = 1;
    const wire = async (a: SiteName, b: SiteName | 'stranger' | 'spare'): Promise<Wire> => {
      const n = subnet++;
      const aIf = `w${n}-${b}`.slice(0, 15);
      const bIf = `w${n}-${a}`.slice(0, 15);
      const w: Wire = {
        name: `${a}~${b}`,
        a,
        b,
        aIf,
        bIf,
        aAddr: `100.64.${n}.1`,
        bAddr: `100.64.${n}.2`,
      };
      await lab.connect(hosts.get(a) as Host, hosts.get(b) as Host, `${w.aAddr}/30`, `${w.bAddr}/30`, {
        ifNames: [aIf, bIf],
      });
      net.wires.push(w);
      return w;
    };
    const linkWires = new Map<string, Wire>();
    for (const [dialer, acceptor] of LINKS)
      linkWires.set(`${dialer}>${acceptor}`, await wire(acceptor, dialer));
    await wire('hub-a', 'stranger');
    await wire('hub-b', 'stranger');
    await wire('hub-a', 'spare');
    await wire('hub-b', 'spare');
    // leaf only dials out: nothing gets in through its uplink unless it belongs to a connection leaf opened
    const leafWire = linkWires.get('leaf>hub-a') as Wire;
    await lab.dropInbound(hosts.get('leaf') as Host, leafWire.bIf);

    const accepting = new Set(LINKS.map(([, acc]) => acc));
    const sites = new Map<SiteName, TestSite>();
    // the sites live where the CLI finds them: <root>/sites/<name> (`caravan --home <root>`)
    const home = join(root, 'sites');
    for (const name of SITES) {
      sites.set(
        name,
        await TestSite.create(home, {
          name,
          helloIntervalMs: HELLO_MS,
          deadIntervalMs: DEAD_MS,
          ...(accepting.has(name) ? { linkAccess: { host: '0.0.0.0', port: LINK_PORT } } : {}),
        }),
      );
    }
    for (const [dialer, acceptor, cost] of LINKS) {
      const w = linkWires.get(`${dialer}>${acceptor}`) as Wire;
      await (sites.get(dialer) as TestSite).linkTo(sites.get(acceptor) as TestSite, {
        endpoints: [{ host: w.aAddr, port: LINK_PORT }],
        cost,
      });
    }
    for (const svc of SERVICES) {
      if (svc.kind === 'amqp') {
        for (const at of [...svc.at, ...svc.from])
          await (sites.get(at) as TestSite).writeResource('Listener', 'bus', {
            host: '127.0.0.1',
            port: svc.port + 1000,
            type: 'amqp',
          });
        continue;
      }
      for (const at of svc.at) {
        await (sites.get(at) as TestSite).writeResource('Connector', svc.key, {
          host: '127.0.0.1',
          port: svc.port,
          routingKey: svc.key,
          type: RESOURCE_TYPE[svc.kind],
        });
      }
      for (const from of svc.from) {
        await (sites.get(from) as TestSite).writeResource('Listener', svc.key, {
          host: '127.0.0.1',
          port: svc.port + 1000,
          routingKey: svc.key,
          distribution: 'balanced',
          type: RESOURCE_TYPE[svc.kind],
        });
      }
    }
    for (const name of SITES) {
      const host = hosts.get(name) as Host;
      const site = sites.get(name) as TestSite;
      const st: SiteState = {
        name,
        host,
        site,
        supervisor: undefined as unknown as ManagedProcess,
        generation: 0,
        stopping: false,
      };
      net.sites.set(name, st);
      net.startSupervisor(st);
    }
    const spare = await TestSite.create(home, {
      name: 'spare',
      mode: 'edge',
      helloIntervalMs: HELLO_MS,
      deadIntervalMs: DEAD_MS,
    });
    const spareHost = hosts.get('spare') as Host;
    net.spare = {
      host: spareHost,
      site: spare,
      proc: lab.spawn(spareHost, process.execPath, spare.routerArgs(), { label: 'router-spare' }),
    };
    for (const st of net.sites.values()) await st.site.ready(30_000);
    await spare.ready(30_000);
    for (const svc of SERVICES) for (const at of svc.at) await net.startServer(svc, at);
    return net;
  }

  /** The wire between a hub and the spare site (`aAddr` is the hub's end). */
  spareWire(hub: 'hub-a' | 'hub-b'): Wire {
    return this.wires.find((w) => w.a === hub && w.b === 'spare') as Wire;
  }

  /** Starts `caravan-router --supervise` for the site (a new supervisor; its router follows). */
  startSupervisor(st: SiteState): void {
    st.generation++;
    st.supervisor = this.lab.spawn(
      st.host,
      process.execPath,
      [
        ...ROUTER_NODE_FLAGS,
        join(repoRoot, 'bin', 'caravan-router.js'),
        '--supervise',
        '--dir',
        st.site.dir,
        '--log-level',
        'info',
      ],
      { label: `supervisor-${st.name}-${st.generation}`, env: { ...process.env, ...RESTART_ENV } },
    );
  }

  async startServer(svc: Service, at: SiteName): Promise<ServerState> {
    const st = this.sites.get(at) as SiteState;
    const proc = this.lab.spawn(
      st.host,
      process.execPath,
      [
        AGENT,
        'serve',
        svc.kind,
        '127.0.0.1',
        String(svc.kind === 'amqp' ? svc.port + 1000 : svc.port),
        at,
        svc.key,
      ],
      {
        label: `server-${svc.key}-${at}`,
      },
    );
    this.onServer?.(proc);
    await proc.waitForOutput(/"ev":"ready"/, { timeoutMs: 15_000 });
    const existing = this.servers.find((s) => s.key === svc.key && s.site === at);
    if (existing) {
      existing.proc = proc;
      return existing;
    }
    const s: ServerState = { key: svc.key, site: at, kind: svc.kind, port: svc.port, proc };
    this.servers.push(s);
    return s;
  }

  /** The client targets of a site: one per service it listens for. */
  targetsOf(site: SiteName, concurrency: number): ClientTarget[] {
    return SERVICES.filter((s) => s.from.includes(site)).map((s) => ({
      key: s.key,
      kind: s.kind,
      port: s.port + 1000,
      concurrency:
        s.kind === 'stream' ? concurrency : s.kind === 'http' ? Math.max(1, Math.ceil(concurrency / 2)) : 1,
    }));
  }

  startClient(site: SiteName, config: object): ManagedProcess {
    const st = this.sites.get(site) as SiteState;
    const proc = this.lab.spawn(st.host, process.execPath, [AGENT, 'client', JSON.stringify(config)], {
      label: `client-${site}`,
      stdin: 'pipe',
    });
    this.clients.set(site, proc);
    return proc;
  }

  /** The pid of the site's router (the supervisor's child), from the supervisor's record. */
  async routerPid(site: SiteName): Promise<number | undefined> {
    const rec = await readSupervisorRecord((this.sites.get(site) as SiteState).site.dir);
    return rec?.phase === 'running' ? rec.childPid : undefined;
  }

  /** Waits until every site sees every service at all its providers. */
  async converged(timeoutMs: number): Promise<void> {
    await Promise.all(
      SERVICES.flatMap((svc) =>
        svc.from.map((from) =>
          (this.sites.get(from) as SiteState).site.seesKey(svc.key, svc.at.length, timeoutMs),
        ),
      ),
    );
  }

  /** Waits until the site's (new) router answers on its admin socket. */
  async routerReady(site: SiteName, timeoutMs: number): Promise<void> {
    await waitFor(async () => (await this.routerPid(site)) !== undefined, {
      what: `router ${site} to run again`,
      timeoutMs,
      intervalMs: 100,
    });
    await (this.sites.get(site) as SiteState).site.ready(timeoutMs);
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}
