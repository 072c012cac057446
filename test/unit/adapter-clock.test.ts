/**
 * Adapters take their timers from the router's clock (AdapterHost.clock): the tcp connector's connect timeout
 * fires after exactly the configured time on a ManualClock, and the probe that brings a failed target back runs
 * after the probe interval on the same clock. A real target socket on 127.0.0.1; no real time is waited for.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { TcpConnector } from '../../src/adapters/tcp/connector.js';
import { ManualClock } from '../../src/clock.js';
import { ErrorCodes } from '../../src/errors.js';
import { nullLogger } from '../../src/observe/log.js';
import { wireCode } from '../../src/router/codes.js';
import type { AdapterHost, FlowHeader, FlowStream } from '../../src/router/contract.js';
import { waitFor } from '../support/wait.js';

/** The part of a flow a connector uses before it connects: accept, reset and the 'reset' event. */
class FakeFlow extends EventEmitter {
  readonly id = 1;
  readonly bytesIn = 0;
  readonly bytesOut = 0;
  accepted = false;
  resetWith: { code: number; reason: string } | undefined;
  accept(): void {
    this.accepted = true;
  }
  write(): boolean {
    return true;
  }
  end(): void {}
  consumed(): void {}
  reset(code: number, reason = ''): void {
    this.resetWith = { code, reason };
    this.emit('reset', code, reason);
  }
}

function hostWith(clock: ManualClock): AdapterHost & { refreshes: number } {
  const unused = (): never => assert.fail('not used by a tcp connector');
  const host = {
    routerId: 'r1',
    clock,
    refreshes: 0,
    openFlow: unused,
    reachable: unused,
    destinations: unused,
    onRoutesChanged: unused,
    addConnector: unused,
    removeConnector: unused,
    refreshAddresses(): void {
      host.refreshes++;
    },
  };
  return host;
}

const header: FlowHeader = {
  v: 1,
  fid: 'r0/1',
  key: 'svc',
  dst: 'r1',
  src: 'r0',
  lis: 'l',
  client: '127.0.0.1:40000',
  proto: 'tcp',
  hops: 1,
};

test('the tcp connect timeout and the target probe run on the router clock', async (t) => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const clock = new ManualClock();
  const host = hostWith(clock);
  const connector = new TcpConnector(
    host,
    { name: 'c', routingKey: 'svc', host: '127.0.0.1', port, connectTimeoutMs: 3000, probeIntervalMs: 700 },
    nullLogger,
  );
  t.after(() => connector.stop());

  const flow = new FakeFlow();
  connector.deliver(flow as unknown as FlowStream, header);
  // The connect is in progress (it can only complete once this turn of the event loop ends): move the clock.
  assert.equal(clock.pending, 1, 'the connect timeout is a timer of the router clock');
  clock.advance(2999);
  assert.equal(clock.pending, 1, 'not due one millisecond before the configured timeout');
  clock.advance(1);
  assert.equal(clock.pending, 0, 'fired at the configured timeout');

  await waitFor(() => flow.resetWith, { what: 'the flow reset after the connect timeout' });
  assert.equal(flow.accepted, false);
  assert.equal(flow.resetWith?.code, wireCode(ErrorCodes.TARGET_UNREACHABLE));
  assert.match(flow.resetWith?.reason ?? '', /timed out/);
  assert.equal(connector.counters.failed, 1);
  assert.equal(connector.healthy, false, 'a timed-out target is marked down');
  assert.equal(host.refreshes, 1, 'the connector withdrew itself');

  // The probe that brings it back waits on the same clock: nothing happens until the interval has passed.
  assert.equal(clock.pending, 1, 'the probe is a timer of the router clock');
  clock.advance(699);
  assert.equal(clock.pending, 1);
  clock.advance(1);
  await waitFor(() => connector.healthy, { what: 'the probe to find the target up again' });
  assert.equal(host.refreshes, 2, 'the connector is advertised again');
});
