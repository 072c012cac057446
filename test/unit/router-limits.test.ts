/**
 * The router's own limits on linked peers: one Router, a real mux session over TCP to a raw peer that writes
 * frames with the project's codec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import { MuxSession } from '../../src/links/mux/session.js';
import { FrameType, type Frame } from '../../src/links/mux/frame.js';
import { Router, type RouterLimits } from '../../src/router/router.js';
import { FlowResetCodes, MuxResetCodes } from '../../src/router/codes.js';
import { encodeControl, encodeFlowHeader } from '../../src/router/messages.js';
import type { ConnectorHandler, FlowHeader, FlowStream } from '../../src/router/contract.js';
import { RawMuxPeer } from '../support/raw-mux-peer.js';
import { waitFor } from '../support/wait.js';
import { generateIdentity } from '../../src/identity.js';

const IDENTITY = generateIdentity('s1').identity;
/** the peer: its link certificate would name this id */
const PEER = generateIdentity('p').identity;

const T = { timeout: 30_000 };

/** A connector that takes every flow and holds it open. */
class HoldingConnector implements ConnectorHandler {
  healthy = true;
  readonly held: FlowStream[] = [];
  constructor(
    readonly name: string,
    readonly routingKey: string,
  ) {}
  deliver(stream: FlowStream): void {
    stream.accept(Buffer.from(JSON.stringify({ router: 'r1', connector: this.name, target: 'x' })));
    this.held.push(stream);
  }
}

function openFlow(id: number, key = 'svc'): Frame {
  const h: FlowHeader = {
    v: 1,
    fid: `peer/${id}`,
    key,
    dst: IDENTITY.routerId,
    src: 'peer',
    lis: 'l',
    client: '127.0.0.1:1',
    proto: 'tcp',
    hops: 0,
  };
  return { type: FrameType.OPEN, flags: 0, streamId: id, payload: encodeFlowHeader(h) };
}

function hiFrame(): Frame {
  const hi = encodeControl({
    k: 'hi',
    id: PEER.routerId,
    mode: 'interior',
    site: 'p',
    cost: 1,
    hello: 1000,
    dead: 3000,
  });
  return { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: hi };
}

/** A router with one link from a raw peer; `hello: true` makes the peer say hi first (flows need it). */
async function setup(
  limits: Partial<RouterLimits>,
  clock = new ManualClock(),
  opts: { hello?: boolean } = {},
) {
  const log = memoryLogger('info');
  const router = new Router({
    identity: IDENTITY,
    mode: 'interior',
    site: 's1',
    helloIntervalMs: 1000,
    deadIntervalMs: 3000,
    logger: log,
    clock,
    limits,
  });
  const peer = await RawMuxPeer.connect();
  const session = new MuxSession(peer.sessionSocket, { initiator: false });
  peer.preface();
  await once(session, 'ready');
  router.addLink(session, { id: 'in-1', name: 'peer', direction: 'in', peerRouterId: PEER.routerId });
  if (opts.hello) {
    await peer.send([hiFrame()]);
    await waitFor(() => log.lines.find((l) => /link registered/.test(l)), { what: 'link registered' });
  }
  const connector = new HoldingConnector('c1', 'svc');
  router.addConnector(connector);
  const resets = (code: number): number =>
    peer.of(FrameType.RESET).filter((f) => f.type === FrameType.RESET && f.code === code).length;
  return {
    router,
    peer,
    session,
    connector,
    log,
    clock,
    resets,
    close: async () => {
      router.stop();
      session.destroy();
      await peer.close();
    },
  };
}

test('a link whose peer never says hello is closed after the hello timeout, and counted', T, async () => {
  const t = await setup({ helloTimeoutMs: 5000 });
  try {
    const closed = new Promise<Error | undefined>((r) => t.session.once('close', (e?: Error) => r(e)));
    t.clock.advance(4999);
    assert.equal(t.session.closed, false);
    t.clock.advance(1);
    const err = await closed;
    assert.ok(isCaravanError(err, ErrorCodes.LINK_TIMEOUT), String(err));
    assert.match(err.message, /no hello from the peer within 5000 ms/);
    assert.deepEqual(t.router.limitStats().faults, { 'hello-timeout': 1 });
    assert.ok(t.log.lines.some((l) => /link closed: the peer did not say hello/.test(l)));
  } finally {
    await t.close();
  }
});

test('a peer that says hello in time stays linked', T, async () => {
  const t = await setup({ helloTimeoutMs: 5000 });
  try {
    await t.peer.send([hiFrame()]);
    await waitFor(() => t.log.lines.find((l) => /link registered/.test(l)), { what: 'link registered' });
    t.clock.advance(60_000);
    assert.equal(t.session.closed, false);
    assert.deepEqual(t.router.limitStats().faults, {});
  } finally {
    await t.close();
  }
});

test('streams beyond the router-wide limit are refused with REFUSED and counted', T, async () => {
  const t = await setup({ streams: 5 }, new ManualClock(), { hello: true });
  try {
    await t.peer.send(Array.from({ length: 12 }, (_, i) => openFlow(2 * i + 1)));
    await waitFor(() => t.resets(MuxResetCodes.REFUSED) === 7 || undefined, { what: '7 refusals' });
    assert.equal(t.connector.held.length, 5);
    assert.deepEqual(t.router.limitStats().refused, { 'router-streams': 7 });
    // one line for the flood, not seven
    assert.equal(t.log.lines.filter((l) => /stream refused: router limit/.test(l)).length, 1);
    // a finished flow frees a place
    t.connector.held[0]?.reset(FlowResetCodes.FLOW_RESET, 'done');
    await waitFor(() => t.session.stats.activeStreams === 4 || undefined, { what: 'one stream gone' });
    await t.peer.send([openFlow(101)]);
    await waitFor(() => t.connector.held.length === 6 || undefined, { what: 'one more flow delivered' });
  } finally {
    await t.close();
  }
});

test('streams opened faster than the router-wide rate are refused', T, async () => {
  const t = await setup({ openRate: { perSecond: 1, burst: 3 } }, new ManualClock(), { hello: true });
  try {
    await t.peer.send(Array.from({ length: 5 }, (_, i) => openFlow(2 * i + 1)));
    await waitFor(() => t.resets(MuxResetCodes.REFUSED) === 2 || undefined, { what: '2 refusals' });
    assert.equal(t.connector.held.length, 3);
    assert.deepEqual(t.router.limitStats().refused, { 'router-rate': 2 });
  } finally {
    await t.close();
  }
});

test(
  'a connector at its flow limit takes no more: TARGET_REFUSED, counted; another connector takes over',
  T,
  async () => {
    const t = await setup({ flowsPerConnector: 3 }, new ManualClock(), { hello: true });
    try {
      await t.peer.send(Array.from({ length: 5 }, (_, i) => openFlow(2 * i + 1)));
      await waitFor(() => t.resets(FlowResetCodes.TARGET_REFUSED) === 2 || undefined, { what: '2 refusals' });
      assert.equal(t.connector.held.length, 3);
      assert.deepEqual(t.router.limitStats().refused, { 'connector-flows': 2 });
      const second = new HoldingConnector('c2', 'svc');
      t.router.addConnector(second);
      await t.peer.send([openFlow(21), openFlow(23)]);
      await waitFor(() => second.held.length === 2 || undefined, { what: 'the second connector takes two' });
      assert.equal(t.connector.held.length, 3);
    } finally {
      await t.close();
    }
  },
);

test(
  'a link whose socket already ended but whose close has not arrived yet: routing messages are dropped, nothing throws',
  T,
  async () => {
    const t = await setup({}, new ManualClock(), { hello: true });
    try {
      // the window under test: the session's scheduler found the socket ended (a write after a read error or a
      // FIN) and refuses to send, while the session's close is still on its way; the state is set directly, since
      // the events that lead there cannot be ordered from outside
      (t.session as unknown as { scheduler: { socketEnded: boolean } }).scheduler.socketEnded = true;
      let thrown: unknown;
      const onUncaught = (e: unknown): void => {
        thrown = e;
      };
      process.on('uncaughtException', onUncaught);
      try {
        // HELLOs fall due: the first write finds the socket ended, the next ones must not throw LINK_CLOSED
        for (let i = 0; i < 2; i++) {
          t.clock.advance(1000);
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        process.off('uncaughtException', onUncaught);
      }
      assert.equal(thrown, undefined, String(thrown));
      assert.equal(t.session.closed, false, 'the session had not closed: the window under test');
    } finally {
      await t.close();
    }
  },
);
