/**
 * The health endpoint of a real router process (`caravan-router --health-port`): /readyz answers 503 until the
 * site runtime has started and 200 after; /healthz answers 200 while the process runs; other paths answer 404 and
 * nothing in the answers names the site, its router id or its version. Also: the port comes from
 * CARAVAN_HEALTH_PORT, and a bad value is refused at start.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { run, stopAllProcesses } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

function get(port: number, path: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, headers: JSON.stringify(res.headers) }),
        );
      })
      .on('error', reject);
  });
}

describe('router health endpoint', () => {
  let root: { dir: string; remove: () => Promise<void> };
  before(async () => {
    root = await makeTempRoot('health');
  });
  after(async () => {
    await stopAllProcesses();
    await root.remove();
  });

  test('readyz turns 200 once the site runs; healthz is 200; nothing else is served', async () => {
    const site = await TestSite.create(root.dir, {
      name: 'hwest',
      linkAccess: { host: '127.0.0.1', port: 0 },
    });
    const port = await freePort();
    const proc = site.start({ env: { ...process.env, CARAVAN_HEALTH_PORT: String(port) } });
    // before the runtime has started, readiness (when the port answers at all) is 503 with a reason
    const first = await waitFor(() => get(port, '/readyz').catch(() => undefined), {
      what: 'the health port to answer',
      intervalMs: 10,
    });
    if (first.status !== 200) assert.deepEqual([first.status, first.body], [503, 'not ready: starting\n']);
    const ready = await waitFor(
      async () => {
        const r = await get(port, '/readyz');
        return r.status === 200 ? r : undefined;
      },
      { what: 'readyz to answer 200' },
    );
    assert.equal(ready.body, 'ready\n');
    const status = await site.ready();
    const live = await get(port, '/healthz');
    assert.deepEqual([live.status, live.body], [200, 'ok\n']);
    for (const p of ['/', '/metrics', '/api/status']) assert.equal((await get(port, p)).status, 404, p);
    for (const r of [ready, live])
      for (const secret of [status.router.id, status.router.version, 'hwest'])
        assert.ok(!(r.body + r.headers).includes(secret), `the answer names ${secret}`);
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0);
    await assert.rejects(get(port, '/healthz'), 'the port is closed after the router stopped');
  });

  test('a bad --health-port is refused before anything starts', async () => {
    const site = await TestSite.create(root.dir, { name: 'hbad' });
    const r = await run(process.execPath, [...site.routerArgs(), '--health-port', '70000']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--health-port must be a port number/);
  });
});
