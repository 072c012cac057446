/**
 * The `caravan` CLI end to end, driven only through `node bin/caravan.js …` as a new user would, on separate
 * "machines" (network namespaces), each site with its own CARAVAN_HOME:
 *
 *   westapp(10.10.0.2) ── west(10.10.0.1) ══ 100.64.1.0/30 ══ hub ══ 100.64.2.0/30 ══ east(10.10.0.1) ── eastapp(10.10.0.2)
 *   redis-benchmark here                                                                    redis-server here
 *
 * hub accepts links; west and east share a CIDR and drop every inbound connection on their uplinks, so they
 * can only dial out: they link by redeeming tokens the hub issued.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminClient } from '../../src/cli/router.js';
import { NetLab, startRedis, type Host } from '../support/netns.js';
import { repoRoot, type RunResult } from '../support/proc.js';
import { makeTempRoot } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const CARAVAN = join(repoRoot, 'bin', 'caravan.js');
const SITES = ['hub', 'west', 'east'] as const;
type SiteName = (typeof SITES)[number];

interface NetworkStatus {
  from: string;
  sites: Array<{
    site: string;
    reachable: boolean;
    links: Array<{ site: string }>;
    services: Array<{ key: string }>;
  }>;
}
interface LinkRow {
  name: string;
  direction: 'in' | 'out';
  state: string;
  peer?: string;
}

describe('caravan CLI: a hub and two private sites, linked with tokens', () => {
  let lab: NetLab;
  let root: { dir: string; remove: () => Promise<void> };
  const h: Record<string, Host> = {};
  const homes = {} as Record<SiteName, string>;

  /** Runs `caravan ARGS` on the site's machine with the site's CARAVAN_HOME. */
  const cv = (site: SiteName, args: string[], timeoutMs = 60_000): Promise<RunResult> =>
    lab.exec(h[site]!, process.execPath, [CARAVAN, ...args], {
      env: { ...process.env, CARAVAN_HOME: homes[site], NO_COLOR: '1' },
      cwd: root.dir,
      timeoutMs,
    });
  const cvOk = async (site: SiteName, args: string[], timeoutMs?: number): Promise<string> => {
    const r = await cv(site, args, timeoutMs);
    assert.equal(
      r.code,
      0,
      `caravan ${args.join(' ')} at ${site} failed (${r.code}):\n${r.stderr}${r.stdout}`,
    );
    return r.stdout;
  };
  const json = async <T>(site: SiteName, args: string[]): Promise<T> =>
    JSON.parse(await cvOk(site, [...args, '-o', 'json'])) as T;
  const links = (site: SiteName): Promise<LinkRow[]> => json<LinkRow[]>(site, ['link', 'list']);

  const redisThroughWest = (cmd: string[]): Promise<RunResult> =>
    lab.exec(h.westapp!, 'redis-cli', ['-h', '10.10.0.1', '-p', '6379', ...cmd], { timeoutMs: 10_000 });

  const networkSeesAll = (site: SiteName): Promise<NetworkStatus> =>
    waitFor(
      async () => {
        const n = await json<NetworkStatus>(site, ['network', 'status']);
        const names = n.sites
          .filter((s) => s.reachable)
          .map((s) => s.site)
          .sort();
        return names.join(',') === 'east,hub,west' ? n : undefined;
      },
      { what: `network status at ${site} to list hub, west and east`, timeoutMs: 30_000, intervalMs: 300 },
    );

  before(async () => {
    lab = await NetLab.create('cli');
    root = await makeTempRoot('cli');
    for (const n of ['hub', 'west', 'east', 'westapp', 'eastapp']) h[n] = await lab.addHost(n);
    const up1 = await lab.connect(h.hub!, h.west!, '100.64.1.1/30', '100.64.1.2/30', {
      ifNames: ['to-west', 'uplink'],
    });
    const up2 = await lab.connect(h.hub!, h.east!, '100.64.2.1/30', '100.64.2.2/30', {
      ifNames: ['to-east', 'uplink'],
    });
    await lab.connect(h.west!, h.westapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.connect(h.east!, h.eastapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.dropInbound(h.west!, up1.bIf);
    await lab.dropInbound(h.east!, up2.bIf);
    await startRedis(lab, h.eastapp!, '10.10.0.2', 6379);
    await lab.execOk(h.eastapp!, 'redis-cli', ['-h', '10.10.0.2', 'set', 'whoami', 'redis-at-east']);
    for (const s of SITES) homes[s] = join(root.dir, `home-${s}`);
  });

  after(async () => {
    // stop the routers through the CLI (the lab kills anything left in its namespaces anyway)
    for (const s of SITES) await cv(s, ['site', 'stop', '--timeout', '5']).catch(() => undefined);
    await lab?.destroy();
    await root?.remove();
  });

  test('create three sites, set fast HELLO timers with apply, start them detached', async () => {
    const hub = await cvOk('hub', ['site', 'create', 'hub', '--link-access']);
    assert.match(hub, /Site hub created/);
    await cvOk('west', ['site', 'create', 'west']);
    await cvOk('east', ['site', 'create', 'east']);
    for (const s of SITES) {
      const la = s === 'hub' ? '  linkAccess: {host: 0.0.0.0, port: 55671, grantPort: 55672}\n' : '';
      const file = join(root.dir, `site-${s}.yaml`);
      await writeFile(
        file,
        `apiVersion: caravan.dev/v1alpha1\nkind: Site\nmetadata:\n  name: ${s}\nspec:\n${la}  routing: {helloIntervalMs: 200, deadIntervalMs: 800}\n`,
      );
      assert.match(await cvOk(s, ['apply', '-f', file]), new RegExp(`^Site/${s} configured$`, 'm'));
    }
    for (const s of SITES) {
      assert.match(await cvOk(s, ['site', 'start', '--detach']), new RegExp(`Site ${s} started`));
      const st = await json<{ running: boolean }>(s, ['site', 'status']);
      assert.equal(st.running, true);
    }
  });

  test('west and east redeem tokens issued by the hub; they only dial out', async () => {
    const out = await cvOk('hub', ['token', 'issue', 'west.token', '--host', '100.64.1.1']);
    assert.match(out, /Token written to west\.token/);
    await cvOk('hub', ['token', 'issue', 'east.token', '--host', '100.64.2.1']);
    assert.equal((await stat(join(root.dir, 'west.token'))).mode & 0o777, 0o600, 'a token file is private');
    assert.match(
      await cvOk('west', ['token', 'redeem', 'west.token']),
      /Link hub created: dials 100\.64\.1\.1:55671.*\n.*is up/,
    );
    assert.match(
      await cvOk('east', ['token', 'redeem', 'east.token']),
      /Link hub created: dials 100\.64\.2\.1:55671.*\n.*is up/,
    );
    const atHub = await waitFor(
      async () => {
        const l = await links('hub');
        return l.filter((x) => x.direction === 'in' && x.state === 'up').length === 2 ? l : undefined;
      },
      { what: 'two inbound links at the hub', timeoutMs: 15_000, intervalMs: 300 },
    );
    assert.deepEqual(atHub.map((l) => l.peer).sort(), ['east', 'west']);
    // the hub cannot open a connection to west: inbound is dropped there
    const probe = await lab.exec(h.hub!, process.execPath, [
      '-e',
      `const s=require('net').connect(55671,'100.64.1.2');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1500)`,
    ]);
    assert.notEqual(probe.code, 0);
  });

  test('a redis connector at east and a listener at west: redis-benchmark through the network', async () => {
    assert.match(
      await cvOk('east', ['connector', 'create', 'redis', '6379', '--host', '10.10.0.2']),
      /Connector redis created/,
    );
    assert.match(
      await cvOk('west', ['listener', 'create', 'redis', '6379', '--host', '10.10.0.1']),
      /Listener redis created/,
    );
    await waitFor(
      async () =>
        (await json<{ matched?: boolean }>('west', ['listener', 'status', 'redis'])).matched === true,
      { what: 'the listener at west to be matched', timeoutMs: 20_000, intervalMs: 300 },
    );
    const human = await cvOk('west', ['listener', 'status', 'redis']);
    assert.match(human, /Matched: +yes: connectors at east/);
    const conn = await json<{ advertised?: boolean; healthy?: boolean }>('east', [
      'connector',
      'status',
      'redis',
    ]);
    assert.equal(conn.healthy, true);
    assert.equal(conn.advertised, true);
    // the connector's site knows where its clients are: listeners are flooded with the routing advertisements
    await waitFor(
      async () =>
        (
          await json<{ listenerSites?: string[] }>('east', ['connector', 'status', 'redis'])
        ).listenerSites?.includes('west'),
      { what: 'east to see the listener at west', timeoutMs: 20_000, intervalMs: 300 },
    );
    assert.match(await cvOk('east', ['connector', 'status', 'redis']), /Listeners in the network: +at west/);

    const get = await redisThroughWest(['get', 'whoami']);
    assert.equal(get.stdout.trim(), 'redis-at-east');
    const r = await lab.execOk(
      h.westapp!,
      'redis-benchmark',
      ['-h', '10.10.0.1', '-p', '6379', '-n', '10000', '-c', '10', '-t', 'ping_inline,set,get', '--csv'],
      { timeoutMs: 120_000 },
    );
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter((l) => /^"(PING_INLINE|SET|GET)"/.test(l));
    assert.equal(rows.length, 3, r.stdout);
    for (const row of rows) assert.ok(Number(row.split(',')[1]?.replace(/"/g, '')) > 0, row);

    const status = await cvOk('west', ['status']);
    assert.match(status, /^Site west: router west-[a-z2-7]{26} \(interior\), running/m);
    assert.match(status, /^hub +outbound +up +hub +1 /m);
    assert.match(status, /^redis +tcp +redis +10\.10\.0\.1:6379 +yes +east +yes$/m);
  });

  test('network status from every site lists all three sites', async () => {
    for (const s of SITES) {
      const n = await networkSeesAll(s);
      assert.equal(n.from, s);
      const east = n.sites.find((x) => x.site === 'east')!;
      assert.deepEqual(
        east.services.map((x) => x.key),
        ['redis'],
      );
      const hub = n.sites.find((x) => x.site === 'hub')!;
      assert.deepEqual(hub.links.map((l) => l.site).sort(), ['east', 'west']);
      const table = await cvOk(s, ['network', 'status']);
      for (const name of SITES)
        assert.match(
          table,
          new RegExp(`^${name}( \\(this site\\))? +${name}-[a-z2-7]{26} +interior +yes`, 'm'),
        );
    }
  });

  test('site stop, then site start --detach, restores everything from the site directory alone', async () => {
    for (const s of SITES) assert.match(await cvOk(s, ['site', 'stop']), new RegExp(`Site ${s} stopped`));
    for (const s of SITES) {
      const st = await json<{ running: boolean }>(s, ['site', 'status']);
      assert.equal(st.running, false, `${s} is stopped`);
    }
    const down = await redisThroughWest(['ping']);
    assert.notEqual(down.stdout.trim(), 'PONG');
    for (const s of ['east', 'hub', 'west'] as const) await cvOk(s, ['site', 'start', '--detach']);
    await networkSeesAll('west');
    await waitFor(async () => (await redisThroughWest(['get', 'whoami'])).stdout.trim() === 'redis-at-east', {
      what: 'redis through the network after the restart',
      timeoutMs: 30_000,
      intervalMs: 300,
    });
  });

  test('a second redemption of a one-use token fails with a clear error', async () => {
    const r = await cv('west', ['token', 'redeem', 'west.token', '--name', 'again']);
    assert.equal(r.code, 6, `exit code 6 (access) — ${r.stderr}`);
    assert.match(r.stderr, /^error: .*used up.*\n$/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    const l = await links('west');
    assert.deepEqual(
      l.map((x) => x.name),
      ['hub'],
      'nothing was written at west',
    );
  });

  test('link revoke at the hub cuts exactly one link', async () => {
    const out = await cvOk('hub', ['link', 'revoke', 'west']);
    assert.match(out, /Revoked \d+ certificates? issued to west/);
    await waitFor(
      async () => {
        const l = await links('hub');
        const inbound = l.filter((x) => x.direction === 'in' && x.state === 'up');
        return inbound.length === 1 && inbound[0]!.peer === 'east';
      },
      { what: 'only east linked at the hub', timeoutMs: 15_000, intervalMs: 300 },
    );
    const west = await links('west');
    assert.notEqual(west.find((x) => x.name === 'hub')?.state, 'up', 'west is cut off');
    const east = await links('east');
    assert.equal(east.find((x) => x.name === 'hub')?.state, 'up', 'east stays linked');
    // and stays cut: west keeps dialling, the hub keeps refusing (its refusal count grows past where it was)
    const hub = await adminClient(join(homes.hub, 'sites', 'hub'));
    const refused = async (): Promise<number> => {
      const m =
        /^caravan_connections_refused_total\{server="link",reason="certificate_refused"\} (\d+)$/m.exec(
          await hub.metrics(),
        );
      return Number(m?.[1] ?? 0);
    };
    const refusedBefore = await refused();
    await waitFor(async () => (await refused()) > refusedBefore, {
      what: "the hub refusing west's next dial",
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    assert.equal((await links('hub')).filter((x) => x.direction === 'in' && x.state === 'up').length, 1);
    const n = await json<NetworkStatus>('east', ['network', 'status']);
    assert.ok(!n.sites.some((s) => s.site === 'west' && s.reachable), 'east no longer reaches west');
  });

  test('debug dump at the hub holds no private key', async () => {
    await cvOk('hub', ['debug', 'dump', 'hub.tar.gz']);
    const file = join(root.dir, 'hub.tar.gz');
    const names = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(names.includes('caravan-dump-hub/status.json'), names.join('\n'));
    assert.ok(names.includes('caravan-dump-hub/resources/site-hub.yaml'));
    assert.ok(!names.some((n) => n.endsWith('.key')), names.join('\n'));
    const all = execFileSync('tar', ['xzOf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.doesNotMatch(all, /PRIVATE KEY-----/);
    const caKey = await readFile(join(homes.hub, 'sites', 'hub', 'runtime', 'ca.key'), 'utf8');
    assert.ok(caKey.includes('PRIVATE KEY'), 'the site does have a key that was left out');
  });
});
