/**
 * The web console against the fake console API (test/support/fake-console-api.ts): a 300-site network, every page
 * rendered in headless Chromium, live Server-Sent Event updates without reloads, reconnects, Basic auth.
 * Screenshots land in test-output/console/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  chromiumPath,
  launchConsoleBrowser,
  type ConsoleBrowser,
} from '../support/browser.js';
import { consoleDistDir, FakeConsoleApi, makeNetwork, trafficSample } from '../support/fake-console-api.js';
import { testOutputDir } from '../support/proc.js';
import type { FlowRecord } from '../../src/observe/model.js';
import { skipUnless } from '../support/skip.js';

const built = existsSync(join(consoleDistDir, 'index.html'));
// a console that was not built fails loudly below: `npm run build` builds it
const skip = skipUnless(chromiumAvailable(), `no Chromium at ${chromiumPath} (apt-get install chromium)`);

const shots = testOutputDir('console');

interface CSSProps {
  stroke: string;
  strokeDasharray: string;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `fake-${name}.png`), fullPage: false });
}

/** Marks the window so a reload (which would lose the mark) is detected. */
async function markNoReload(page: Page): Promise<void> {
  await page.evaluate('window.__caravanMark = 42');
}

async function assertNoReload(page: Page): Promise<void> {
  const mark = await page.evaluate('window.__caravanMark');
  assert.equal(mark, 42, 'the page was not reloaded');
}

describe('web console with the fake API (300 sites)', { skip, timeout: 180_000 }, () => {
  let api: FakeConsoleApi;
  let browser: ConsoleBrowser;
  let page: Page;
  const data = makeNetwork({ sites: 300, now: Date.now() });

  before(async () => {
    assert.ok(built, `the console is not built (${consoleDistDir}/index.html missing): run npm run build`);
    api = await FakeConsoleApi.start({ data });
    browser = await launchConsoleBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await api?.close();
  });

  test('topology shows every site and link, edges drawn differently, details on hover', async () => {
    const t0 = Date.now();
    await page.goto(`${api.url}#/topology`);
    const nodes = page.locator('[data-testid="topology"] [data-testid^="site-"]');
    await page.waitForFunction(
      `document.querySelectorAll('[data-testid="topology"] [data-testid^="site-"]').length === 300`,
    );
    const renderMs = Date.now() - t0;
    assert.equal(await nodes.count(), 300);
    assert.ok(renderMs < 15_000, `300 sites rendered in ${renderMs} ms`);
    assert.equal(
      await page.locator('[data-testid="topology"] [data-testid^="link-"]').count(),
      data.network.links.length,
    );
    assert.equal(await page.getByTestId('site-count').textContent(), '300');
    // interiors are circles, edges are diamonds (rects)
    assert.equal((await page.locator('[data-testid="site-hub-00"] > circle').count()) >= 1, true);
    assert.equal(await page.locator('[data-testid="site-edge-000"] > rect').count(), 1);
    assert.equal(await page.locator('[data-testid="site-edge-000"]').getAttribute('data-mode'), 'edge');
    await page.getByTestId('conn-status').and(page.locator('[data-state="live"]')).waitFor();

    await page.locator('[data-testid="site-edge-007"]').hover();
    const details = page.getByTestId('site-details');
    await details.waitFor();
    const site = data.network.sites.find((s) => s.id === 'edge-007')!;
    const text = (await details.textContent()) ?? '';
    for (const want of [site.name, site.mode, site.platform, site.version]) {
      assert.ok(text.includes(want), `details show ${want}: ${text}`);
    }
    // neighbour links show their cost labels when focused
    const someLink = data.network.links.find((l) => l.from === 'edge-007' || l.to === 'edge-007')!;
    assert.equal(
      await page.locator(`[data-testid="link-${someLink.id}"] text.cost`).textContent(),
      String(someLink.cost),
    );
    await screenshot(page, 'topology-details');
    await page.mouse.move(5, 5);
    await screenshot(page, 'topology');
  });

  test('a link going down arrives over SSE and turns red and dashed without a reload', async () => {
    await page.goto(`${api.url}#/topology`);
    await page.getByTestId('conn-status').and(page.locator('[data-state="live"]')).waitFor();
    await markNoReload(page);
    const link = data.network.links.find((l) => l.from.startsWith('hub-') && l.to.startsWith('hub-'))!;
    const el = page.getByTestId(`link-${link.id}`);
    assert.equal(await el.getAttribute('data-state'), 'up');
    api.setLinkState(link.id, 'down');
    await page.locator(`[data-testid="link-${link.id}"][data-state="down"]`).waitFor({ timeout: 10_000 });
    const style = await el.locator('line').evaluate((line: unknown) => {
      const cs = (globalThis as unknown as { getComputedStyle(e: unknown): CSSProps }).getComputedStyle(line);
      return { stroke: cs.stroke, dash: cs.strokeDasharray };
    });
    assert.equal(style.stroke, 'rgb(220, 38, 38)', 'down links are red');
    assert.notEqual(style.dash, 'none', 'down links are dashed');
    await assertNoReload(page);
    await screenshot(page, 'topology-link-down');
    api.setLinkState(link.id, 'up');
    await page.locator(`[data-testid="link-${link.id}"][data-state="up"]`).waitFor({ timeout: 10_000 });
  });

  test('services list routing keys, where listeners and connectors are, matched badges and rates', async () => {
    await page.goto(`${api.url}#/services`);
    await page.getByTestId('services-table').waitFor();
    assert.equal(
      await page.locator('[data-testid^="service-"][data-matched]').count(),
      data.network.services.length,
    );
    const db = data.network.services.find((s) => s.routingKey === 'db')!;
    const row = page.getByTestId('service-db');
    assert.equal(await row.getAttribute('data-matched'), String(db.matched));
    for (const l of db.listeners)
      assert.equal(await row.locator(`[data-testid="service-listeners"] [data-site="${l.site}"]`).count(), 1);
    for (const c of db.connectors)
      assert.equal(
        await row.locator(`[data-testid="service-connectors"] [data-site="${c.site}"]`).count(),
        1,
      );
    const unmatched = data.network.services.find((s) => !s.matched)!;
    assert.equal(
      await page.getByTestId(`service-${unmatched.routingKey}`).getByTestId('service-status').textContent(),
      'unmatched',
    );
    assert.match((await row.getByTestId('service-bytes-rate').textContent()) ?? '', /\/s$/);
    await screenshot(page, 'services');
  });

  test('traffic charts are drawn and follow SSE traffic samples', async () => {
    await page.goto(`${api.url}#/traffic`);
    await page.locator('[data-testid="traffic-services-chart"] canvas').waitFor();
    await page.locator('[data-testid="traffic-pairs-chart"] canvas').waitFor();
    await markNoReload(page);
    const last = api.traffic[api.traffic.length - 1]!;
    const sample = trafficSample(api.network, last.t + 2000);
    sample.services['brand-new-key'] = 123_456_789;
    api.pushTraffic(sample);
    const rowLoc = page.locator('[data-testid="traffic-services-table"] tr[data-key="brand-new-key"]');
    await rowLoc.waitFor({ timeout: 10_000 });
    assert.match((await rowLoc.textContent()) ?? '', /118 MiB\/s/);
    await assertNoReload(page);
    await screenshot(page, 'traffic');
  });

  test('flows table: rows, filter by service and site, live flows over SSE', async () => {
    await page.goto(`${api.url}#/flows`);
    await page.getByTestId('flows-table').waitFor();
    assert.ok((await page.getByTestId('flow-row').count()) >= 100);
    await markNoReload(page);

    await page.getByTestId('flow-filter-service').selectOption('db');
    await page.waitForFunction(`location.hash.includes('service=db')`);
    const services = await page
      .getByTestId('flow-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service')));
    assert.ok(
      services.length > 0 && services.every((s) => s === 'db'),
      `only db flows: ${services.join(',')}`,
    );
    const dbFlow = data.flows.find((f) => f.routingKey === 'db')!;
    await page.getByTestId('flow-filter-site').selectOption(dbFlow.sourceSite);
    await page.waitForFunction(`location.hash.includes('site=')`);
    assert.ok((await page.locator(`[data-flow-id="${dbFlow.id}"]`).count()) === 1);
    assert.ok(
      api.requests.some((r) => r.startsWith('GET /api/flows?') && r.includes('service=db')),
      'asked the router for filtered flows',
    );

    const now = Date.now();
    const fresh: FlowRecord = {
      id: 'fresh-flow-1',
      routingKey: 'db',
      protocol: 'tcp',
      sourceSite: dbFlow.sourceSite,
      listener: 'db',
      clientAddress: '127.0.0.1:61000',
      destSite: dbFlow.destSite,
      connector: 'db',
      targetAddress: '10.0.0.7:5432',
      startedAt: new Date(now).toISOString(),
      bytesOut: 1234,
      bytesIn: 567_890,
      outcome: 'active',
    };
    api.pushFlows([fresh]);
    const row = page.locator('[data-flow-id="fresh-flow-1"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(
      await page.getByTestId('flow-row').first().getAttribute('data-flow-id'),
      'fresh-flow-1',
      'newest first',
    );
    assert.equal(await row.getAttribute('data-outcome'), 'active');
    api.pushFlows([{ ...fresh, endedAt: new Date(now + 1500).toISOString(), outcome: 'ok', bytesOut: 2000 }]);
    await page.locator('[data-flow-id="fresh-flow-1"][data-outcome="ok"]').waitFor({ timeout: 10_000 });
    const cells = await row.locator('td').allTextContents();
    assert.ok(cells.includes('1.50 s'), `duration shown: ${cells.join(' | ')}`);
    assert.equal(await row.getAttribute('data-bytes-out'), '2000');
    assert.equal(await row.getAttribute('data-bytes-in'), '567890');
    await assertNoReload(page);
    await page.goto(`${api.url}#/flows`);
    await page.getByTestId('flows-table').waitFor();
    await screenshot(page, 'flows');
  });

  test('the event stream reconnects by itself and the indicator shows it', async () => {
    await page.goto(`${api.url}#/topology`);
    const conn = page.getByTestId('conn-status');
    await page.locator('[data-testid="conn-status"][data-state="live"]').waitFor();
    await markNoReload(page);
    api.dropEventClients();
    await page.waitForFunction(
      `document.querySelector('[data-testid="conn-status"]')?.getAttribute('data-state') !== 'live'`,
      undefined,
      { timeout: 10_000, polling: 20 },
    );
    await page.locator('[data-testid="conn-status"][data-state="live"]').waitFor({ timeout: 15_000 });
    assert.ok(api.eventClients >= 1);
    const link = data.network.links[data.network.links.length - 1]!;
    api.setLinkState(link.id, 'down');
    await page.locator(`[data-testid="link-${link.id}"][data-state="down"]`).waitFor({ timeout: 10_000 });
    api.setLinkState(link.id, 'up');
    await assertNoReload(page);
    assert.equal(await conn.getAttribute('data-state'), 'live');
    const pageErrors = browser.errors.filter((e) => e.startsWith('pageerror'));
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
});

describe('web console behind HTTP Basic auth', { skip, timeout: 120_000 }, () => {
  test('loads with credentials; the API refuses without', async () => {
    const auth = { username: 'admin', password: 's3cret:pw' };
    const api = await FakeConsoleApi.start({ data: makeNetwork({ sites: 5, services: 3, flows: 5 }), auth });
    const browser = await launchConsoleBrowser({ httpCredentials: auth });
    try {
      const res = await fetch(`${api.url}api/network`);
      assert.equal(res.status, 401);
      await browser.page.goto(`${api.url}#/topology`);
      await browser.page.locator('[data-testid="conn-status"][data-state="live"]').waitFor();
      assert.equal(await browser.page.locator('[data-testid="topology"] [data-testid^="site-"]').count(), 5);
      api.setLinkState(api.network.links[0]!.id, 'down');
      await browser.page
        .locator(`[data-testid="link-${api.network.links[0]!.id}"][data-state="down"]`)
        .waitFor();
    } finally {
      await browser.close();
      await api.close();
    }
  });
});
