import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { memoryLogger } from '../../src/observe/log.js';
import { ManualClock } from '../../src/clock.js';
import { MuxErrorCodes, MuxSession } from '../../src/links/mux/session.js';
import type { MuxSessionOptions, MuxStream } from '../../src/links/mux/session.js';
import {
  FrameDecoder,
  FrameType,
  PrefaceDecoder,
  encodeFrame,
  encodeFrameHeader,
  encodePreface,
} from '../../src/links/mux/frame.js';
import type { Frame } from '../../src/links/mux/frame.js';
import { waitFor } from '../support/wait.js';

const T = { timeout: 60_000 };

type Opts = Partial<MuxSessionOptions>;

interface RawPair {
  client: Duplex;
  server: Duplex;
  close(): Promise<void>;
}

async function tcpSockets(): Promise<RawPair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [srv] = await accepted;
  return {
    client,
    server: srv,
    close: async () => {
      client.destroy();
      srv.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface Pair {
  a: MuxSession; // initiator (client)
  b: MuxSession; // accepting end (server)
  close(): Promise<void>;
}

async function sessionsOver(raw: RawPair, oa: Opts = {}, ob: Opts = {}): Promise<Pair> {
  const a = new MuxSession(raw.client, { initiator: true, ...oa });
  const b = new MuxSession(raw.server, { initiator: false, ...ob });
  await Promise.all([once(a, 'ready'), once(b, 'ready')]);
  return {
    a,
    b,
    close: async () => {
      a.destroy();
      b.destroy();
      await raw.close();
    },
  };
}

async function tcpPair(oa: Opts = {}, ob: Opts = {}): Promise<Pair> {
  return sessionsOver(await tcpSockets(), oa, ob);
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Write buf in chunks, respecting write()'s backpressure, then end. */
async function sendAll(s: MuxStream, buf: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let off = 0; off < buf.length; off += chunk) {
    if (!s.write(buf.subarray(off, off + chunk))) await once(s, 'drain');
  }
  s.end();
}

/** Collect a stream's data until 'end', consuming it at once. */
function collect(s: MuxStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => {
    parts.push(Buffer.from(c));
    s.consumed(c.length);
  });
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('reset', (code: number, reason: string) => reject(new Error(`reset ${code}: ${reason}`)));
  });
}

/** Echo every incoming stream; return credit only after the echoed bytes were handed to the socket. */
function echoServer(sess: MuxSession): void {
  sess.on('stream', (s: MuxStream) => {
    s.accept();
    s.on('data', (c: Buffer) => {
      s.write(c, (err) => {
        if (!err) s.consumed(c.length);
      });
    });
    s.on('end', () => s.end());
  });
}

function closedOnce(sess: MuxSession): Promise<Error | undefined> {
  return new Promise((resolve) => sess.once('close', (err?: Error) => resolve(err)));
}

function streamClosed(s: MuxStream): Promise<void> {
  return new Promise((resolve) => s.once('close', () => resolve()));
}

test('streams open from both ends, with odd/even ids, ACCEPT payload, data and FIN', T, async () => {
  const p = await tcpPair();
  try {
    for (const [opener, acceptor, parity] of [
      [p.a, p.b, 1],
      [p.b, p.a, 0],
    ] as const) {
      const incoming = once(acceptor, 'stream') as Promise<[MuxStream, Buffer]>;
      const s = opener.openStream(Buffer.from('key=db'));
      assert.equal(s.id % 2, parity);
      const accepted = once(s, 'accept') as Promise<[Buffer]>;
      const [r, header] = await incoming;
      assert.equal(header.toString(), 'key=db');
      assert.equal(r.id, s.id);
      r.accept(Buffer.from('ok'));
      const [payload] = await accepted;
      assert.equal(payload.toString(), 'ok');

      const got1 = collect(r);
      const got2 = collect(s);
      const closed = Promise.all([streamClosed(s), streamClosed(r)]);
      s.write(Buffer.from('ping from opener'));
      s.end();
      r.write(Buffer.from('pong from acceptor'));
      r.end();
      assert.equal((await got1).toString(), 'ping from opener');
      assert.equal((await got2).toString(), 'pong from acceptor');
      await closed;
      assert.equal(opener.stats.activeStreams, 0);
      assert.equal(acceptor.stats.activeStreams, 0);
      assert.equal(s.bytesOut, 'ping from opener'.length);
      assert.equal(s.bytesIn, 'pong from acceptor'.length);
    }
    assert.equal(p.a.stats.streamsOpened, 1);
    assert.equal(p.a.stats.streamsAccepted, 1);
  } finally {
    await p.close();
  }
});

test('20 MB echo, byte-exact, both directions concurrently over several streams', T, async () => {
  const p = await tcpPair();
  try {
    echoServer(p.a);
    echoServer(p.b);
    const jobs: Promise<void>[] = [];
    const run = async (sess: MuxSession, size: number): Promise<void> => {
      const data = randomBytes(size);
      const s = sess.openStream(Buffer.from('echo'));
      const got = collect(s);
      await sendAll(s, data, 48 * 1024 + 7);
      const back = await got;
      assert.equal(back.length, data.length);
      assert.equal(sha(back), sha(data));
    };
    for (let i = 0; i < 4; i++) jobs.push(run(p.a, 5 * 1024 * 1024));
    for (let i = 0; i < 2; i++) jobs.push(run(p.b, 3 * 1024 * 1024 + i));
    await Promise.all(jobs);
    await waitFor(() => p.a.stats.activeStreams === 0 && p.b.stats.activeStreams === 0, {
      what: 'streams done',
    });
    assert.ok(p.a.stats.bytesOut > 20 * 1024 * 1024);
  } finally {
    await p.close();
  }
});

test('half-close: the other direction keeps flowing after one FIN', T, async () => {
  const p = await tcpPair();
  try {
    const incoming = once(p.b, 'stream') as Promise<[MuxStream]>;
    const s = p.a.openStream(Buffer.alloc(0));
    s.write(Buffer.from('request'));
    s.end();
    const [r] = await incoming;
    r.accept();
    const req = await collect(r); // peer FIN seen
    assert.equal(req.toString(), 'request');
    const fromB = collect(s);
    const closed = Promise.all([streamClosed(s), streamClosed(r)]);
    for (let i = 0; i < 100; i++) r.write(Buffer.from(`line ${i}\n`));
    assert.equal(p.b.stats.activeStreams, 1, 'still open: only one FIN so far');
    r.end();
    const resp = (await fromB).toString();
    assert.equal(resp.split('\n').length, 101);
    await closed;
    assert.equal(p.a.stats.activeStreams, 0);
    assert.equal(p.b.stats.activeStreams, 0);
  } finally {
    await p.close();
  }
});

test(
  'backpressure: a receiver that never consumes stops the sender after one window; credit resumes it',
  T,
  async () => {
    const window = 64 * 1024;
    const p = await tcpPair({ maxFrameSize: 16 * 1024 }, { initialWindow: window });
    try {
      const incoming = once(p.b, 'stream') as Promise<[MuxStream]>;
      const s = p.a.openStream(Buffer.alloc(0));
      const total = 1024 * 1024;
      const data = randomBytes(total);
      let sawFalse = false;
      for (let off = 0; off < total; off += 8192) {
        if (!s.write(data.subarray(off, off + 8192))) sawFalse = true;
      }
      assert.ok(sawFalse, 'write() returned false once more than a window was queued');
      const [r] = await incoming;
      r.accept();
      const parts: Buffer[] = [];
      let received = 0;
      r.on('data', (c: Buffer) => {
        parts.push(Buffer.from(c));
        received += c.length;
      });
      await waitFor(() => received === window, { what: 'one window received' });
      // A few round trips in both directions: anything the sender could still push would have arrived by now.
      for (let i = 0; i < 3; i++) await Promise.all([p.a.ping(), p.b.ping()]);
      assert.equal(received, window, 'receiver got exactly one window and no more');
      assert.equal(s.queuedBytes, total - window, 'the rest waits in the sender, not on the link');

      // Return credit as the app "delivers": flow resumes to completion.
      let drained = false;
      s.once('drain', () => (drained = true));
      r.on('data', (c: Buffer) => r.consumed(c.length));
      r.consumed(received);
      await waitFor(() => received === total, { what: 'all data after credit' });
      assert.equal(sha(Buffer.concat(parts)), sha(data));
      assert.ok(drained, "'drain' fired once the queue went below the window");
    } finally {
      await p.close();
    }
  },
);

test(
  'window auto-tuning: a bulk flow limited by the window gets a larger one, bounded by maxStreamWindow',
  T,
  async () => {
    const window = 64 * 1024;
    const max = 256 * 1024;
    const p = await tcpPair({}, { initialWindow: window, maxStreamWindow: max });
    try {
      const incoming = once(p.b, 'stream') as Promise<[MuxStream]>;
      const s = p.a.openStream(Buffer.alloc(0));
      const data = randomBytes(4 * 1024 * 1024);
      const sent = sendAll(s, data);
      const [r] = await incoming;
      r.accept();
      let received = 0;
      const parts: Buffer[] = [];
      // A consumer that hands data on in batches, each time the sender has used up its credit: the flow is
      // limited by the window alone, as a bulk flow over a link with some delay is.
      let unconsumed = 0;
      r.on('data', (c: Buffer) => {
        parts.push(Buffer.from(c));
        received += c.length;
        unconsumed += c.length;
        if (r._recvWindow === 0 || received === data.length) {
          r.consumed(unconsumed);
          unconsumed = 0;
        }
      });
      await sent;
      await waitFor(() => received === data.length, { what: 'all data' });
      assert.equal(sha(Buffer.concat(parts)), sha(data));
      assert.equal(r._window, max, 'the window grew to the bound and no further');
    } finally {
      await p.close();
    }
  },
);

test('flow-control violation by the peer resets the stream with FLOW_CONTROL and is logged', T, async () => {
  const raw = await tcpSockets();
  const log = memoryLogger('warn');
  const b = new MuxSession(raw.server, { initiator: false, initialWindow: 1024, logger: log });
  try {
    const frames: Frame[] = [];
    const dec = new FrameDecoder();
    const pre = new PrefaceDecoder();
    let prefaceDone = false;
    raw.client.on('data', (c: Buffer) => {
      let d = c;
      if (!prefaceDone) {
        const r = pre.push(c);
        if (!r) return;
        prefaceDone = true;
        d = r.rest;
      }
      dec.push(d, (f) => frames.push(f));
    });
    // Attach in the 'stream' handler: the reset happens while the same chunk is being read.
    const gotReset = new Promise<[number, string]>((resolve) =>
      b.once('stream', (r: MuxStream) =>
        r.once('reset', (code: number, reason: string) => resolve([code, reason])),
      ),
    );
    raw.client.write(
      Buffer.concat([
        encodePreface({ initialWindow: 65536, maxFrameSize: 65536 }),
        encodeFrame({ type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.from('h') }),
        encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(1000) }),
        encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(100) }),
      ]),
    );
    const [code] = await gotReset;
    assert.equal(code, MuxErrorCodes.FLOW_CONTROL);
    const reset = await waitFor(() => frames.find((f) => f.type === FrameType.RESET), {
      what: 'RESET frame',
    });
    assert.ok(
      reset.type === FrameType.RESET && reset.streamId === 1 && reset.code === MuxErrorCodes.FLOW_CONTROL,
    );
    assert.ok(log.lines.some((l) => /flow-control error/.test(l)));
    assert.equal(b.closed, false, 'the session survives a stream error');
    assert.equal(b.stats.activeStreams, 0);
  } finally {
    b.destroy();
    await raw.close();
  }
});

test('reset propagates with code and reason; pending writes fail', T, async () => {
  const p = await tcpPair();
  try {
    const incoming = once(p.b, 'stream') as Promise<[MuxStream]>;
    const s = p.a.openStream(Buffer.alloc(0));
    const [r] = await incoming;
    r.accept();
    await once(s, 'accept');
    const gotReset = once(s, 'reset') as Promise<[number, string]>;
    const closed = streamClosed(s);
    r.reset(0x1234, 'target refused');
    const [code, reason] = await gotReset;
    assert.equal(code, 0x1234);
    assert.equal(reason, 'target refused');
    await closed;
    const err = await new Promise<Error | null | undefined>((resolve) =>
      s.write(Buffer.from('late'), resolve),
    );
    assert.ok(err instanceof Error);
    // and the other way round
    const incoming2 = once(p.b, 'stream') as Promise<[MuxStream]>;
    const s2 = p.a.openStream(Buffer.alloc(0));
    const [r2] = await incoming2;
    const r2Reset = once(r2, 'reset') as Promise<[number, string]>;
    s2.reset(MuxErrorCodes.CANCEL, 'client gone');
    assert.deepEqual(await r2Reset, [MuxErrorCodes.CANCEL, 'client gone']);
    await waitFor(() => p.a.stats.activeStreams === 0 && p.b.stats.activeStreams === 0, {
      what: 'streams removed',
    });
  } finally {
    await p.close();
  }
});

test('ping measures RTT on the session clock; keepalive pings once per interval', T, async () => {
  const clock = new ManualClock();
  const p = await tcpPair({ keepaliveIntervalMs: 1000, clock }, { clock });
  try {
    // The clock moves 37 ms between the PING and its ACK: the ACK cannot arrive before this turn is over.
    const pinged = p.b.ping();
    clock.advance(37);
    assert.equal(await pinged, 37);
    assert.equal(p.b.rttMs, 37);
    // with keepalive on, the first RTT is measured as soon as the peer's preface is in
    await waitFor(() => p.a.rttMs !== undefined || undefined, { what: 'first keepalive RTT' });
    let rtts = 0;
    p.a.on('rtt', () => rtts++);
    clock.advance(1000 - 37 - 1); // the keepalive interval started with the session, 37 ms ago
    for (let i = 0; i < 3; i++) await Promise.all([p.a.ping(), p.b.ping()]); // round trips: nothing else came
    assert.equal(rtts, 3, 'no keepalive PING before the interval is over');
    const next = once(p.a, 'rtt') as Promise<[number]>;
    clock.advance(1); // the interval is over: a keepalive PING
    clock.advance(12);
    assert.deepEqual(await next, [12]);
    assert.equal(p.a.rttMs, 12);
  } finally {
    await p.close();
  }
});

test('idle timeout closes a silent link with LINK_TIMEOUT; keepalive keeps a link alive', T, async () => {
  const clock = new ManualClock();
  const p = await tcpPair({ idleTimeoutMs: 150, clock }, { clock });
  try {
    const closes = Promise.all([closedOnce(p.a), closedOnce(p.b)]);
    clock.advance(149);
    assert.equal(p.a.closed, false);
    clock.advance(1);
    assert.equal(p.a.closed, true, 'closed when the idle timeout is over');
    const [errA, errB] = await closes;
    assert.ok(isCaravanError(errA, ErrorCodes.LINK_TIMEOUT), String(errA));
    assert.match(errA.message, /nothing received for 150 ms/);
    assert.ok(isCaravanError(errB, ErrorCodes.LINK_CLOSED), String(errB));
  } finally {
    await p.close();
  }
  const clock2 = new ManualClock();
  const q = await tcpPair(
    { idleTimeoutMs: 300, keepaliveIntervalMs: 20, clock: clock2 },
    { keepaliveIntervalMs: 20, clock: clock2 },
  );
  try {
    await waitFor(() => q.a.rttMs !== undefined || undefined, { what: 'first keepalive RTT' });
    // 20 keepalive intervals, 400 ms of session time: each one's PINGs and ACKs are received before the next
    for (let i = 0; i < 20; i++) {
      const acked = once(q.a, 'rtt');
      clock2.advance(20);
      await acked;
    }
    assert.equal(q.a.closed, false, 'alive well past the idle timeout');
  } finally {
    await q.close();
  }
});

test('bad preface closes the session with a PROTOCOL error naming what was received', T, async () => {
  const raw = await tcpSockets();
  try {
    const b = new MuxSession(raw.server, { initiator: false });
    const closed = closedOnce(b);
    raw.client.on('error', () => undefined);
    raw.client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const err = await closed;
    assert.ok(isCaravanError(err, ErrorCodes.PROTOCOL), String(err));
    assert.match(err.message, /expected magic "CARAVAN", received 47 45 54 20/);
    assert.equal(b.closed, true);
  } finally {
    await raw.close();
  }
  const raw2 = await tcpSockets();
  try {
    const b = new MuxSession(raw2.server, { initiator: false });
    const closed = closedOnce(b);
    raw2.client.on('error', () => undefined);
    const v9 = encodePreface({ initialWindow: 1000, maxFrameSize: 1000 });
    v9[7] = 9;
    raw2.client.write(v9);
    const err = await closed;
    assert.ok(isCaravanError(err, ErrorCodes.PROTOCOL));
    assert.match(err.message, /unsupported protocol version 9/);
  } finally {
    await raw2.close();
  }
});

test('garbage after the preface closes the session with a typed error; the process is fine', T, async () => {
  const garbage: Buffer[] = [
    encodeFrameHeader(0xee, 0, 1, 0),
    encodeFrameHeader(FrameType.DATA, 0, 1, 0x7fff_ffff),
    encodeFrameHeader(FrameType.PING, 0, 3, 8),
    encodeFrame({ type: FrameType.OPEN, flags: 0, streamId: 2, payload: Buffer.alloc(0) }), // wrong parity
    Buffer.concat([
      encodeFrame({ type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.alloc(0) }),
      encodeFrame({ type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.alloc(0) }), // still open
    ]),
    Buffer.concat([Buffer.from([0]), randomBytes(4096)]), // type 0 is not a frame type
  ];
  for (const g of garbage) {
    const raw = await tcpSockets();
    try {
      const b = new MuxSession(raw.server, { initiator: false });
      b.on('stream', () => undefined);
      const closed = closedOnce(b);
      let closes = 0;
      b.on('close', () => closes++);
      raw.client.on('error', () => undefined);
      raw.client.resume();
      raw.client.write(Buffer.concat([encodePreface({ initialWindow: 1000, maxFrameSize: 1000 }), g]));
      const err = await closed;
      assert.ok(
        isCaravanError(err, ErrorCodes.PROTOCOL),
        `${g.subarray(0, 10).toString('hex')}: ${String(err)}`,
      );
      await once(raw.client, 'close');
      assert.equal(closes, 1, "'close' exactly once");
    } finally {
      await raw.close();
    }
  }
});

test(
  'goAway: no new streams either way, existing streams finish, then the link closes cleanly',
  T,
  async () => {
    const p = await tcpPair();
    try {
      echoServer(p.b);
      echoServer(p.a);
      const s = p.a.openStream(Buffer.alloc(0));
      const got = collect(s);
      await once(s, 'accept');
      const goaway = once(p.b, 'goaway') as Promise<[number, string]>;
      const closes = Promise.all([closedOnce(p.a), closedOnce(p.b)]);
      p.a.goAway(0, 'maintenance');
      // An OPEN that crosses the GOAWAY on the wire is refused, and may be retried elsewhere.
      const late = p.b.openStream(Buffer.alloc(0));
      const lateReset = once(late, 'reset') as Promise<[number, string]>;
      assert.throws(
        () => p.a.openStream(Buffer.alloc(0)),
        (e: unknown) => isCaravanError(e, ErrorCodes.LINK_CLOSED),
      );
      assert.deepEqual(await goaway, [0, 'maintenance']);
      assert.throws(
        () => p.b.openStream(Buffer.alloc(0)),
        (e: unknown) => isCaravanError(e, ErrorCodes.LINK_CLOSED),
      );
      assert.equal((await lateReset)[0], MuxErrorCodes.REFUSED);
      // the existing stream still works
      await sendAll(s, Buffer.from('still flowing'));
      assert.equal((await got).toString(), 'still flowing');
      const [errA, errB] = await closes;
      assert.equal(errA, undefined);
      assert.equal(errB, undefined);
    } finally {
      await p.close();
    }
  },
);

test('destroy resets all streams with LINK_CLOSED, both ends', T, async () => {
  const p = await tcpPair();
  try {
    const remote: MuxStream[] = [];
    p.b.on('stream', (r: MuxStream) => {
      r.accept();
      remote.push(r);
    });
    const local = [0, 1, 2].map(() => p.a.openStream(Buffer.alloc(0)));
    await waitFor(() => remote.length === 3, { what: 'three streams' });
    const events: string[] = [];
    const resets = local.map(
      (s) =>
        new Promise<number>((resolve) => {
          s.once('reset', (code: number) => {
            events.push('reset');
            resolve(code);
          });
          s.once('close', () => events.push('close'));
        }),
    );
    const remoteResets = remote.map((r) => once(r, 'reset') as Promise<[number, string]>);
    const failedWrite = new Promise<unknown>((resolve) => {
      local[0]?.write(Buffer.alloc(1024), resolve);
    });
    const bClosed = closedOnce(p.b);
    p.a.destroy();
    assert.deepEqual(await Promise.all(resets), [0xffff_0001, 0xffff_0001, 0xffff_0001]);
    assert.deepEqual(events.slice(0, 2), ['reset', 'close']);
    assert.ok((await failedWrite) instanceof Error);
    for (const [code] of await Promise.all(remoteResets)) assert.equal(code, MuxErrorCodes.LINK_CLOSED);
    assert.ok(isCaravanError(await bClosed, ErrorCodes.LINK_CLOSED));
    assert.equal(p.a.stats.activeStreams, 0);
    assert.equal(p.b.stats.activeStreams, 0);
    assert.throws(
      () => p.a.openStream(Buffer.alloc(0)),
      (e: unknown) => isCaravanError(e, ErrorCodes.LINK_CLOSED),
    );
    await assert.rejects(p.a.ping(), (e: unknown) => isCaravanError(e, ErrorCodes.LINK_CLOSED));
  } finally {
    await p.close();
  }
});

test('1000 short streams opened and closed leave no streams behind', T, async () => {
  const p = await tcpPair();
  try {
    echoServer(p.b);
    const one = async (i: number): Promise<void> => {
      const s = p.a.openStream(Buffer.from(String(i)));
      const got = collect(s);
      const closed = streamClosed(s);
      s.write(Buffer.from(`msg ${i}`));
      s.end();
      assert.equal((await got).toString(), `msg ${i}`);
      await closed;
    };
    const all: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) all.push(one(i));
    await Promise.all(all);
    await waitFor(() => p.b.stats.activeStreams === 0, { what: 'acceptor streams removed' });
    assert.equal(p.a.stats.activeStreams, 0);
    assert.equal(p.a.stats.streamsOpened, 1000);
    assert.equal(p.b.stats.streamsAccepted, 1000);
  } finally {
    await p.close();
  }
});

test('CONTROL goes ahead of DATA written in the same tick; delivered in order', T, async () => {
  const p = await tcpPair();
  try {
    const order: string[] = [];
    p.b.on('control', (c: Buffer) => order.push(`control:${c.toString()}`));
    p.b.on('stream', (r: MuxStream) => {
      r.accept();
      r.on('data', (c: Buffer) => {
        order.push('data');
        r.consumed(c.length);
      });
    });
    const s = p.a.openStream(Buffer.alloc(0));
    s.write(Buffer.alloc(100_000));
    p.a.sendControl(Buffer.from('1'));
    p.a.sendControl(Buffer.from('2'));
    await waitFor(() => order.length >= 3, { what: 'frames' });
    assert.deepEqual(order.slice(0, 2), ['control:1', 'control:2']);
  } finally {
    await p.close();
  }
});

test(
  'write callbacks fire once the bytes are handed to the socket; OPEN without a stream listener is refused',
  T,
  async () => {
    const p = await tcpPair();
    try {
      const s = p.a.openStream(Buffer.alloc(0));
      const reset = once(s, 'reset') as Promise<[number, string]>;
      const cbErr = await new Promise<Error | null | undefined>((resolve) =>
        s.write(Buffer.alloc(10), resolve),
      );
      assert.equal(cbErr, null);
      assert.equal((await reset)[0], MuxErrorCodes.REFUSED);
    } finally {
      await p.close();
    }
  },
);

test('over real TLS: echo both directions with sha256 check', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caravan-mux-tls-'));
  let closeAll: (() => Promise<void>) | undefined;
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-nodes',
        '-subj',
        '/CN=test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = tls.createServer({ key, cert, minVersion: 'TLSv1.3' });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
    const client = tls.connect({ port, host: '127.0.0.1', ca: cert });
    // The session may start before the handshake completes: writes are buffered by the TLS socket.
    const a = new MuxSession(client, { initiator: true });
    const [srv] = await accepted;
    const b = new MuxSession(srv, { initiator: false });
    closeAll = async () => {
      a.destroy();
      b.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    };
    await Promise.all([once(a, 'ready'), once(b, 'ready')]);
    echoServer(a);
    echoServer(b);
    const run = async (sess: MuxSession, size: number): Promise<void> => {
      const data = randomBytes(size);
      const s = sess.openStream(Buffer.from('echo'));
      const got = collect(s);
      await sendAll(s, data);
      assert.equal(sha(await got), sha(data));
    };
    await Promise.all([run(a, 4 * 1024 * 1024), run(a, 1024 * 1024), run(b, 2 * 1024 * 1024)]);
    const rtt = await a.ping();
    assert.ok(rtt > 0 && rtt < 5000, `a real round trip over TLS: ${rtt} ms`);
    // graceful close over TLS
    const closes = Promise.all([closedOnce(a), closedOnce(b)]);
    b.goAway();
    assert.deepEqual(await closes, [undefined, undefined]);
  } finally {
    if (closeAll) await closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('streams opened before the peer preface arrives get their credit once it does', T, async () => {
  const raw = await tcpSockets();
  const a = new MuxSession(raw.client, { initiator: true });
  try {
    const s = a.openStream(Buffer.from('early'));
    const data = randomBytes(600 * 1024); // more than one default window
    const sent = sendAll(s, data);
    const got = collect(s);
    // Only now does the other end start (and send its preface).
    const b = new MuxSession(raw.server, { initiator: false });
    echoServer(b);
    await sent;
    assert.equal(sha(await got), sha(data));
    b.destroy();
  } finally {
    a.destroy();
    await raw.close();
  }
});

test('stream ids wrap around u32 and skip ids still in use', T, async () => {
  const p = await tcpPair();
  try {
    echoServer(p.b);
    const first = p.a.openStream(Buffer.alloc(0)); // id 1, kept open
    assert.equal(first.id, 1);
    (p.a as unknown as { nextId: number }).nextId = 0xffff_fffd;
    const ids = [0, 1, 2].map(() => p.a.openStream(Buffer.alloc(0)));
    assert.deepEqual(
      ids.map((s) => s.id),
      [0xffff_fffd, 0xffff_ffff, 3],
    );
    await Promise.all(
      ids.map(async (s, i) => {
        const got = collect(s);
        await sendAll(s, Buffer.from(`wrapped ${i}`));
        assert.equal((await got).toString(), `wrapped ${i}`);
      }),
    );
  } finally {
    await p.close();
  }
});
