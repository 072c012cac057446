// The health endpoint's answers on a real HTTP server on loopback: /healthz and /readyz, 404 and 405 for
// anything else, the reason of a router that is not ready (cleaned, short), a stalled event loop (a clock whose
// timers never fire stands for a loop that no longer turns), and the guard closing a client that never sends.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import type { Clock, Timer } from '../../src/clock.js';
import { HealthServer, ReadinessFlag, cleanReason } from '../../src/daemon/health.js';
import { AcceptGuard } from '../../src/net/accept-guard.js';
import { nullLogger } from '../../src/observe/log.js';

function request(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('healthz and readyz follow the process and the readiness callback; nothing else is served', async (t) => {
  const flag = new ReadinessFlag('starting');
  const h = await HealthServer.start({
    port: 0,
    host: '127.0.0.1',
    ready: () => flag.get(),
    logger: nullLogger,
  });
  t.after(() => h.close());
  assert.deepEqual(await request(h.port, 'GET', '/healthz'), { status: 200, body: 'ok\n' });
  assert.deepEqual(await request(h.port, 'GET', '/readyz'), { status: 503, body: 'not ready: starting\n' });
  flag.setReady();
  assert.deepEqual(await request(h.port, 'GET', '/readyz'), { status: 200, body: 'ready\n' });
  assert.deepEqual(await request(h.port, 'GET', '/readyz?verbose=1'), { status: 200, body: 'ready\n' });
  assert.deepEqual(await request(h.port, 'HEAD', '/readyz'), { status: 200, body: '' });
  flag.setNotReady('stopping');
  assert.deepEqual(await request(h.port, 'GET', '/readyz'), { status: 503, body: 'not ready: stopping\n' });
  for (const p of ['/', '/metrics', '/api/status', '/healthz/x', '/livez'])
    assert.equal((await request(h.port, 'GET', p)).status, 404, p);
  assert.equal((await request(h.port, 'POST', '/healthz')).status, 405);
  assert.equal((await request(h.port, 'DELETE', '/readyz')).status, 405);
});

test('a callback that throws or gives a long, multi-line reason leaks nothing', async (t) => {
  let mode: 'throw' | 'long' = 'throw';
  const h = await HealthServer.start({
    port: 0,
    host: '127.0.0.1',
    logger: nullLogger,
    ready: () => {
      if (mode === 'throw') throw new Error('secret at /var/lib/caravan/runtime/ca.key');
      return { ready: false, reason: `no Site\n${'x'.repeat(500)}` };
    },
  });
  t.after(() => h.close());
  const a = await request(h.port, 'GET', '/readyz');
  assert.deepEqual(a, { status: 503, body: 'not ready: readiness check failed\n' });
  mode = 'long';
  const b = await request(h.port, 'GET', '/readyz');
  assert.equal(b.status, 503);
  assert.equal(b.body.split('\n').length, 2, 'one line');
  assert.ok(b.body.length <= 'not ready: '.length + 81, b.body);
  assert.equal(cleanReason(undefined), 'unknown');
  assert.equal(cleanReason('a\u0000\u001bb'), 'a b');
});

test('healthz fails once the event loop has not turned for the stall interval', async (t) => {
  let mono = 0;
  // timers never fire: the loop the server watches has stopped turning
  const stopped: Timer = { cancel: () => undefined, unref: () => stopped };
  const clock: Clock = {
    now: () => mono,
    monotonic: () => mono,
    setTimeout: () => stopped,
    setInterval: () => stopped,
  };
  const h = await HealthServer.start({
    port: 0,
    host: '127.0.0.1',
    ready: () => ({ ready: true }),
    logger: nullLogger,
    clock,
    stallMs: 5000,
  });
  t.after(() => h.close());
  mono = 4000;
  assert.equal((await request(h.port, 'GET', '/healthz')).status, 200);
  mono = 6000;
  assert.deepEqual(await request(h.port, 'GET', '/healthz'), { status: 503, body: 'event loop stalled\n' });
});

test('the guard closes a client that connects and never sends a request', async (t) => {
  const guard = new AcceptGuard({
    server: 'health',
    logger: nullLogger,
    limits: { handshakeTimeoutMs: 200 },
  });
  const h = await HealthServer.start({
    port: 0,
    host: '127.0.0.1',
    ready: () => ({ ready: true }),
    logger: nullLogger,
    guard,
  });
  t.after(async () => {
    await h.close();
    guard.close();
  });
  const closed = await new Promise<boolean>((resolve, reject) => {
    const s = net.connect(h.port, '127.0.0.1');
    s.on('error', reject);
    s.on('close', () => resolve(true));
  });
  assert.ok(closed);
  assert.equal(guard.stats().refused['handshake_timeout'], 1);
});

test('a busy port gives PORT_IN_USE', async (t) => {
  const a = await HealthServer.start({
    port: 0,
    host: '127.0.0.1',
    ready: () => ({ ready: true }),
    logger: nullLogger,
  });
  t.after(() => a.close());
  await assert.rejects(
    HealthServer.start({
      port: a.port,
      host: '127.0.0.1',
      ready: () => ({ ready: true }),
      logger: nullLogger,
    }),
    { code: 'CARAVAN_PORT_IN_USE' },
  );
});
