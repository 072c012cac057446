import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { memoryLogger } from '../../src/observe/log.js';
import {
  StreamEvent,
  StreamState,
  nextStreamState,
  streamEventName,
  streamStateName,
} from '../../src/links/mux/stream-state.js';
import {
  SessionEvent,
  SessionState,
  nextSessionState,
  sessionEventName,
  sessionStateName,
} from '../../src/links/mux/session-state.js';
import { MuxErrorCodes, MuxSession, type MuxStream } from '../../src/links/mux/session.js';
import { FrameType, type Frame } from '../../src/links/mux/frame.js';
import { RawMuxPeer } from '../support/raw-mux-peer.js';
import { waitFor } from '../support/wait.js';

const T = { timeout: 30_000 };
const SS = StreamState;
const SE = StreamEvent;

/** Every legal stream transition, written out from docs/design/wire.md §5–6 (independent of the table in the code). */
const STREAM_LEGAL: [StreamState, StreamEvent, StreamState][] = [
  [SS.Idle, SE.OpenSent, SS.Opening],
  [SS.Idle, SE.OpenReceived, SS.Offered],
  [SS.Opening, SE.AcceptReceived, SS.Open],
  [SS.Opening, SE.FinSent, SS.OpeningHalfClosedLocal],
  [SS.OpeningHalfClosedLocal, SE.AcceptReceived, SS.HalfClosedLocal],
  [SS.Offered, SE.AcceptSent, SS.Open],
  [SS.Offered, SE.FinReceived, SS.OfferedHalfClosedRemote],
  [SS.OfferedHalfClosedRemote, SE.AcceptSent, SS.HalfClosedRemote],
  [SS.Open, SE.FinSent, SS.HalfClosedLocal],
  [SS.Open, SE.FinReceived, SS.HalfClosedRemote],
  [SS.HalfClosedLocal, SE.FinReceived, SS.Closing],
  [SS.HalfClosedRemote, SE.FinSent, SS.Closing],
  [SS.Closing, SE.Finished, SS.Closed],
  ...[
    SS.Opening,
    SS.OpeningHalfClosedLocal,
    SS.Offered,
    SS.OfferedHalfClosedRemote,
    SS.Open,
    SS.HalfClosedLocal,
    SS.HalfClosedRemote,
    SS.Closing,
  ].map((s): [StreamState, StreamEvent, StreamState] => [s, SE.Reset, SS.Reset]),
];

test('stream machine: every legal transition leads where the spec says, every other pair is refused', () => {
  const legal = new Map(STREAM_LEGAL.map(([f, e, t]) => [`${f}/${e}`, t]));
  let refused = 0;
  for (const s of Object.values(SS)) {
    for (const e of Object.values(SE)) {
      const want = legal.get(`${s}/${e}`);
      assert.equal(
        nextStreamState(s, e),
        want,
        `${streamStateName(s)} --${streamEventName(e)}-->: expected ${want === undefined ? 'refused' : streamStateName(want)}`,
      );
      if (want === undefined) refused++;
    }
  }
  assert.equal(legal.size, STREAM_LEGAL.length, 'no pair listed twice');
  assert.equal(refused, 11 * 8 - STREAM_LEGAL.length);
  // the final states take nothing
  for (const e of Object.values(SE)) {
    assert.equal(nextStreamState(SS.Closed, e), undefined);
    assert.equal(nextStreamState(SS.Reset, e), undefined);
  }
  assert.equal(streamStateName(SS.OpeningHalfClosedLocal), 'opening-half-closed-local');
});

/** Legal session transitions; a transition to the same state is allowed and changes nothing. */
const SESSION_LEGAL: [SessionState, SessionEvent, SessionState][] = [
  [SessionState.Preface, SessionEvent.PrefaceReceived, SessionState.Open],
  [SessionState.Preface, SessionEvent.GoAwaySent, SessionState.GoingAway],
  [SessionState.Open, SessionEvent.GoAwaySent, SessionState.GoingAway],
  [SessionState.Open, SessionEvent.GoAwayReceived, SessionState.GoingAway],
  [SessionState.GoingAway, SessionEvent.PrefaceReceived, SessionState.GoingAway],
  [SessionState.GoingAway, SessionEvent.GoAwaySent, SessionState.GoingAway],
  [SessionState.GoingAway, SessionEvent.GoAwayReceived, SessionState.GoingAway],
  [SessionState.GoingAway, SessionEvent.Drained, SessionState.Ending],
  [SessionState.Ending, SessionEvent.PrefaceReceived, SessionState.Ending],
  [SessionState.Ending, SessionEvent.GoAwaySent, SessionState.Ending],
  [SessionState.Ending, SessionEvent.GoAwayReceived, SessionState.Ending],
  [SessionState.Preface, SessionEvent.Close, SessionState.Closed],
  [SessionState.Open, SessionEvent.Close, SessionState.Closed],
  [SessionState.GoingAway, SessionEvent.Close, SessionState.Closed],
  [SessionState.Ending, SessionEvent.Close, SessionState.Closed],
];

test('session machine: every legal transition, every other pair refused', () => {
  const legal = new Map(SESSION_LEGAL.map(([f, e, t]) => [`${f}/${e}`, t]));
  for (const s of Object.values(SessionState)) {
    for (const e of Object.values(SessionEvent)) {
      assert.equal(
        nextSessionState(s, e),
        legal.get(`${s}/${e}`),
        `${sessionStateName(s)} --${sessionEventName(e)}-->`,
      );
    }
  }
  // a few refusals spelled out: GOAWAY cannot come before the peer's preface, a preface never comes twice,
  // nothing drains without GOAWAY, a closed session takes nothing
  assert.equal(nextSessionState(SessionState.Preface, SessionEvent.GoAwayReceived), undefined);
  assert.equal(nextSessionState(SessionState.Open, SessionEvent.PrefaceReceived), undefined);
  assert.equal(nextSessionState(SessionState.Open, SessionEvent.Drained), undefined);
  assert.equal(nextSessionState(SessionState.Closed, SessionEvent.Close), undefined);
});

interface Rig {
  peer: RawMuxPeer;
  session: MuxSession;
  log: ReturnType<typeof memoryLogger>;
}

async function rig(): Promise<Rig> {
  const peer = await RawMuxPeer.connect();
  const log = memoryLogger('debug');
  const session = new MuxSession(peer.sessionSocket, {
    initiator: false,
    logger: log.child({ link: 'l1' }),
  });
  peer.preface();
  await once(session, 'ready');
  return { peer, session, log };
}

function transitions(log: { lines: string[] }, stream: number): string[] {
  return log.lines
    .filter((l) => /mux stream \S+ -> \S+/.test(l) && l.includes(` stream=${stream} `))
    .map((l) => (/mux stream (\S+ -> \S+)/.exec(l) as RegExpExecArray)[1] as string);
}

const open = (id: number): Frame => ({
  type: FrameType.OPEN,
  flags: 0,
  streamId: id,
  payload: Buffer.alloc(0),
});
const fin = (id: number): Frame => ({ type: FrameType.FIN, flags: 0, streamId: id });
const data = (id: number, n: number): Frame => ({
  type: FrameType.DATA,
  flags: 0,
  streamId: id,
  payload: Buffer.alloc(n, 1),
});
const accept = (id: number): Frame => ({
  type: FrameType.ACCEPT,
  flags: 0,
  streamId: id,
  payload: Buffer.alloc(0),
});

test(
  "a peer's stream through offered, half-closed and closing to closed; each step logged with link and stream",
  T,
  async () => {
    const { peer, session, log } = await rig();
    try {
      const incoming = once(session, 'stream') as Promise<[MuxStream]>;
      await peer.send([open(1), data(1, 10), fin(1)]);
      const [s] = await incoming;
      const ended = once(s, 'end');
      s.on('data', (c: Buffer) => s.consumed(c.length));
      await ended;
      assert.equal(
        s.state,
        'offered-half-closed-remote',
        'the peer may finish before the stream is accepted',
      );
      const closed = once(s, 'close');
      s.accept();
      assert.equal(s.state, 'half-closed-remote');
      s.write(Buffer.from('reply'));
      s.end();
      await closed;
      assert.equal(s.state, 'closed');
      assert.deepEqual(transitions(log, 1), [
        'idle -> offered',
        'offered -> offered-half-closed-remote',
        'offered-half-closed-remote -> half-closed-remote',
        'half-closed-remote -> closing',
        'closing -> closed',
      ]);
      const line = log.lines.find((l) => l.includes('mux stream idle -> offered')) ?? '';
      assert.match(line, /DEBUG/);
      assert.match(line, /link=l1/);
      await waitFor(() => peer.of(FrameType.FIN).length === 1 || undefined, { what: 'our FIN' });
      assert.equal(session.stats.activeStreams, 0);
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test('our stream through opening (FIN before ACCEPT) to closed, and a reset from the peer', T, async () => {
  const { peer, session, log } = await rig();
  try {
    const s = session.openStream(Buffer.from('h'));
    assert.equal(s.state, 'opening');
    s.write(Buffer.from('early'));
    s.end();
    await waitFor(() => s.state === 'opening-half-closed-local' || undefined, { what: 'FIN written' });
    s.on('data', (c: Buffer) => s.consumed(c.length));
    const closed = once(s, 'close');
    await peer.send([accept(s.id), data(s.id, 3), fin(s.id)]);
    await closed;
    assert.deepEqual(transitions(log, s.id), [
      'idle -> opening',
      'opening -> opening-half-closed-local',
      'opening-half-closed-local -> half-closed-local',
      'half-closed-local -> closing',
      'closing -> closed',
    ]);

    const r = session.openStream(Buffer.from('h'));
    const reset = once(r, 'reset') as Promise<[number, string]>;
    await peer.send([
      accept(r.id),
      { type: FrameType.RESET, flags: 0, streamId: r.id, code: 0x101, reason: 'no route' },
    ]);
    assert.deepEqual(await reset, [0x101, 'no route']);
    assert.equal(r.state, 'reset');
    assert.deepEqual(transitions(log, r.id), ['idle -> opening', 'opening -> open', 'open -> reset']);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test(
  'illegal transitions the application asks for throw ILLEGAL_TRANSITION and change nothing',
  T,
  async () => {
    const { peer, session } = await rig();
    try {
      const s = session.openStream(Buffer.from('h'));
      assert.throws(
        () => s.accept(),
        (e: unknown) =>
          isCaravanError(e, ErrorCodes.ILLEGAL_TRANSITION) && /accept-sent .* opening/.test(e.message),
      );
      assert.equal(s.state, 'opening');
      const incoming = once(session, 'stream') as Promise<[MuxStream]>;
      await peer.send([open(1)]);
      const [r] = await incoming;
      r.accept();
      assert.throws(
        () => r.accept(),
        (e: unknown) => isCaravanError(e, ErrorCodes.ILLEGAL_TRANSITION) && /in state open$/.test(e.message),
      );
      assert.equal(r.state, 'open');
      assert.throws(
        () => s._transition(StreamEvent.Finished, 'local'),
        (e: unknown) => isCaravanError(e, ErrorCodes.ILLEGAL_TRANSITION),
      );
      assert.equal(
        s._transition(StreamEvent.Finished, 'peer'),
        false,
        'a peer-caused event is refused quietly',
      );
      // after a reset, the application's calls are no-ops, not errors
      s.reset(MuxErrorCodes.CANCEL, 'done');
      assert.equal(s.state, 'reset');
      s.accept();
      s.end();
      s.reset(MuxErrorCodes.CANCEL, 'again');
      assert.equal(s.state, 'reset');
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test(
  'illegal transitions a peer causes reset the stream with PROTOCOL; the session lives on',
  T,
  async () => {
    const { peer, session } = await rig();
    try {
      const streams = new Map<number, MuxStream>();
      session.on('stream', (r: MuxStream) => streams.set(r.id, r));
      const ours = [0, 1, 2, 3].map(() => session.openStream(Buffer.alloc(0)));
      const [a, b, c, d] = ours.map((s) => s.id) as [number, number, number, number];
      const resets = ours.map((s) => once(s, 'reset') as Promise<[number, string]>);
      await peer.send([
        data(a, 1), // DATA before ACCEPT
        fin(b), // FIN before ACCEPT
        accept(c),
        accept(c), // a second ACCEPT
        accept(d),
        fin(d),
        data(d, 1), // DATA after FIN
        open(1),
        accept(1), // ACCEPT on a stream the peer opened itself
        open(3),
        fin(3),
        fin(3), // a second FIN
      ]);
      const reasons = (await Promise.all(resets)).map(([code, reason]) => {
        assert.equal(code, MuxErrorCodes.PROTOCOL);
        return reason;
      });
      assert.deepEqual(reasons, [
        'DATA before ACCEPT',
        'FIN before ACCEPT',
        'unexpected ACCEPT',
        'DATA after FIN',
      ]);
      await waitFor(() => peer.of(FrameType.RESET).length === 6 || undefined, { what: 'six RESETs' });
      assert.ok(
        peer
          .of(FrameType.RESET)
          .every((f) => f.type === FrameType.RESET && f.code === MuxErrorCodes.PROTOCOL),
      );
      assert.equal(streams.get(1)?.state, 'reset');
      assert.equal(streams.get(3)?.state, 'reset');
      assert.equal(session.closed, false);
      assert.equal(session.stats.activeStreams, 0);
      // and the link still carries streams
      const s = session.openStream(Buffer.alloc(0));
      await peer.send([accept(s.id)]);
      await waitFor(() => s.state === 'open' || undefined, { what: 'a new stream accepted' });
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test('session: preface, open, going-away, ending, closed; each step logged', T, async () => {
  const peer = await RawMuxPeer.connect();
  const log = memoryLogger('debug');
  const session = new MuxSession(peer.sessionSocket, { initiator: false, logger: log });
  try {
    assert.equal(session.stateName, 'preface');
    session.on('stream', (r: MuxStream) => r.accept());
    peer.preface();
    await once(session, 'ready');
    assert.equal(session.stateName, 'open');
    const incoming = once(session, 'stream') as Promise<[MuxStream]>;
    await peer.send([open(1)]);
    const [r] = await incoming;
    await peer.send([
      { type: FrameType.GOAWAY, flags: 0, streamId: 0, lastStreamId: 0, code: 0, reason: 'bye' },
    ]);
    await waitFor(() => session.stateName === 'going-away' || undefined, { what: 'going-away' });
    const closed = once(session, 'close') as Promise<[Error | undefined]>;
    // the last stream goes: the session ends its direction, the peer's socket ends its own, the session closes
    r.reset(MuxErrorCodes.CANCEL, 'done');
    assert.equal(session.stateName, 'ending');
    const [err] = await closed;
    assert.equal(err, undefined, 'a clean close');
    assert.equal(session.stateName, 'closed');
    const steps = log.lines
      .filter((l) => /mux session \S+ -> /.test(l))
      .map((l) => (/mux session (\S+ -> \S+)/.exec(l) as RegExpExecArray)[1]);
    assert.deepEqual(steps, [
      'preface -> open',
      'open -> going-away',
      'going-away -> ending',
      'ending -> closed',
    ]);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test('session: GOAWAY before the peer preface, then the preface, then close', T, async () => {
  const peer = await RawMuxPeer.connect();
  const session = new MuxSession(peer.sessionSocket, { initiator: false });
  try {
    session.goAway(0, 'shutting down');
    assert.equal(session.stateName, 'ending', 'going-away, and at once ending: there are no streams');
    peer.preface();
    await once(session, 'ready');
    assert.equal(session.stateName, 'ending', 'a late preface changes nothing');
    const closed = once(session, 'close') as Promise<[Error | undefined]>;
    session.destroy();
    await closed;
    assert.equal(session.stateName, 'closed');
  } finally {
    session.destroy();
    await peer.close();
  }
});
