/**
 * Prometheus metrics of real routers: after exactly 5 TCP flows of known sizes through two routers, the counters
 * moved by exactly the right amounts (flows opened/closed per key, bytes per direction); the link-up gauge; a
 * flow to a refused target counted under its error code; the admin API serves the same text.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseExposition } from '../../src/observe/metrics.js';
import { spawnManaged, stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

/** Reads the request until FIN, then answers with twice as many bytes and closes. */
function doublingServer(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('end', () => s.end(Buffer.alloc(2 * n, 7)));
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}

function flow(port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = 0;
    c.on('connect', () => c.end(Buffer.alloc(size, 1)));
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('end', () => {
      c.end();
      resolve(got);
    });
    c.on('error', reject);
  });
}

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      })
      .on('error', reject);
  });
}

describe('metrics', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let west: TestSite;
  let echo: Awaited<ReturnType<typeof doublingServer>>;
  let echoPort: number;
  let refusedPort: number;
  let westMetrics: string;

  before(async () => {
    root = await makeTempRoot('metrics');
    echo = await doublingServer();
    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: '127.0.0.1', port: 0 } });
    await hub.addConnector({ name: 'echo', port: echo.port });
    await hub.addConnector({ name: 'closed', port: await freePort() });
    spawnManaged(process.execPath, [...hub.routerArgs(), '--console-port', '0'], { label: 'router-hub' });
    const hs = await hub.ready();
    west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: hs.router.linkAccess!.port }] });
    echoPort = await freePort();
    refusedPort = await freePort();
    await west.addListener({ name: 'echo', port: echoPort });
    await west.addListener({ name: 'closed', port: refusedPort });
    spawnManaged(process.execPath, [...west.routerArgs(), '--console-port', '0'], { label: 'router-west' });
    await west.ready();
    await west.seesKey('echo');
    await west.seesKey('closed');
    const st = await west.status();
    assert.match(st.router.console?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(st.router.console?.auth, false, 'loopback: no credentials');
    westMetrics = `${st.router.console!.url}metrics`;
  });

  after(async () => {
    await stopAllProcesses();
    echo?.server.close();
    await root?.remove();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    const r = await get(westMetrics);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    return parseExposition(r.body);
  };

  test('5 TCP flows of known sizes move the flow and byte counters by exactly that much', async () => {
    const before = await scrape();
    const sizes = [1000, 2000, 3000, 4000, 5000];
    for (const s of sizes) assert.equal(await flow(echoPort, s), 2 * s);
    const k = '{routing_key="echo",listener="echo"}';
    const m = await waitFor(
      async () => {
        const x = await scrape();
        return (x.get(`caravan_flows_closed_total${k}`) ?? 0) -
          (before.get(`caravan_flows_closed_total${k}`) ?? 0) ===
          5
          ? x
          : undefined;
      },
      { what: '5 flows closed in the metrics', timeoutMs: 10_000 },
    );
    const delta = (name: string): number => (m.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(delta(`caravan_flows_opened_total${k}`), 5);
    assert.equal(delta(`caravan_flows_closed_total${k}`), 5);
    assert.equal(m.get(`caravan_flows_active${k}`), 0);
    assert.equal(delta(`caravan_flow_bytes_out_total${k}`), 15_000, 'client to server');
    assert.equal(delta(`caravan_flow_bytes_in_total${k}`), 30_000, 'server to client');
    assert.equal(m.get(`caravan_link_up{link="to-hub",neighbor="${hub.routerId}"}`), 1);
    assert.equal(m.get(`caravan_link_cost{link="to-hub",neighbor="${hub.routerId}"}`), 1);
    assert.ok((m.get('caravan_routing_spf_runs_total') ?? 0) > 0);
    // the egress side counts the same flows per connector
    const hubUrl = (await hub.status()).router.console!.url;
    const hm = parseExposition((await get(`${hubUrl}metrics`)).body);
    assert.equal(hm.get('caravan_connector_flows_total{routing_key="echo",connector="echo"}'), 5);
    assert.equal(hm.get('caravan_connector_bytes_in_total{routing_key="echo",connector="echo"}'), 15_000);
    assert.equal(hm.get('caravan_connector_bytes_out_total{routing_key="echo",connector="echo"}'), 30_000);
    // RTT is measured on the link once keepalives ran
    await waitFor(
      async () => (await scrape()).has(`caravan_link_rtt_seconds{link="to-hub",neighbor="${hub.routerId}"}`),
      {
        what: 'a link RTT in the metrics',
        timeoutMs: 15_000,
      },
    );
  });

  test('a flow to a refused target is counted under its error code, and recorded', async () => {
    const before = await scrape();
    await new Promise<void>((resolve) => {
      const c = net.connect({ port: refusedPort, host: '127.0.0.1' });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.resume();
    });
    const code = 'CARAVAN_TARGET_REFUSED';
    const m = await waitFor(
      async () => {
        const x = await scrape();
        return (x.get(`caravan_flow_errors_total{code="${code}"}`) ?? 0) >
          (before.get(`caravan_flow_errors_total{code="${code}"}`) ?? 0)
          ? x
          : undefined;
      },
      { what: `a ${code} error in the metrics`, timeoutMs: 15_000 },
    );
    assert.equal(
      (m.get(`caravan_flow_errors_total{code="${code}"}`) ?? 0) -
        (before.get(`caravan_flow_errors_total{code="${code}"}`) ?? 0),
      1,
    );
    const k = '{routing_key="closed",listener="closed"}';
    assert.equal(m.get(`caravan_flows_opened_total${k}`), 1);
    assert.equal(m.get(`caravan_flows_closed_total${k}`), 1);
    const { flows } = await west.admin().flows({ service: 'closed' });
    assert.equal(flows.length, 1);
    assert.equal(flows[0]!.outcome, code);
    assert.equal(flows[0]!.sourceSite, west.routerId);
    assert.ok(flows[0]!.endedAt);
  });

  test('the admin API serves the same metrics as text', async () => {
    const text = await west.admin().metrics();
    assert.match(text, /^# TYPE caravan_flows_opened_total counter$/m);
    assert.match(text, /^caravan_flows_opened_total\{routing_key="echo",listener="echo"\} 5$/m);
  });
});
