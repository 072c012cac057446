/**
 * The accept guard on real sockets with a ManualClock: the handshake deadline, the caps per address and in total,
 * accept errors (EMFILE) pausing admission with a backoff, and refusals logged in bounded summaries.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { AcceptGuard, sourceAddress } from '../../src/net/accept-guard.js';
import { FdWatch } from '../../src/net/fd-watch.js';
import { memoryLogger } from '../../src/observe/log.js';
import { RateLimitedLog } from '../../src/observe/rate-limited-log.js';
import { waitFor } from '../support/wait.js';

async function guarded(t: TestContext, guard: AcceptGuard): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => res.end('ok'));
  guard.attach(server, 'http');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    server.closeAllConnections();
    server.close();
    guard.close();
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A connection that sends nothing; `closed` resolves when the server closes it. */
function silent(port: number, localAddress = '127.0.0.1'): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, closed };
}

function connected(s: net.Socket): Promise<void> {
  return new Promise((r) => (s.readyState === 'open' ? r() : s.once('connect', () => r())));
}

test('a connection that does not finish its handshake is closed at the deadline; one that does stays', async (t) => {
  const clock = new ManualClock();
  const log = memoryLogger();
  const guard = new AcceptGuard({ server: 'test', logger: log, clock, limits: { handshakeTimeoutMs: 5000 } });
  const { port } = await guarded(t, guard);
  const idle = silent(port);
  const busy = silent(port);
  await Promise.all([connected(idle.socket), connected(busy.socket)]);
  await waitFor(() => guard.stats().handshaking === 2, { what: 'two connections in handshake' });
  busy.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => guard.stats().handshaking === 1, { what: 'the request to end the handshake' });
  clock.advance(4999);
  assert.equal(idle.socket.destroyed, false);
  clock.advance(1);
  await idle.closed;
  assert.equal(busy.socket.destroyed, false, 'the connection that sent a request is not touched');
  assert.deepEqual(guard.stats().refused, { handshake_timeout: 1 });
  assert.equal(guard.stats().handshaking, 0);
  assert.ok(log.lines.some((l) => /connection refused .*reason=handshake_timeout/.test(l)));
  busy.socket.destroy();
});

test('caps: per source address, then in total; refused connections are closed at accept', async (t) => {
  const clock = new ManualClock();
  const guard = new AcceptGuard({
    server: 'test',
    logger: memoryLogger(),
    clock,
    limits: { maxHandshakes: 3, maxHandshakesPerAddress: 2 },
  });
  const { port } = await guarded(t, guard);
  const a1 = silent(port, '127.0.0.1');
  const a2 = silent(port, '127.0.0.1');
  await waitFor(() => guard.stats().handshaking === 2, { what: 'two from 127.0.0.1' });
  const a3 = silent(port, '127.0.0.1');
  await a3.closed;
  assert.deepEqual(guard.stats().refused, { too_many_from_address: 1 });
  const b1 = silent(port, '127.0.0.2');
  await waitFor(() => guard.stats().handshaking === 3, { what: 'one from 127.0.0.2' });
  const c1 = silent(port, '127.0.0.3');
  await c1.closed;
  assert.deepEqual(guard.stats().refused, { too_many_from_address: 1, too_many_handshakes: 1 });
  // a slot that frees up is available again
  a1.socket.destroy();
  await waitFor(() => guard.stats().handshaking === 2, { what: 'the closed one to leave' });
  const a4 = silent(port, '127.0.0.1');
  await waitFor(() => guard.stats().handshaking === 3, { what: 'a new one from 127.0.0.1' });
  for (const s of [a2, b1, a4]) s.socket.destroy();
});

test('EMFILE from accept pauses admission with a growing backoff, logged once per pause, never thrown', async (t) => {
  const clock = new ManualClock();
  const log = memoryLogger();
  const guard = new AcceptGuard({ server: 'test', logger: log, clock });
  const { server, port } = await guarded(t, guard);
  const emfile = (): void => {
    server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
  };
  emfile();
  emfile();
  assert.equal(guard.stats().paused, true);
  assert.equal(log.lines.filter((l) => /out of file descriptors/.test(l)).length, 1, 'logged once');
  assert.match(log.lines.find((l) => /out of file descriptors/.test(l)) ?? '', /pauseMs=1000/);
  const during = silent(port);
  await during.closed;
  assert.equal(guard.stats().refused['fd_exhausted'], 3, 'two accept errors and one connection closed');
  clock.advance(1000);
  assert.equal(guard.stats().paused, false);
  assert.ok(log.lines.some((l) => /accepting connections again .*closedWhilePaused=1/.test(l)));
  const after = silent(port);
  await waitFor(() => guard.stats().handshaking === 1, { what: 'admission to resume' });
  emfile();
  assert.match(log.lines.filter((l) => /out of file descriptors/.test(l))[1] ?? '', /pauseMs=2000/);
  after.socket.destroy();
});

test('an FdWatch near the limit pauses admission; hysteresis resumes it below the low-water mark', async (t) => {
  const clock = new ManualClock();
  const log = memoryLogger();
  let open = 50;
  const watch = new FdWatch({ logger: log, clock, probe: () => ({ open, max: 1000 }) });
  watch.start();
  t.after(() => watch.stop());
  assert.equal(FdWatch.reserve(1000), 50);
  const guard = new AcceptGuard({ server: 'test', logger: log, clock, fdWatch: watch });
  const { port } = await guarded(t, guard);
  open = 950;
  clock.advance(1000);
  assert.equal(watch.exhaustedAtLastSample, true);
  const refused = silent(port);
  await refused.closed;
  assert.equal(guard.stats().refused['fd_exhausted'], 1);
  open = 920; // below the high-water mark but not below the low-water mark (900)
  clock.advance(1000);
  assert.equal(watch.exhaustedAtLastSample, true);
  open = 899;
  clock.advance(1000);
  assert.equal(watch.exhaustedAtLastSample, false);
  assert.equal(watch.episodes, 1);
  assert.ok(log.lines.some((l) => /accepting connections again .*closedWhileExhausted=1/.test(l)));
});

test('RateLimitedLog: a few lines in full, then one summary per interval with counts by reason', () => {
  const clock = new ManualClock();
  const log = memoryLogger();
  const r = new RateLimitedLog({
    logger: log,
    clock,
    message: 'refused',
    detailsPerInterval: 3,
    intervalMs: 10_000,
  });
  for (let i = 0; i < 1000; i++) r.event(i % 4 === 0 ? 'a' : 'b', { n: i });
  assert.equal(log.lines.length, 3);
  clock.advance(10_000);
  assert.equal(log.lines.length, 4);
  assert.match(
    log.lines[3] ?? '',
    /refused \(summary\) notLogged=997 intervalMs=10000 byReason=\{"b":748,"a":249\}/,
  );
  clock.advance(60_000);
  assert.equal(log.lines.length, 4, 'nothing when nothing happened');
  r.event('a');
  assert.equal(log.lines.length, 5, 'a new interval logs in full again');
  r.close();
});

test('sourceAddress folds IPv4-mapped IPv6 addresses', () => {
  assert.equal(sourceAddress('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(sourceAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(sourceAddress(undefined), 'unknown');
});
