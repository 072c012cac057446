import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import {
  DEFAULT_PREFACE_TIMEOUT_MS,
  MuxErrorCodes,
  MuxSession,
  type MuxFault,
  type MuxSessionOptions,
  type MuxStream,
} from '../../src/links/mux/session.js';
import {
  FrameDecoder,
  FrameType,
  encodeFrame,
  encodePreface,
  type Frame,
} from '../../src/links/mux/frame.js';
import { RawMuxPeer } from '../support/raw-mux-peer.js';
import { waitFor } from '../support/wait.js';

const T = { timeout: 60_000 };

function open(id: number): Frame {
  return { type: FrameType.OPEN, flags: 0, streamId: id, payload: Buffer.from('h') };
}

function ping(n: number): Frame {
  const opaque = Buffer.alloc(8);
  opaque.writeUInt32BE(n >>> 0, 4);
  return { type: FrameType.PING, flags: 0, streamId: 0, opaque };
}

interface Setup {
  peer: RawMuxPeer;
  session: MuxSession;
  faults: MuxFault[];
  closed: Promise<Error | undefined>;
}

async function setup(
  opts: Partial<MuxSessionOptions> = {},
  peerOpts: { read?: boolean } = {},
): Promise<Setup> {
  const peer = await RawMuxPeer.connect(peerOpts);
  const faults: MuxFault[] = [];
  const session = new MuxSession(peer.sessionSocket, {
    initiator: false,
    onFault: (k) => faults.push(k),
    ...opts,
  });
  const closed = new Promise<Error | undefined>((r) => session.once('close', (err?: Error) => r(err)));
  return { peer, session, faults, closed };
}

test(
  'a peer that sends PINGs and never reads is disconnected; the reply queue stays bounded',
  T,
  async () => {
    const { peer, session, faults, closed } = await setup({ maxQueuedReplies: 1000 }, { read: false });
    try {
      peer.preface();
      let most = 0;
      let sent = 0;
      // bounded: at most 2 million PINGs (36 MB), stops as soon as the session gave up
      while (!session.closed && sent < 2_000_000) {
        const batch: Frame[] = [];
        for (let i = 0; i < 5000; i++) batch.push(ping(sent++));
        await peer.send(batch).catch(() => undefined);
        most = Math.max(most, session.queuedReplies);
        await new Promise<void>((r) => setImmediate(r));
      }
      const err = await closed;
      assert.ok(isCaravanError(err, ErrorCodes.LINK_CLOSED), String(err));
      assert.match(err.message, /peer does not read: more than 1000 replies/);
      assert.deepEqual(faults, ['unread-replies']);
      assert.ok(most <= 1000, `replies queued at most ${most}`);
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test('OPENs beyond the per-link stream limit are refused with REFUSED and counted', T, async () => {
  const { peer, session } = await setup({ maxPeerStreams: 10 });
  try {
    const accepted: MuxStream[] = [];
    const refused: string[] = [];
    session.on('stream', (s: MuxStream) => accepted.push(s));
    session.on('refused', (why) => refused.push(why));
    peer.preface();
    await peer.send(Array.from({ length: 50 }, (_, i) => open(2 * i + 1)));
    await waitFor(() => peer.of(FrameType.RESET).length === 40 || undefined, { what: '40 RESETs' });
    assert.equal(accepted.length, 10);
    assert.ok(
      peer.of(FrameType.RESET).every((f) => f.type === FrameType.RESET && f.code === MuxErrorCodes.REFUSED),
    );
    assert.equal(session.stats.streamsRefused, 40);
    assert.deepEqual(new Set(refused), new Set(['link-streams']));
    // a closed stream makes room for one more
    accepted[0]?.reset(MuxErrorCodes.CANCEL, 'done');
    await waitFor(() => session.stats.activeStreams === 9 || undefined, { what: 'stream removed' });
    await peer.send([open(201)]);
    await waitFor(() => accepted.length === 11 || undefined, { what: 'one more stream accepted' });
    assert.equal(session.closed, false, 'refusals do not close the link');
  } finally {
    session.destroy();
    await peer.close();
  }
});

test('OPENs faster than the per-link rate are refused; the bucket refills with time', T, async () => {
  const clock = new ManualClock();
  const { peer, session } = await setup({ clock, peerOpenRate: { perSecond: 10, burst: 5 } });
  try {
    const accepted: MuxStream[] = [];
    const refused: string[] = [];
    session.on('stream', (s: MuxStream) => accepted.push(s));
    session.on('refused', (why) => refused.push(why));
    peer.preface();
    await peer.send(Array.from({ length: 8 }, (_, i) => open(2 * i + 1)));
    await waitFor(() => accepted.length + refused.length === 8 || undefined, { what: '8 OPENs handled' });
    assert.equal(accepted.length, 5);
    assert.deepEqual(refused, ['link-rate', 'link-rate', 'link-rate']);
    clock.advance(200); // two tokens back
    await peer.send(Array.from({ length: 3 }, (_, i) => open(101 + 2 * i)));
    await waitFor(() => accepted.length + refused.length === 11 || undefined, { what: '3 more handled' });
    assert.equal(accepted.length, 7);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test('a burst of OPENs in one read is spread over event-loop turns, none lost', T, async () => {
  const { peer, session } = await setup({ opensPerTurn: 10 });
  try {
    let seen = 0;
    let atFirstTurn: number | undefined;
    session.on('stream', () => {
      if (seen++ === 0) setImmediate(() => (atFirstTurn = seen));
    });
    peer.preface();
    await peer.send(Array.from({ length: 100 }, (_, i) => open(2 * i + 1)));
    await waitFor(() => seen === 100 || undefined, { what: 'all 100 streams' });
    assert.ok(atFirstTurn !== undefined && atFirstTurn <= 10, `streams in the first turn: ${atFirstTurn}`);
    assert.equal(session.stats.activeStreams, 100);
    assert.equal(session.stats.streamsRefused, 0);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test(
  'a DATA frame longer than the peer announced closes the session with PROTOCOL, from its header',
  T,
  async () => {
    const { peer, session, faults, closed } = await setup();
    try {
      session.on('stream', (s: MuxStream) => s.accept());
      peer.preface({ initialWindow: 65536, maxFrameSize: 1024 });
      await peer.send([open(1)]);
      // only the header and a first piece: the length alone is the violation
      const frame = encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(2048) });
      peer.socket.write(frame.subarray(0, 100));
      const err = await closed;
      assert.ok(isCaravanError(err, ErrorCodes.PROTOCOL), String(err));
      assert.match(err.message, /DATA frame on stream 1: length 2048 exceeds the peer's maxFrameSize 1024/);
      assert.deepEqual(faults, ['protocol']);
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test('DATA up to the announced size is fine', T, async () => {
  const { peer, session } = await setup();
  try {
    const got: Buffer[] = [];
    session.on('stream', (s: MuxStream) => {
      s.accept();
      s.on('data', (c: Buffer) => got.push(Buffer.from(c)));
    });
    peer.preface({ initialWindow: 65536, maxFrameSize: 1024 });
    await peer.send([
      open(1),
      { type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(1024, 7) },
    ]);
    await waitFor(() => Buffer.concat(got).length === 1024 || undefined, { what: '1024 bytes' });
    assert.equal(session.closed, false);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test(
  'a session whose peer never sends its preface is closed after the timeout (default 10 s)',
  T,
  async () => {
    const clock = new ManualClock();
    const log = memoryLogger('warn');
    const { peer, session, faults, closed } = await setup({ clock, logger: log });
    try {
      assert.equal(DEFAULT_PREFACE_TIMEOUT_MS, 10_000);
      clock.advance(9_999);
      assert.equal(session.closed, false);
      clock.advance(1);
      const err = await closed;
      assert.ok(isCaravanError(err, ErrorCodes.LINK_TIMEOUT), String(err));
      assert.match(err.message, /no link preface received within 10000 ms/);
      assert.deepEqual(faults, ['preface-timeout']);
      assert.ok(log.lines.some((l) => /mux peer fault, closing link/.test(l) && /preface-timeout/.test(l)));
    } finally {
      session.destroy();
      await peer.close();
    }
  },
);

test('a peer that sent its preface is not closed by the preface timeout', T, async () => {
  const clock = new ManualClock();
  const { peer, session } = await setup({ clock });
  try {
    peer.preface();
    await once(session, 'ready');
    clock.advance(60_000);
    assert.equal(session.closed, false);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test('repeated stream errors of a peer are logged once per interval with a count', T, async () => {
  const clock = new ManualClock();
  const log = memoryLogger('warn');
  const { peer, session } = await setup({ clock, logger: log });
  try {
    session.on('stream', (s: MuxStream) => s.accept());
    peer.preface();
    // 200 streams, each gets a second FIN: a stream error (PROTOCOL) each time
    const frames: Frame[] = [];
    for (let i = 0; i < 200; i++) {
      const id = 2 * i + 1;
      frames.push(open(id), { type: FrameType.FIN, flags: 0, streamId: id });
      frames.push({ type: FrameType.FIN, flags: 0, streamId: id });
    }
    await peer.send(frames);
    await waitFor(() => peer.of(FrameType.RESET).length === 200 || undefined, { what: '200 RESETs' });
    const errLines = (): string[] => log.lines.filter((l) => /mux stream error/.test(l));
    assert.equal(errLines().length, 1, errLines().join('\n'));
    clock.advance(10_000);
    assert.equal(errLines().length, 2);
    assert.match(errLines()[1] ?? '', /repeated=199/);
  } finally {
    session.destroy();
    await peer.close();
  }
});

test('the decoder refuses an oversized DATA header once told the peer maximum', () => {
  const d = new FrameDecoder();
  d.setMaxDataPayload(100);
  const header = encodeFrame({
    type: FrameType.DATA,
    flags: 0,
    streamId: 3,
    payload: Buffer.alloc(101),
  }).subarray(0, 10);
  assert.throws(
    () => d.push(header, () => undefined),
    (e: unknown) =>
      isCaravanError(e, ErrorCodes.PROTOCOL) && /exceeds the peer's maxFrameSize 100/.test(e.message),
  );
  // preface bytes are no frames: the session applies the maximum only after the preface
  assert.equal(encodePreface({ initialWindow: 1, maxFrameSize: 100 }).length, 16);
});
