/**
 * The web console against real routers: three router processes on 127.0.0.1 (hub accepts links; west, an edge,
 * has a listener; east, an interior, has the connector), TCP traffic through them, and the console served by the
 * hub's own console server (`--console-port`, HTTP Basic credentials from the Site spec), driven by headless
 * Chromium. Checks topology, services, flows (with byte counts) and traffic, then stops east and waits for its
 * link to turn red/down in the page. Screenshots land in test-output/console/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  chromiumPath,
  launchConsoleBrowser,
  type ConsoleBrowser,
} from '../support/browser.js';
import type { TrafficSample } from '../../src/observe/model.js';
import { consoleDistDir } from '../support/fake-console-api.js';
import { spawnManaged, stopAllProcesses, testOutputDir, type ManagedProcess } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { skipUnless } from '../support/skip.js';

const KEY = 'console-echo';
const SEND = 300_000;
const REPLY = 1_000_000;
const CREDS = { username: 'viewer', password: 'console-e2e-pw' };
const HELLO_MS = 100;

const skip = skipUnless(chromiumAvailable(), `no Chromium at ${chromiumPath} (apt-get install chromium)`);
const shots = testOutputDir('console');

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `e2e-${name}.png`) });
}

/** Reads `SEND` bytes-until-FIN from each client, then answers with `REPLY` bytes and closes. */
function replyServer(): Promise<{ server: net.Server; port: number }> {
  const reply = randomBytes(REPLY);
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', () => undefined);
      s.on('end', () => s.end(reply));
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}

/** One TCP flow through the listener: sends SEND bytes, half-closes, reads the reply; resolves with its length. */
function oneFlow(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = 0;
    c.on('connect', () => c.end(randomBytes(SEND)));
    c.on('data', (d: Buffer) => (got += d.length));
    c.on('end', () => {
      c.destroy();
      resolve(got);
    });
    c.on('error', reject);
  });
}

const linkIdOf = (a: string, b: string): string => (a < b ? `${a}--${b}` : `${b}--${a}`);

describe('web console served by a real router (3 sites)', { skip, timeout: 240_000 }, () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let backend: Awaited<ReturnType<typeof replyServer>>;
  let hub: TestSite;
  let west: TestSite;
  let east: TestSite;
  let eastProc: ManagedProcess;
  let ids: { hub: string; west: string; east: string };
  let consoleUrl: string;
  let listenPort: number;
  let browser: ConsoleBrowser;
  let page: Page;

  before(async () => {
    assert.ok(
      existsSync(join(consoleDistDir, 'index.html')),
      `the console is not built (${consoleDistDir}/index.html missing): run npm run build`,
    );
    root = await makeTempRoot('console');
    backend = await replyServer();

    const linkPort = await freePort();
    hub = await TestSite.create(root.dir, { name: 'hub', linkAccess: { host: '127.0.0.1', port: linkPort } });
    // the same Site resource TestSite writes, plus console credentials (the port comes from --console-port 0)
    await hub.writeResource('Site', 'hub', {
      mode: 'interior',
      routing: { helloIntervalMs: HELLO_MS, deadIntervalMs: HELLO_MS * 3 },
      linkAccess: { grantPort: 0, host: '127.0.0.1', port: linkPort },
      console: { host: '127.0.0.1', port: 0, ...CREDS },
    });
    spawnManaged(process.execPath, [...hub.routerArgs(), '--console-port', '0'], { label: 'router-hub' });
    const hs = await hub.ready();

    west = await TestSite.create(root.dir, { name: 'west', mode: 'edge' });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    listenPort = await freePort();
    await west.addListener({ name: KEY, port: listenPort });
    west.start();

    east = await TestSite.create(root.dir, { name: 'east' });
    await east.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }], cost: 3 });
    await east.addConnector({ name: KEY, port: backend.port });
    eastProc = east.start();

    const [ws, es] = await Promise.all([west.ready(), east.ready()]);
    ids = { hub: hs.router.id, west: ws.router.id, east: es.router.id };
    await west.seesKey(KEY, 1, 20_000);

    const st = await waitFor(async () => (await hub.status()).router.console?.url, {
      what: 'the hub to report its console URL',
      timeoutMs: 15_000,
    });
    consoleUrl = st;
    browser = await launchConsoleBrowser({ httpCredentials: CREDS });
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await stopAllProcesses();
    backend?.server.close();
    await root?.remove();
  });

  test('the console API needs the credentials', async () => {
    const res = await fetch(new URL('api/network', consoleUrl));
    assert.equal(res.status, 401);
    const ok = await fetch(new URL('api/network', consoleUrl), {
      headers: {
        authorization: `Basic ${Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64')}`,
      },
    });
    assert.equal(ok.status, 200);
  });

  test('topology shows the three sites and their links, live', async () => {
    await page.goto(`${consoleUrl}#/topology`);
    await page.locator('[data-testid="conn-status"][data-state="live"]').waitFor({ timeout: 20_000 });
    for (const id of Object.values(ids)) {
      await page.locator(`[data-testid="topology"] [data-testid="site-${id}"]`).waitFor({ timeout: 20_000 });
    }
    assert.equal(await page.locator('[data-testid="topology"] [data-testid^="site-"]').count(), 3);
    assert.equal(await page.getByTestId(`site-${ids.west}`).getAttribute('data-mode'), 'edge');
    assert.equal(await page.getByTestId(`site-${ids.east}`).getAttribute('data-mode'), 'interior');
    for (const other of [ids.west, ids.east]) {
      await page
        .locator(`[data-testid="link-${linkIdOf(ids.hub, other)}"][data-state="up"]`)
        .waitFor({ timeout: 20_000 });
    }
    assert.equal(
      await page.locator(`[data-testid="link-${linkIdOf(ids.hub, ids.east)}"] text.cost`).textContent(),
      '3',
      'the cost label shows the link cost',
    );
    await page.getByTestId(`site-${ids.east}`).hover();
    const details = page.getByTestId('site-details');
    await details.waitFor();
    assert.equal(await details.getByTestId('detail-mode').textContent(), 'interior');
    assert.ok(((await details.textContent()) ?? '').includes('east'));
    await screenshot(page, 'topology');
  });

  test('a TCP flow shows up under Services and Flows with its byte counts, and in Traffic', async () => {
    const got = await oneFlow(listenPort);
    assert.equal(got, REPLY, 'the client got the whole reply through the network');
    // more flows until the console's traffic samples (one per sampling period) carry the service
    const authorization = `Basic ${Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64')}`;
    await waitFor(
      async () => {
        await oneFlow(listenPort);
        const res = await fetch(new URL('api/traffic', consoleUrl), { headers: { authorization } });
        const samples = (await res.json()) as TrafficSample[]; // the console answers the samples as a list
        return samples.some((x) => (x.services[KEY] ?? 0) > 0);
      },
      { what: 'a traffic sample with the service', timeoutMs: 30_000, intervalMs: 300 },
    );

    await page.goto(`${consoleUrl}#/services`);
    const row = page.getByTestId(`service-${KEY}`);
    await row.waitFor({ timeout: 20_000 });
    await row.locator(`[data-testid="service-listeners"] [data-site="${ids.west}"]`).waitFor();
    await row.locator(`[data-testid="service-connectors"] [data-site="${ids.east}"]`).waitFor();
    assert.equal(await row.getAttribute('data-matched'), 'true');
    await screenshot(page, 'services');

    await page.goto(`${consoleUrl}#/flows?service=${KEY}`);
    const flow = page.locator(
      `[data-testid="flow-row"][data-service="${KEY}"][data-bytes-out="${SEND}"][data-bytes-in="${REPLY}"]`,
    );
    try {
      await flow.first().waitFor({ timeout: 20_000 });
    } catch (err) {
      const rows = await page
        .getByTestId('flow-row')
        .evaluateAll((els) =>
          els.map(
            (e) =>
              `${e.getAttribute('data-service')} out=${e.getAttribute('data-bytes-out')} in=${e.getAttribute('data-bytes-in')} ${e.getAttribute('data-outcome')}`,
          ),
        );
      await screenshot(page, 'flows-failed');
      throw new Error(`no flow row with ${SEND}/${REPLY} bytes; rows: ${rows.join('; ')}`, { cause: err });
    }
    assert.ok((await flow.count()) >= 1);
    const first = flow.first();
    await page
      .locator(`[data-testid="flow-row"][data-service="${KEY}"][data-outcome="ok"]`)
      .first()
      .waitFor({ timeout: 20_000 });
    const text = (await first.textContent()) ?? '';
    assert.ok(text.includes('west') && text.includes('east'), `the row names both sites: ${text}`);
    await screenshot(page, 'flows');

    await page.goto(`${consoleUrl}#/traffic`);
    await page.locator('[data-testid="traffic-services-chart"] canvas').first().waitFor({ timeout: 20_000 });
    await page
      .locator(`[data-testid="traffic-services-table"] tr[data-key="${KEY}"]`)
      .waitFor({ timeout: 20_000 });
    await screenshot(page, 'traffic');
  });

  test('stopping the router at the other end of a link turns that link red/down in the page', async () => {
    await page.goto(`${consoleUrl}#/topology`);
    const id = linkIdOf(ids.hub, ids.east);
    await page.locator(`[data-testid="link-${id}"][data-state="up"]`).waitFor({ timeout: 20_000 });
    await page.evaluate('window.__caravanMark = 7');
    const stoppedAt = Date.now();
    await eastProc.stop();
    await page.locator(`[data-testid="link-${id}"][data-state="down"]`).waitFor({ timeout: 15_000 });
    const took = Date.now() - stoppedAt;
    assert.equal(
      await page.evaluate('window.__caravanMark'),
      7,
      'no reload: the change arrived over the event stream',
    );
    assert.equal(
      await page.getByTestId(`link-${linkIdOf(ids.hub, ids.west)}`).getAttribute('data-state'),
      'up',
      'the other link stays up',
    );
    await page.mouse.move(2, 2);
    await screenshot(page, 'topology-link-down');
    assert.ok(took < 15_000, `down within ${took} ms`);
  });

  test('the page runs under its Content-Security-Policy; a page under a foreign name is refused', async () => {
    await page.goto(`${consoleUrl}#/topology`);
    const res = await page.reload();
    assert.match(res?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(res?.headers()['x-frame-options'], 'DENY');
    await page.locator('[data-testid^="link-"]').first().waitFor();
    const violations = browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e));
    assert.deepEqual(violations, [], 'no resource of the console is blocked by its own policy');
    // Chromium resolves every *.localhost name to the loopback address: the same request a page would make
    // after DNS rebinding, with a Host the console does not serve
    const port = new URL(consoleUrl).port;
    const foreign = await page.goto(`http://rebind.localhost:${port}/api/network`);
    assert.equal(foreign?.status(), 421);
    assert.match((await foreign?.text()) ?? '', /Misdirected Request/);
  });
});
