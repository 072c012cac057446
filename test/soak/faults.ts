/**
 * The soak's fault injector: one fault at a time, chosen and sized by a seeded generator. Each fault has an
 * inject step and a heal step; the driver measures from the heal until traffic flows again everywhere.
 */
import { join } from 'node:path';
import type { ManagedProcess } from '../support/proc.js';
import { repoRoot } from '../support/proc.js';
import type { Rng } from './prng.js';
import {
  DEAD_MS,
  LINK_PORT,
  SERVICES,
  SITES,
  type SiteName,
  type SoakNetwork,
  type Wire,
} from './topology.js';

export const FAULT_KINDS = [
  'kill9',
  'restart',
  'pause',
  'cut-down',
  'cut-blackhole',
  'impair',
  'partition',
  'flood',
  'target-restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** what it hit: a site, a wire, a target server */
  target: string;
  /** how long it was held before the heal (ms) */
  holdMs: number;
  detail: string;
  /** the site whose router was killed with -9 (its sockets end with the kernel's FIN) */
  killed?: SiteName;
  heal: () => Promise<void>;
}

const NFT_TABLE = 'caravan_soak';
const LOSS_TABLE = 'caravan_soak_loss';
const FLOOD = join(repoRoot, 'dist', 'test', 'soak', 'flood.js');

async function nft(net: SoakNetwork, site: SiteName | 'stranger', script: string): Promise<void> {
  const host = site === 'stranger' ? net.stranger : net.lab.host(site);
  await net.lab.execOk(host, 'nft', ['-f', '-'], { input: script });
}

/** Drops every packet in and out of the given interfaces of `site` (a blackhole: no FIN, no RST). */
async function blackhole(net: SoakNetwork, site: SiteName, ifNames: string[]): Promise<() => Promise<void>> {
  const rules = ifNames
    .flatMap((i) => [
      `add rule inet ${NFT_TABLE} in iifname "${i}" drop`,
      `add rule inet ${NFT_TABLE} out oifname "${i}" drop`,
    ])
    .join('\n');
  await nft(
    net,
    site,
    `table inet ${NFT_TABLE} {\n  chain in { type filter hook input priority -10; policy accept; }\n` +
      `  chain out { type filter hook output priority -10; policy accept; }\n}\n${rules}\n`,
  );
  return () =>
    net.lab.execOk(net.lab.host(site), 'nft', ['delete', 'table', 'inet', NFT_TABLE]).then(() => undefined);
}

/** A wire that carries a site link (not the stranger's, not the spare's). */
type SiteWire = Wire & { b: SiteName };

function siteWires(net: SoakNetwork): SiteWire[] {
  return net.wires.filter((w): w is SiteWire => (SITES as readonly string[]).includes(w.b));
}

function side(rng: Rng, w: SiteWire): { site: SiteName; ifName: string } {
  return rng.next() < 0.5 ? { site: w.a, ifName: w.aIf } : { site: w.b, ifName: w.bIf };
}

/** Injects one fault of `kind`; resolves once it is in place, with how to heal it. */
export async function inject(net: SoakNetwork, rng: Rng, kind: FaultKind): Promise<Fault> {
  const holdMs = rng.range(3000, 10_000);
  switch (kind) {
    case 'kill9': {
      const site = rng.pick(SITES);
      const pid = await net.routerPid(site);
      if (pid === undefined) throw new Error(`router ${site} is not running`);
      process.kill(pid, 'SIGKILL');
      return {
        kind,
        target: site,
        holdMs: 0,
        detail: `pid ${pid}`,
        killed: site,
        heal: () => net.routerReady(site, 90_000),
      };
    }
    case 'restart': {
      const site = rng.pick(SITES);
      const st = net.sites.get(site);
      if (!st) throw new Error(`no site ${site}`);
      st.stopping = true;
      await st.supervisor.stop(10_000);
      return {
        kind,
        target: site,
        holdMs: rng.range(500, 3000),
        detail: 'supervisor stopped (SIGTERM), then started again',
        heal: async () => {
          net.startSupervisor(st);
          await net.routerReady(site, 90_000);
          st.stopping = false;
        },
      };
    }
    case 'pause': {
      const site = rng.pick(SITES);
      const pid = await net.routerPid(site);
      if (pid === undefined) throw new Error(`router ${site} is not running`);
      process.kill(pid, 'SIGSTOP');
      return {
        kind,
        target: site,
        holdMs: DEAD_MS + rng.range(500, 4000),
        detail: `SIGSTOP pid ${pid}, longer than the dead interval`,
        heal: async () => {
          process.kill(pid, 'SIGCONT');
        },
      };
    }
    case 'cut-down': {
      const w = rng.pick(siteWires(net));
      const s = side(rng, w);
      await net.lab.linkDown(net.lab.host(s.site), s.ifName);
      return {
        kind,
        target: w.name,
        holdMs,
        detail: `ip link set ${s.ifName} down at ${s.site}`,
        heal: () => net.lab.linkUp(net.lab.host(s.site), s.ifName),
      };
    }
    case 'cut-blackhole': {
      const w = rng.pick(siteWires(net));
      const s = side(rng, w);
      const heal = await blackhole(net, s.site, [s.ifName]);
      return { kind, target: w.name, holdMs, detail: `nftables drop on ${s.ifName} at ${s.site}`, heal };
    }
    case 'partition': {
      const site = rng.pick(SITES);
      const ifs = net.wires.flatMap((w) => (w.a === site ? [w.aIf] : w.b === site ? [w.bIf] : []));
      const heal = await blackhole(net, site, ifs);
      return {
        kind,
        target: site,
        holdMs: DEAD_MS + holdMs,
        detail: `nftables drop on ${ifs.join(',')}`,
        heal,
      };
    }
    case 'impair': {
      const w = rng.pick(siteWires(net));
      const loss = rng.range(1, 10);
      const delay = rng.range(5, 150);
      const reorder = rng.range(0, 30);
      const ends: Array<[SiteName | 'stranger', string]> = [
        [w.a, w.aIf],
        [w.b, w.bIf],
      ];
      const hostOf = (site: SiteName | 'stranger') =>
        site === 'stranger' ? net.stranger : net.lab.host(site);
      const netem = ['delay', `${delay}ms`, `${Math.ceil(delay / 3)}ms`, 'loss', `${loss}%`];
      if (reorder > 0) netem.push('reorder', `${reorder}%`, '50%');
      const first = await net.lab.exec(hostOf(w.a), 'tc', [
        'qdisc',
        'replace',
        'dev',
        w.aIf,
        'root',
        'netem',
        ...netem,
      ]);
      let detail: string;
      let undo: () => Promise<void>;
      if (first.code === 0) {
        await net.lab.execOk(hostOf(w.b), 'tc', [
          'qdisc',
          'replace',
          'dev',
          w.bIf,
          'root',
          'netem',
          ...netem,
        ]);
        detail = `netem ${netem.join(' ')}`;
        undo = async () => {
          for (const [site, ifName] of ends)
            await net.lab.execOk(hostOf(site), 'tc', ['qdisc', 'del', 'dev', ifName, 'root']);
        };
      } else {
        // a kernel without sch_netem: random loss by nftables, queueing delay by a token bucket; no reordering
        const rate = rng.range(2, 20);
        for (const [site, ifName] of ends) {
          await net.lab.execOk(hostOf(site), 'nft', ['-f', '-'], {
            input:
              `table inet ${LOSS_TABLE} {\n  chain in { type filter hook input priority -20; policy accept; }\n}\n` +
              `add rule inet ${LOSS_TABLE} in iifname "${ifName}" numgen random mod 100 < ${loss} drop\n`,
          });
          await net.lab.execOk(hostOf(site), 'tc', [
            'qdisc',
            'replace',
            'dev',
            ifName,
            'root',
            'tbf',
            'rate',
            `${rate}mbit`,
            'burst',
            '32kbit',
            'latency',
            `${delay * 2 + 20}ms`,
          ]);
        }
        detail = `loss ${loss}% (nftables), ${rate} Mbit/s with up to ${delay * 2 + 20} ms queueing (tbf; no netem in this kernel)`;
        undo = async () => {
          for (const [site, ifName] of ends) {
            await net.lab.execOk(hostOf(site), 'tc', ['qdisc', 'del', 'dev', ifName, 'root']);
            await net.lab.execOk(hostOf(site), 'nft', ['delete', 'table', 'inet', LOSS_TABLE]);
          }
        };
      }
      return { kind, target: w.name, holdMs: holdMs + 5000, detail, heal: undo };
    }
    case 'flood': {
      const hub = rng.pick(['hub-a', 'hub-b'] as const);
      const w = net.wires.find((x) => x.a === hub && x.b === 'stranger') as Wire;
      const conns = rng.range(200, 600);
      const proc: ManagedProcess = net.lab.spawn(
        net.stranger,
        process.execPath,
        [FLOOD, w.aAddr, String(LINK_PORT), String(conns)],
        {
          label: `flood-${hub}`,
        },
      );
      await proc.waitForOutput(/flooding/, { timeoutMs: 10_000 });
      return {
        kind,
        target: hub,
        holdMs,
        detail: `${conns} junk connections at a time to ${w.aAddr}:${LINK_PORT}`,
        heal: async () => {
          await proc.stop(2000);
        },
      };
    }
    case 'target-restart': {
      // the AMQP receiver holds the record of what arrived: it is not restarted
      const s = rng.pick(net.servers.filter((x) => x.kind !== 'amqp'));
      const svc = SERVICES.find((x) => x.key === s.key);
      if (!svc) throw new Error(`no service ${s.key}`);
      await s.proc.stop(5000); // SIGTERM: the server resets its connections, then exits
      return {
        kind,
        target: `${s.key}@${s.site}`,
        holdMs: rng.range(500, 3000),
        detail: 'target server stopped (its connections reset), then started again',
        heal: async () => {
          await net.startServer(svc, s.site);
        },
      };
    }
  }
}
