/**
 * The public ports of a real router against clients that never authenticate: a flood of TCP connections to the
 * link port that never start TLS is capped (per source address and in total), every held one is closed at the
 * (shortened) handshake deadline, refusals are counted in /metrics and logged in summaries, RSS stays bounded, and
 * a real link comes up while the flood goes on. A router started with a tiny file-descriptor limit (prlimit) and
 * flooded until accept fails with EMFILE stays up and serves again once the flood is gone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseExposition } from '../../src/observe/metrics.js';
import { spawnManaged, stopAllProcesses, type ManagedProcess } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

interface Got {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      // an event stream never ends: its status and headers are enough
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers });
        req.destroy();
        return;
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
  });
}

/** One TCP round trip: sends `text`, half-closes, resolves with what came back. */
function echoOnce(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    c.on('connect', () => c.end(text));
    c.on('data', (d: Buffer) => (got += d.toString('utf8')));
    c.on('end', () => {
      c.end();
      resolve(got);
    });
    c.on('error', reject);
  });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/**
 * Connections that never send a byte, from `localAddress`; each records when it was closed by the server. Keeps
 * `target` connections open by reopening closed ones until `stop()`.
 */
class Flood {
  readonly sockets = new Set<net.Socket>();
  opened = 0;
  closed = 0;
  /** ms from connect to the server's close, for connections the server held */
  readonly heldMs: number[] = [];
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly localAddress: string,
    private readonly target: number,
    private readonly reopen = true,
  ) {
    for (let i = 0; i < target; i++) this.open();
  }

  private open(): void {
    if (this.stopped) return;
    this.opened++;
    const s = net.connect({ port: this.port, host: '127.0.0.1', localAddress: this.localAddress });
    let connectedAt = 0;
    s.on('connect', () => (connectedAt = Date.now()));
    s.on('error', () => undefined);
    s.on('close', () => {
      this.sockets.delete(s);
      this.closed++;
      if (connectedAt > 0) this.heldMs.push(Date.now() - connectedAt);
      // paced, so that the flood keeps the caps busy without eating the machine's CPU
      if (this.reopen) setTimeout(() => this.open(), 250);
    });
    this.sockets.add(s);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
  }
}

async function scrape(url: string): Promise<Map<string, number>> {
  const r = await get(url);
  assert.equal(r.status, 200);
  return parseExposition(r.body);
}

const refusedKey = (server: string, reason: string): string =>
  `caravan_connections_refused_total{server="${server}",reason="${reason}"}`;

describe('public ports under a flood of unauthenticated connections', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let hubProc: ManagedProcess;
  let linkPort: number;
  let metricsUrl: string;
  let consoleUrl: string;
  let echo: net.Server;
  let echoListen: number;

  before(async () => {
    root = await makeTempRoot('ports');
    echo = net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.on('error', () => undefined);
      sock.on('data', (d) => sock.write(d));
      sock.on('end', () => sock.end());
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoListen = await freePort();
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
      spec: { limits: { handshakeTimeoutMs: 1500, maxHandshakes: 100, maxHandshakesPerAddress: 40 } },
    });
    await hub.addConnector({ name: 'echo', port: (echo.address() as net.AddressInfo).port });
    await hub.addListener({ name: 'echo', port: echoListen });
    hubProc = spawnManaged(process.execPath, [...hub.routerArgs(), '--console-port', '0'], {
      label: 'router-hub',
    });
    const hs = await hub.ready();
    linkPort = hs.router.linkAccess!.port;
    consoleUrl = hs.router.console!.url;
    metricsUrl = `${consoleUrl}metrics`;
  });

  after(async () => {
    await stopAllProcesses();
    echo?.close();
    await root?.remove();
  });

  test('connections that never handshake are capped, closed at the deadline and counted; a real link still comes up', async () => {
    const pid = hubProc.pid!;
    const rssBefore = rssKb(pid);
    const linesBefore = (hubProc.output.match(/link refused/g) ?? []).length;
    // 120 silent connections from 127.0.0.2, each reopened soon after the router closed it
    const flood = new Flood(linkPort, '127.0.0.2', 120);
    try {
      const m = await waitFor(
        async () => {
          const x = await scrape(metricsUrl);
          return (x.get(refusedKey('link', 'too_many_from_address')) ?? 0) >= 100 &&
            (x.get(refusedKey('link', 'handshake_timeout')) ?? 0) >= 40
            ? x
            : undefined;
        },
        { what: 'refusals by the per-address cap and by the handshake deadline', timeoutMs: 20_000 },
      );
      assert.ok((m.get('caravan_connections_handshaking{server="link"}') ?? Infinity) <= 40);
      // the ones the router held were closed at the deadline (1.5 s), not at Node's 120 s
      const held = flood.heldMs.filter((ms) => ms >= 1000);
      assert.ok(held.length >= 40, `connections held until the deadline: ${held.length}`);
      assert.ok(Math.max(...held) < 6000, `longest held connection: ${Math.max(...held)} ms`);

      // a legitimate site links while the flood goes on
      const west = await TestSite.create(root.dir, { name: 'west' });
      await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
      west.start();
      await west.routesTo(['hub'], 20_000);
      await hub.routesTo(['west'], 20_000);

      const rssGrowthMb = (rssKb(pid) - rssBefore) / 1024;
      assert.ok(rssGrowthMb < 40, `RSS grew by ${rssGrowthMb.toFixed(1)} MB`);
      // hundreds of refusals, a bounded number of log lines (a few in full per 10 s, then a summary)
      const lines = (hubProc.output.match(/link refused/g) ?? []).length - linesBefore;
      const refusals =
        (m.get(refusedKey('link', 'too_many_from_address')) ?? 0) +
        (m.get(refusedKey('link', 'handshake_timeout')) ?? 0);
      assert.ok(lines <= 20, `${lines} log lines for ${refusals} refusals`);
      assert.ok(hubProc.running, 'the hub is still running');
    } finally {
      flood.stop();
    }
  });

  test('the per-router cap holds connections from many addresses at maxHandshakes', async () => {
    const floods = ['127.0.0.3', '127.0.0.4', '127.0.0.5'].map((a) => new Flood(linkPort, a, 40, false));
    try {
      const m = await waitFor(
        async () => {
          const x = await scrape(metricsUrl);
          return (x.get(refusedKey('link', 'too_many_handshakes')) ?? 0) >= 10 ? x : undefined;
        },
        { what: 'refusals by the total cap', timeoutMs: 15_000 },
      );
      assert.ok((m.get('caravan_connections_handshaking{server="link"}') ?? Infinity) <= 100);
    } finally {
      for (const f of floods) f.stop();
    }
  });

  test('the grant port and the console close silent connections at the deadline too', async () => {
    const st = await hub.status();
    const grantPort = st.router.grantServer!.port;
    const consolePort = Number(new URL(consoleUrl).port);
    const grant = new Flood(grantPort, '127.0.0.6', 5, false);
    const cons = new Flood(consolePort, '127.0.0.6', 5, false);
    try {
      await waitFor(() => grant.closed === 5 && cons.closed === 5, {
        what: 'the silent connections to be closed',
        timeoutMs: 10_000,
      });
      assert.ok(Math.max(...grant.heldMs, ...cons.heldMs) < 6000, 'closed at the 1.5 s deadline');
      const m = await scrape(metricsUrl);
      assert.ok((m.get(refusedKey('grant', 'handshake_timeout')) ?? 0) >= 5);
      assert.ok((m.get(refusedKey('console', 'handshake_timeout')) ?? 0) >= 5);
    } finally {
      grant.stop();
      cons.stop();
    }
  });

  test('the console answers only to its own host names (DNS rebinding) and forbids framing', async () => {
    const port = new URL(consoleUrl).port;
    const foreign = await get(`${consoleUrl}api/network`, { host: `rebind.attacker.example:${port}` });
    assert.equal(foreign.status, 421);
    assert.match(foreign.body, /answers to .*127\.0\.0\.1.*not to the host "rebind\.attacker\.example/);
    const metrics = await get(metricsUrl, { host: 'rebind.attacker.example' });
    assert.equal(metrics.status, 421, '/metrics is refused too');
    const events = await get(`${consoleUrl}api/events`, {
      host: `127.0.0.1:${port}`,
      origin: 'http://rebind.attacker.example',
    });
    assert.equal(events.status, 403, 'an event stream opened by a foreign page');

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const own = await get(`${consoleUrl}api/network`, { host });
      assert.equal(own.status, 200, host);
      assert.match(String(own.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.match(String(own.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(own.headers['x-frame-options'], 'DENY');
      assert.equal(own.headers['x-content-type-options'], 'nosniff');
    }
    const sameOrigin = await get(`${consoleUrl}api/events`, {
      host: `127.0.0.1:${port}`,
      origin: `http://127.0.0.1:${port}`,
    });
    assert.equal(sameOrigin.status, 200, "the console's own page opens its event stream");
    const m = await scrape(metricsUrl);
    assert.ok((m.get(refusedKey('console', 'bad_host')) ?? 0) >= 2);
    assert.ok((m.get(refusedKey('console', 'bad_origin')) ?? 0) >= 1);
  });

  test('an oversized resource file is refused with its name and the limit; the router keeps serving', async () => {
    assert.equal(await echoOnce(echoListen, 'before'), 'before');
    const big = join(hub.dir, 'resources', 'big.yaml');
    // 2 MiB of YAML comments: valid YAML, over the 1 MiB cap
    await writeFile(big, `# ${'x'.repeat(1021)}\n`.repeat(2048));
    try {
      await hubProc.waitForOutput(
        /resources not applied.*big\.yaml.*file too large \(2097152 bytes\).*1 MiB/,
        {
          timeoutMs: 15_000,
        },
      );
      const r = await hub.admin().reload();
      assert.equal(r.applied, false);
      assert.match(r.error ?? '', /resources\/big\.yaml: file too large .*limited to 1 MiB/);
      // the running configuration is untouched: the service still works, the router answers at once
      assert.equal(await echoOnce(echoListen, 'during'), 'during');
      const t0 = Date.now();
      await hub.status();
      assert.ok(Date.now() - t0 < 2000, 'the router answers without delay');
    } finally {
      await unlink(big);
    }
    // gone again: the next change applies
    await hub.addConnector({ name: 'after', port: (echo.address() as net.AddressInfo).port });
    await hub.seesKey('after');
    assert.equal(await echoOnce(echoListen, 'after'), 'after');
  });

  test('changed limits apply while the router runs', async () => {
    const before = (await scrape(metricsUrl)).get(refusedKey('link', 'too_many_from_address')) ?? 0;
    // the Site resource TestSite wrote, with a per-address cap of 2
    await hub.writeResource('Site', 'hub', {
      mode: 'interior',
      routing: { helloIntervalMs: 100, deadIntervalMs: 1000 },
      linkAccess: { grantPort: 0, host: '127.0.0.1', port: 0 },
      limits: { handshakeTimeoutMs: 1500, maxHandshakes: 100, maxHandshakesPerAddress: 2 },
    });
    await hubProc.waitForOutput(/limits of the link port now .*maxHandshakesPerAddress\W{1,4}2/, {
      timeoutMs: 15_000,
    });
    const flood = new Flood(linkPort, '127.0.0.7', 5, false);
    try {
      await waitFor(
        async () =>
          ((await scrape(metricsUrl)).get(refusedKey('link', 'too_many_from_address')) ?? 0) >= before + 3,
        { what: 'three of five refused by the new cap', timeoutMs: 10_000 },
      );
    } finally {
      flood.stop();
    }
  });
});

describe('a router out of file descriptors', () => {
  let root: { dir: string; remove: () => Promise<void> };

  before(async () => {
    root = await makeTempRoot('emfile');
  });

  after(async () => {
    await stopAllProcesses();
    await root?.remove();
  });

  test('survives running out of file descriptors, pauses accepting, and serves again once they are free', async () => {
    const hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
      // caps out of the way: the flood must exhaust descriptors, not hit the caps
      spec: {
        limits: { handshakeTimeoutMs: 3000, maxHandshakes: 100_000, maxHandshakesPerAddress: 100_000 },
      },
    });
    // a limit just above what the router needs to start: a few hundred connections exhaust it
    const proc = spawnManaged(
      'prlimit',
      ['--nofile=128:128', '--', process.execPath, ...hub.routerArgs(), '--console-port', '0'],
      { label: 'router-hub-lowfd' },
    );
    const hs = await hub.ready();
    const linkPort = hs.router.linkAccess!.port;
    const metricsUrl = `${hs.router.console!.url}metrics`;
    const before = await scrape(metricsUrl);
    assert.equal(before.get('process_max_fds'), 128, 'the limit the router sees');

    const flood = new Flood(linkPort, '127.0.0.2', 400, false);
    try {
      await proc.waitForOutput(/out of file descriptors/, { timeoutMs: 15_000 });
      // the held connections reach their handshake deadline: descriptors come back, the router says so
      await proc.waitForOutput(/accepting connections again/, { timeoutMs: 15_000 });
    } finally {
      flood.stop();
    }
    // still alive, and serving again: its admin API, its metrics, and a real link
    await waitFor(() => proc.running && hub.status().then(() => true), {
      what: 'the router to answer after the flood',
      timeoutMs: 15_000,
    });
    const m = await scrape(metricsUrl);
    assert.ok((m.get('caravan_fd_exhausted_total') ?? 0) >= 1, 'the episode is counted');
    assert.ok((m.get('process_open_fds') ?? Infinity) < 100, 'descriptors were given back');
    const west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    west.start();
    await hub.routesTo(['west'], 30_000);
    assert.ok(proc.running, 'the hub never exited');
    assert.match(proc.output, /accepting connections again/);
  });
});
