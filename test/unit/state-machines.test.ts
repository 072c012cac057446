/**
 * The explicit state machines: links at the dialer (outbound) and the acceptor (inbound), the link session at the
 * router, and a flow in the tcp pipe. Each is driven through its legal transitions and refuses illegal ones with
 * ILLEGAL_TRANSITION; the pipe's machine is also driven by a real socket and a flow stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once, type EventEmitter } from 'node:events';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import { StateMachine, type TransitionTable } from '../../src/state-machine.js';
import { InboundLinkMachine, OutboundLinkMachine } from '../../src/links/state.js';
import { LinkSessionMachine } from '../../src/router/link-state.js';
import { TcpFlowMachine } from '../../src/adapters/tcp/flow-state.js';
import { pipeSocketFlow, type PipeOutcome } from '../../src/adapters/tcp/pipe.js';
import { createLocalPair } from '../../src/router/local-pair.js';
import { waitFor } from '../support/wait.js';

const T = { timeout: 10_000 };

function assertIllegal<S extends string>(m: StateMachine<S>, to: S): void {
  const before = m.state;
  assert.equal(m.can(to), false, `${before} -> ${to} is not allowed`);
  assert.throws(
    () => m.transition(to),
    (e: unknown) =>
      isCaravanError(e, ErrorCodes.ILLEGAL_TRANSITION) && e.message.includes(`from ${before} to ${to}`),
  );
  assert.equal(m.state, before, 'a refused transition leaves the state as it was');
}

/** the debug lines a machine logged, without timestamps */
function transitions(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const m = /DEBUG +(\[\w+=[^\]]+\] [\w-]+ -> [\w-]+)/.exec(l);
    return m?.[1] ? [m[1]] : [];
  });
}

test('a state machine logs each move at debug level and refuses moves outside its table', () => {
  type S = 'a' | 'b' | 'c';
  const table: TransitionTable<S> = { a: ['b'], b: ['a', 'c'], c: [] };
  const log = memoryLogger('debug');
  const m = new StateMachine<S>('thing', 't1', table, 'a', log);
  assert.equal(m.transition('b', 'because'), 'a');
  assert.equal(m.transition('c'), 'b');
  assert.equal(m.final, true);
  assertIllegal(m, 'a');
  assert.deepEqual(transitions(log.lines), ['[thing=t1] a -> b', '[thing=t1] b -> c']);
  assert.match(log.lines[0] ?? '', /reason=because/);
  // at info level nothing is logged (and nothing formatted)
  const quiet = memoryLogger('info');
  new StateMachine<S>('thing', 't2', table, 'a', quiet).transition('b');
  assert.deepEqual(quiet.lines, []);
});

test('an outbound link: down, connecting, up, down again, and stopped for good', () => {
  const clock = new ManualClock();
  const log = memoryLogger('debug');
  const m = new OutboundLinkMachine('to-hub', log, clock);
  assert.equal(m.state, 'down');
  assertIllegal(m, 'up'); // never up without connecting
  m.transition('connecting');
  clock.advance(500);
  m.transition('down', 'connection refused');
  assert.equal(m.lastError, 'connection refused');
  assert.equal(m.sinceMs, clock.now());
  m.transition('connecting');
  m.transition('up');
  assertIllegal(m, 'connecting'); // an up link goes down before it dials again
  m.transition('down', 'link closed by peer');
  m.transition('stopped');
  assertIllegal(m, 'down');
  assertIllegal(m, 'connecting');
  assert.deepEqual(transitions(log.lines), [
    '[link=to-hub] down -> connecting',
    '[link=to-hub] connecting -> down',
    '[link=to-hub] down -> connecting',
    '[link=to-hub] connecting -> up',
    '[link=to-hub] up -> down',
    '[link=to-hub] down -> stopped',
  ]);
  // stopping works from every live state
  for (const path of [[], ['connecting'], ['connecting', 'up']] as const) {
    const s = new OutboundLinkMachine('x', log, clock);
    for (const to of path) s.transition(to);
    s.transition('stopped');
    assert.equal(s.state, 'stopped');
  }
});

test('an inbound link: preface, up, down; a link closed during its preface never comes up', () => {
  const log = memoryLogger('debug');
  const m = new InboundLinkMachine('in-1', log);
  assert.equal(m.state, 'preface');
  m.transition('up');
  assertIllegal(m, 'preface');
  m.transition('down');
  assertIllegal(m, 'up');
  const early = new InboundLinkMachine('in-2', log);
  early.transition('down');
  assertIllegal(early, 'up');
  assert.deepEqual(transitions(log.lines), [
    '[link=in-1] preface -> up',
    '[link=in-1] up -> down',
    '[link=in-2] preface -> down',
  ]);
});

test("a link session at the router: hello, registered, up, down; no flows before the peer's hello", () => {
  const log = memoryLogger('debug');
  const m = new LinkSessionMachine('in-1', log);
  assert.equal(m.state, 'hello');
  assert.equal(m.registered, false);
  assertIllegal(m, 'up'); // two-way needs a hello first
  m.transition('registered');
  assert.equal(m.registered, true);
  assertIllegal(m, 'hello');
  m.transition('up');
  assert.equal(m.registered, true);
  assertIllegal(m, 'registered');
  m.transition('down');
  assert.equal(m.registered, false);
  assertIllegal(m, 'hello');
  const refused = new LinkSessionMachine('in-2', log);
  refused.transition('down');
  assertIllegal(refused, 'registered');
  assert.deepEqual(transitions(log.lines), [
    '[link=in-1] hello -> registered',
    '[link=in-1] registered -> up',
    '[link=in-1] up -> down',
    '[link=in-2] hello -> down',
  ]);
});

test('a tcp flow: each direction ends on its own; closed only after ended or aborted', () => {
  const log = memoryLogger('debug');
  const a = new TcpFlowMachine('r/1', log);
  assertIllegal(a, 'closed'); // an open flow is not closed without ending or aborting
  assertIllegal(a, 'ended'); // both directions end one at a time
  a.transition('socket-ended');
  assertIllegal(a, 'flow-ended');
  a.transition('ended');
  assertIllegal(a, 'aborted');
  a.transition('closed');
  assertIllegal(a, 'open');
  const b = new TcpFlowMachine('r/2', log);
  b.transition('flow-ended');
  b.transition('aborted');
  assertIllegal(b, 'ended');
  b.transition('closed');
  const c = new TcpFlowMachine('r/3', log);
  c.transition('aborted');
  assertIllegal(c, 'socket-ended');
  c.transition('closed');
  assert.deepEqual(transitions(log.lines), [
    '[flow=r/1] open -> socket-ended',
    '[flow=r/1] socket-ended -> ended',
    '[flow=r/1] ended -> closed',
    '[flow=r/2] open -> flow-ended',
    '[flow=r/2] flow-ended -> aborted',
    '[flow=r/2] aborted -> closed',
    '[flow=r/3] open -> aborted',
    '[flow=r/3] aborted -> closed',
  ]);
});

/** A real TCP connection: the server side is piped to one end of a flow stream pair; `far` is the other end. */
async function pipedConnection(id: string) {
  const log = memoryLogger('debug');
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  client.on('error', () => undefined); // a reset reaches the client as ECONNRESET
  const [[accepted]] = (await Promise.all([once(server, 'connection'), once(client, 'connect')])) as [
    [net.Socket],
    unknown,
  ];
  const [near, far] = createLocalPair();
  let done: PipeOutcome | undefined;
  pipeSocketFlow(accepted, near, { id, log }, (o) => (done = o));
  return { log, server, client, near, far, outcome: () => done };
}

test('the pipe: FIN from the socket, FIN from the flow, then closed with outcome ok', T, async () => {
  const t = await pipedConnection('w/1');
  try {
    const got: Buffer[] = [];
    t.far.on('data', (c: Buffer) => {
      got.push(c);
      t.far.consumed(c.length);
    });
    t.client.end('hello');
    await new Promise<void>((r) => t.far.on('end', () => r()));
    assert.equal(Buffer.concat(got).toString(), 'hello');
    const back: Buffer[] = [];
    t.client.on('data', (c: Buffer) => back.push(c));
    t.far.write(Buffer.from('bye'));
    t.far.end();
    await once(t.client, 'end');
    assert.equal(Buffer.concat(back).toString(), 'bye');
    const o = await waitFor(() => t.outcome(), { what: 'the pipe to finish' });
    assert.equal(o.outcome, 'ok');
    assert.equal(o.bytesFromSocket, 5);
    assert.equal(o.bytesToSocket, 3);
    assert.deepEqual(transitions(t.log.lines), [
      '[flow=w/1] open -> socket-ended',
      '[flow=w/1] socket-ended -> ended',
      '[flow=w/1] ended -> closed',
    ]);
  } finally {
    t.client.destroy();
    t.server.close();
  }
});

test(
  'the pipe: a reset that arrives after both directions finished cuts nothing and throws nothing',
  T,
  async () => {
    // a peer's RESET can cross our FIN on the link: the mux then reports it after the flow has ended both ways
    const t = await pipedConnection('w/4');
    try {
      t.far.on('data', (c: Buffer) => t.far.consumed(c.length));
      t.client.end('x');
      await new Promise<void>((r) => t.far.on('end', () => r()));
      t.client.resume();
      // right after the flow's FIN ended the second direction (the pipe's own 'end' handler runs first), and
      // before the stream closed
      let threw: unknown;
      let last = '';
      (t.near as unknown as EventEmitter).once('end', () => {
        last = transitions(t.log.lines).at(-1) ?? '';
        try {
          (t.near as unknown as EventEmitter).emit('reset', 5, 'late reset');
        } catch (e) {
          threw = e;
        }
      });
      t.far.end();
      await once(t.client, 'end');
      assert.equal(last, '[flow=w/4] socket-ended -> ended', 'the reset came after both directions ended');
      assert.equal(threw, undefined, 'the late reset threw nothing');
      const o = await waitFor(() => t.outcome(), { what: 'the pipe to finish' });
      assert.equal(o.outcome, 'ok', 'every byte went both ways');
      assert.ok(!transitions(t.log.lines).some((l) => l.includes('aborted')));
    } finally {
      t.client.destroy();
      t.server.close();
    }
  },
);

test('the pipe: a reset from the flow aborts it and cuts the socket', T, async () => {
  const t = await pipedConnection('w/2');
  try {
    const closed = new Promise<void>((r) => t.client.once('close', () => r()));
    t.far.reset(99, 'gone');
    await closed;
    const o = await waitFor(() => t.outcome(), { what: 'the pipe to finish' });
    assert.equal(o.outcome, 'reset-by-peer');
    assert.equal(o.reason, 'gone');
    assert.deepEqual(transitions(t.log.lines), [
      '[flow=w/2] open -> aborted',
      '[flow=w/2] aborted -> closed',
    ]);
  } finally {
    t.client.destroy();
    t.server.close();
  }
});

test(
  'the pipe: the socket failing before both directions finished aborts the flow and resets it',
  T,
  async () => {
    const t = await pipedConnection('w/3');
    try {
      const reset = new Promise<void>((r) => t.far.once('reset', () => r()));
      t.far.end(); // the flow's direction ends first
      await waitFor(() => transitions(t.log.lines).includes('[flow=w/3] open -> flow-ended'), {
        what: 'the flow to end its direction',
      });
      t.client.resetAndDestroy(); // then the client goes away without FIN (RST)
      await reset;
      const o = await waitFor(() => t.outcome(), { what: 'the pipe to finish' });
      assert.equal(o.outcome, 'socket-error');
      assert.deepEqual(transitions(t.log.lines), [
        '[flow=w/3] open -> flow-ended',
        '[flow=w/3] flow-ended -> aborted',
        '[flow=w/3] aborted -> closed',
      ]);
    } finally {
      t.server.close();
    }
  },
);
