/**
 * The link dialer on a ManualClock against a real TCP peer that cuts every connection: its state machine moves
 * down → connecting → down on each try, the redials back off (a failed dial never starts the backoff over), and a
 * stopped dialer dials no more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import { LinkDialer } from '../../src/links/dialer.js';
import { waitFor } from '../support/wait.js';

const T = { timeout: 20_000 };

/** A peer that accepts TCP connections and resets them at once (no TLS). */
async function cuttingPeer(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.resetAndDestroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => n,
    close: () => server.close(),
  };
}

function dialer(port: number, clock: ManualClock, log: ReturnType<typeof memoryLogger>): LinkDialer {
  return new LinkDialer({
    name: 'to-hub',
    endpoints: [{ host: '127.0.0.1', port }],
    cost: 1,
    secureContext: tls.createSecureContext({ minVersion: 'TLSv1.3' }),
    onSession: () => assert.fail('no session can come up'),
    logger: log,
    backoffInitialMs: 100,
    backoffMaxMs: 60_000,
    clock,
  });
}

/** attempts of the redials scheduled so far */
function redials(lines: string[]): Array<{ attempt: number; inMs: number }> {
  return lines.flatMap((l) => {
    const m = /redial scheduled .*inMs=(\d+) attempt=(\d+)/.exec(l);
    return m ? [{ inMs: Number(m[1]), attempt: Number(m[2]) }] : [];
  });
}

test('failed dials back off further each time, on the injected clock', T, async () => {
  const peer = await cuttingPeer();
  const clock = new ManualClock();
  const log = memoryLogger('debug');
  const d = dialer(peer.port, clock, log);
  try {
    d.start();
    assert.equal(d.state, 'connecting');
    for (let i = 1; i <= 4; i++) {
      const r = await waitFor(() => redials(log.lines)[i - 1], { what: `redial ${i} to be scheduled` });
      assert.equal(d.state, 'down');
      assert.equal(r.attempt, i, 'the backoff grows with every failed dial');
      // nothing happens before the backoff delay has passed on the clock
      clock.advance(r.inMs - 1);
      assert.equal(d.state, 'down');
      clock.advance(1);
      assert.equal(d.state, 'connecting');
    }
    const [first, , , fourth] = redials(log.lines);
    assert.ok(first && fourth && fourth.inMs > first.inMs, `${first?.inMs} ms, then ${fourth?.inMs} ms`);
    assert.match(d.lastError ?? '', /127\.0\.0\.1:\d+/);
    assert.ok(log.lines.some((l) => /\[link=to-hub\] connecting -> down/.test(l)));
  } finally {
    d.destroy();
    peer.close();
  }
});

test('a dialer stopped while it waits to redial cancels the redial and stays stopped', T, async () => {
  const peer = await cuttingPeer();
  const clock = new ManualClock();
  const log = memoryLogger('debug');
  const d = dialer(peer.port, clock, log);
  try {
    d.start();
    const r = await waitFor(() => redials(log.lines)[0], { what: 'the first redial to be scheduled' });
    const dials = peer.accepted();
    assert.equal(clock.pending, 1, 'the redial timer');
    d.stop();
    assert.equal(d.state, 'stopped');
    assert.equal(clock.pending, 0, 'the redial timer is cancelled');
    clock.advance(r.inMs + 60_000);
    assert.equal(d.state, 'stopped');
    d.stop(); // stopping twice is harmless
    assert.equal(peer.accepted(), dials, 'no dial after stop');
    assert.ok(log.lines.some((l) => /\[link=to-hub\] down -> stopped/.test(l)));
  } finally {
    d.destroy();
    peer.close();
  }
});
