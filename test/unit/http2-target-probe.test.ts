/**
 * An http2 connector's target that refuses turns unhealthy and is probed until it answers — also when it stays
 * down across several probes. A probe that found the target still down used to schedule no next one, so the
 * connector stayed withdrawn for good (found by the chaos soak: after a gRPC target restart, the connector at
 * that site never served again).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { Http2Target } from '../../src/adapters/http2/target.js';
import { ManualClock, type Timer } from '../../src/clock.js';
import { nullLogger } from '../../src/observe/log.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const PROBE_MS = 50;

/** A manual clock that counts the probes armed (timers of the probe interval). */
class ProbeClock extends ManualClock {
  armed = 0;
  override setTimeout(fn: () => void, ms: number): Timer {
    if (ms === PROBE_MS) this.armed++;
    return super.setTimeout(fn, ms);
  }
}

test('a target down for several probe intervals is advertised again once it answers', async (t) => {
  const port = await freePort();
  let healthChanges = 0;
  const clock = new ProbeClock();
  const target = new Http2Target({
    clock,
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 2000,
    probeIntervalMs: PROBE_MS,
    log: nullLogger,
    onHealth: () => healthChanges++,
  });
  t.after(() => target.stop());
  const first = await new Promise<NodeJS.ErrnoException | undefined>((resolve) =>
    target.withSession((err) => resolve(err)),
  );
  assert.equal(first?.code, 'ECONNREFUSED');
  assert.equal(target.healthy, false);
  assert.equal(healthChanges, 1);

  // the target stays down across three probes: each refused probe arms the next one
  for (let probe = 1; probe <= 3; probe++) {
    await waitFor(() => clock.armed === probe, { what: `probe ${probe} to be armed` });
    clock.advance(PROBE_MS);
  }
  await waitFor(() => clock.armed === 4, { what: 'a probe armed after three refused ones' });
  assert.equal(target.healthy, false, 'still down: still withdrawn');
  const server = http2.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(() => server.close());
  clock.advance(PROBE_MS);
  await waitFor(() => target.healthy, { what: 'the target to be healthy again', timeoutMs: 10_000 });
  assert.equal(healthChanges, 2, 'withdrawn once, advertised again once');
  assert.ok(target.sessionsOpened >= 1, 'a probe session connected');
});
