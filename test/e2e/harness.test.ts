// Proves the e2e harness itself with real parts: namespaces, veth links, routes, nftables, redis-server and small
// Node TCP servers/clients running inside the namespaces. Needs root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  MARKER_DIR,
  NetLab,
  listNamespaces,
  startRedis,
  startTcpServer,
  sweepStaleLabs,
  tcpProbe,
  type Host,
} from '../support/netns.js';
import { ManagedProcess, run, runOk } from '../support/proc.js';
import { waitFor } from '../support/wait.js';
import { skipUnless } from '../support/skip.js';

const isRoot = process.getuid?.() === 0;
const skip = skipUnless(isRoot, 'needs root (network namespaces)');

/** Pids of live (non-zombie) processes whose parent is this test process. */
function childPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('support helpers', () => {
  it('waitFor polls until a value and reports the last error on timeout', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? n : undefined), { what: 'three calls', intervalMs: 1 }), 3);
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { what: 'the impossible', timeoutMs: 100, intervalMs: 10 },
      ),
      /^Error: timed out after 100ms waiting for the impossible.*last error: not yet/,
    );
    // An attempt that never settles is abandoned at the deadline.
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => undefined), { what: 'a hung attempt', timeoutMs: 100 }),
      /timed out after 100ms waiting for a hung attempt/,
    );
  });

  it('run/runOk and ManagedProcess capture output and exit status', async () => {
    const r = await run(process.execPath, [
      '-e',
      'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)',
    ]);
    assert.deepEqual(
      { code: r.code, stdout: r.stdout, stderr: r.stderr },
      { code: 3, stdout: 'out', stderr: 'err' },
    );
    await assert.rejects(runOk(process.execPath, ['-e', 'console.error("boom"); process.exit(1)']), /boom/);
    await assert.rejects(
      run(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 200 }),
      /timed out after 200ms/,
    );

    const p = new ManagedProcess(
      process.execPath,
      ['-e', 'console.log("ready on 42"); setInterval(() => {}, 1000)'],
      { label: 'harness-selftest' },
    );
    const m = await p.waitForOutput(/ready on (\d+)/);
    assert.equal(m[1], '42');
    assert.equal(p.running, true);
    const info = await p.stop(1000);
    assert.equal(info.signal, 'SIGTERM');
    assert.equal(p.running, false);
    assert.match(readFileSync(p.logPath, 'utf8'), /ready on 42/);
    await assert.rejects(p.waitForOutput(/never printed/), /ended \(signal SIGTERM\) before printing/);
  });
});

describe('stale lab sweep', { skip }, () => {
  it('removes namespaces (and their processes) of labs whose creator is gone', async () => {
    // Simulate a crashed earlier run: a marker naming a pid that no longer exists, its namespace, a process in it.
    const dead = new ManagedProcess(process.execPath, ['-e', ''], { label: 'harness-deadpid' });
    const deadPid = dead.pid;
    await dead.exited;
    assert.ok(deadPid);
    const prefix = 'cv999zzz-';
    const ns = `${prefix}stale`;
    const marker = join(MARKER_DIR, `${prefix}.json`);
    mkdirSync(MARKER_DIR, { recursive: true });
    writeFileSync(
      marker,
      JSON.stringify({ prefix, pid: deadPid, pidStart: '1', lab: 'crashed', created: '' }),
    );
    await runOk('ip', ['netns', 'add', ns]);
    const orphan = new ManagedProcess(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      {
        label: 'harness-orphan',
      },
    );
    try {
      await waitFor(async () => (await run('ip', ['netns', 'pids', ns])).stdout.trim() !== '', {
        what: 'orphan process inside the stale namespace',
      });
      const removed = await sweepStaleLabs();
      assert.ok(removed.includes(ns), `sweep removed ${removed.join(',')}`);
      assert.ok(!(await listNamespaces()).includes(ns));
      assert.ok(!existsSync(marker));
      const info = await orphan.waitForExit(5000);
      assert.equal(info.signal, 'SIGKILL');
    } finally {
      await orphan.stop(100);
      await run('ip', ['netns', 'del', ns]);
    }
  });
});

describe('a link into the test machine and local addresses', { skip }, () => {
  it("a namespace reaches a server of the test process over linkToRoot; destroy() removes the machine's end", async () => {
    const lab = await NetLab.create('harness-root-link');
    const net = `10.251.${(process.pid % 127) * 2}`;
    let rootIf = '';
    const server = createServer((s) => s.end('from the test process'));
    try {
      const host = await lab.addHost('inside');
      ({ rootIf } = await lab.linkToRoot(host, 'r', `${net}.1/30`, `${net}.2/30`));
      await lab.addLocalAddresses(host, ['10.244.0.5']);
      assert.ok(host.addresses.includes('10.244.0.5'));
      await new Promise<void>((resolve) => server.listen(0, `${net}.1`, resolve));
      const port = (server.address() as AddressInfo).port;
      const probe = await tcpProbe(lab, host, `${net}.1`, port);
      assert.deepEqual(probe, { ok: true, data: 'from the test process' });
      // the local address answers inside the namespace only
      await startTcpServer(lab, host, '10.244.0.5', 7001, 'pod');
      assert.deepEqual(await tcpProbe(lab, host, '10.244.0.5', 7001), { ok: true, data: 'pod' });
      assert.equal((await run('ip', ['link', 'show', 'dev', rootIf])).code, 0);
    } finally {
      server.close();
      await lab.destroy();
    }
    assert.notEqual((await run('ip', ['link', 'show', 'dev', rootIf])).code, 0, `${rootIf} is gone`);
  });
});

describe('e2e harness: hub and two private sites with the same LAN CIDR', { skip }, () => {
  let lab: NetLab;
  let hub: Host;
  let west: Host;
  let westApp: Host;
  let east: Host;
  let eastApp: Host;

  before(async () => {
    lab = await NetLab.create('harness');
    hub = await lab.addHost('hub');
    west = await lab.addHost('west');
    westApp = await lab.addHost('west-app');
    east = await lab.addHost('east');
    eastApp = await lab.addHost('east-app');
    // WAN: each site on its own /30 to the hub.
    await lab.connect(west, hub, '100.64.1.2/30', '100.64.1.1/30', { ifNames: ['wan', 'west'] });
    await lab.connect(east, hub, '100.64.2.2/30', '100.64.2.1/30', { ifNames: ['wan', 'east'], mtu: 1400 });
    // LANs: the same 10.10.0.0/24 on both sites.
    await lab.connect(west, westApp, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'lan'] });
    await lab.connect(east, eastApp, '10.10.0.1/24', '10.10.0.2/24', { ifNames: { a: 'lan', b: 'lan' } });
    await lab.setDefaultRoute(west, '100.64.1.1');
    await lab.setDefaultRoute(east, '100.64.2.1');
    await lab.setDefaultRoute(westApp, '10.10.0.1');
    await lab.setDefaultRoute(eastApp, '10.10.0.1');
    await lab.enableForwarding(west);
    await lab.enableForwarding(east);
    await startTcpServer(lab, hub, '0.0.0.0', 7000, 'hub');
    await startTcpServer(lab, west, '0.0.0.0', 7001, 'west-site');
  });

  after(async () => {
    await lab?.destroy();
  });

  it('builds namespaces with the requested addresses', async () => {
    assert.match(lab.prefix, /^cv\d{1,3}[a-z]+-$/);
    assert.deepEqual(
      lab.hosts.map((h) => h.ns),
      ['hub', 'west', 'west-app', 'east', 'east-app'].map((n) => lab.prefix + n),
    );
    assert.deepEqual(west.addresses, ['100.64.1.2', '10.10.0.1']);
    assert.deepEqual(hub.addresses, ['100.64.1.1', '100.64.2.1']);
    assert.deepEqual(eastApp.addresses, ['10.10.0.2']);
    const addr = await lab.execOk(east, 'ip', ['-4', '-o', 'addr', 'show']);
    assert.match(addr.stdout, /wan\s+inet 100\.64\.2\.2\/30/);
    assert.match(addr.stdout, /lan\s+inet 10\.10\.0\.1\/24/);
    const link = await lab.execOk(hub, 'ip', ['-o', 'link', 'show', 'east']);
    assert.match(link.stdout, /mtu 1400/);
    const fwd = await lab.execOk(west, 'sysctl', ['-n', 'net.ipv4.ip_forward']);
    assert.equal(fwd.stdout.trim(), '1');
  });

  it('without a firewall the hub can dial a site (control)', async () => {
    assert.deepEqual(await tcpProbe(lab, hub, '100.64.1.2', 7001), { ok: true, data: 'west-site' });
  });

  it('dropInbound: sites can dial out, the hub cannot dial in', async () => {
    await lab.dropInbound(west, 'wan');
    await lab.dropInbound(east, 'wan');
    assert.deepEqual(await tcpProbe(lab, west, '100.64.1.1', 7000), { ok: true, data: 'hub' });
    assert.deepEqual(await tcpProbe(lab, east, '100.64.2.1', 7000), { ok: true, data: 'hub' });
    const t0 = Date.now();
    assert.deepEqual(await tcpProbe(lab, hub, '100.64.1.2', 7001, { timeoutMs: 2000 }), {
      ok: false,
      error: 'ETIMEDOUT',
    });
    assert.ok(Date.now() - t0 < 10_000);
    // The site's own server is up: it is reachable from inside the site.
    assert.deepEqual(await tcpProbe(lab, west, '100.64.1.2', 7001), { ok: true, data: 'west-site' });
    // Forwarded traffic is filtered too: the hub cannot reach into west's LAN through west's uplink.
    await lab.addRoute(hub, '10.10.0.0/24', '100.64.1.2');
    const marker = await startTcpServer(lab, westApp, '10.10.0.2', 7002, 'west-app');
    assert.deepEqual(await tcpProbe(lab, west, '10.10.0.2', 7002), { ok: true, data: 'west-app' });
    assert.deepEqual(await tcpProbe(lab, hub, '10.10.0.2', 7002, { timeoutMs: 1000 }), {
      ok: false,
      error: 'ETIMEDOUT',
    });
    await marker.stop();
  });

  it('10.10.0.2 is a different host on each site', async () => {
    await startTcpServer(lab, westApp, '10.10.0.2', 6379, 'west\n');
    await startRedis(lab, eastApp, '10.10.0.2', 6379);
    const fromEast = await lab.execOk(east, 'redis-cli', ['-h', '10.10.0.2', '-p', '6379', 'ping']);
    assert.equal(fromEast.stdout.trim(), 'PONG');
    assert.deepEqual(await tcpProbe(lab, east, '10.10.0.2', 6379, { send: 'PING\r\n' }), {
      ok: true,
      data: '+PONG\r\n',
    });
    assert.deepEqual(await tcpProbe(lab, west, '10.10.0.2', 6379, { send: 'PING\r\n' }), {
      ok: true,
      data: 'west\n',
    });
    const fromWest = await lab.exec(west, 'redis-cli', ['-h', '10.10.0.2', '-p', '6379', 'ping'], {
      timeoutMs: 5000,
    });
    assert.notEqual(fromWest.stdout.trim(), 'PONG');
    // Each app host reaches its own site router at 10.10.0.1.
    assert.deepEqual(await tcpProbe(lab, westApp, '10.10.0.1', 7001), { ok: true, data: 'west-site' });
    assert.equal((await tcpProbe(lab, eastApp, '10.10.0.1', 7001, { timeoutMs: 1000 })).ok, false);
  });

  it('linkDown breaks the path and linkUp restores it (site side and hub side)', async () => {
    await lab.linkDown(west, 'wan');
    const down = await tcpProbe(lab, west, '100.64.1.1', 7000, { timeoutMs: 1000 });
    assert.equal(down.ok, false);
    await lab.linkUp(west, 'wan'); // re-installs west's default route, which the kernel dropped
    await waitFor(async () => (await tcpProbe(lab, west, '100.64.1.1', 7000, { timeoutMs: 500 })).ok, {
      what: 'west → hub after linkUp',
    });

    await lab.linkDown(hub, 'east');
    assert.deepEqual(await tcpProbe(lab, east, '100.64.2.1', 7000, { timeoutMs: 1000 }), {
      ok: false,
      error: 'ETIMEDOUT',
    });
    await lab.linkUp(hub, 'east');
    await waitFor(async () => (await tcpProbe(lab, east, '100.64.2.1', 7000, { timeoutMs: 500 })).ok, {
      what: 'east → hub after linkUp on the hub',
    });
  });

  it('destroy() removes every namespace and process', async () => {
    const procs = lab.processes;
    assert.ok(procs.length >= 4, `expected running servers, got ${procs.length}`);
    const pids = procs.map((p) => p.pid ?? 0);
    const marker = join(MARKER_DIR, `${lab.prefix}.json`);
    assert.ok(existsSync(marker));

    await lab.destroy();
    await lab.destroy(); // idempotent

    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith(lab.prefix)),
      [],
      'no namespace with the lab prefix',
    );
    assert.ok(!existsSync(marker), 'marker removed');
    assert.deepEqual(
      pids.filter((p) => alive(p)),
      [],
      'no spawned process alive',
    );
    assert.deepEqual(lab.processes, []);
    assert.ok(procs.every((p) => !p.running));
    assert.deepEqual(childPids(), [], 'no child process of the test remains');
    await assert.rejects(lab.addHost('late'), /destroyed/);
  });
});
