import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CaravanError, ErrorCodes, isCaravanError } from '../../src/errors.js';
import {
  FRAME_HEADER_SIZE,
  FrameDecoder,
  FrameFlags,
  FrameType,
  MAX_FRAME_PAYLOAD,
  PREFACE_SIZE,
  PrefaceDecoder,
  encodeFrame,
  encodeFrameHeader,
  encodePreface,
} from '../../src/links/mux/frame.js';
import type { Frame } from '../../src/links/mux/frame.js';

function decodeAll(chunks: Uint8Array[], maxPayload?: number): Frame[] {
  const d = new FrameDecoder(maxPayload === undefined ? {} : { maxPayload });
  const out: Frame[] = [];
  for (const c of chunks) d.push(c, (f) => out.push(f));
  assert.equal(d.buffered, 0, 'no partial frame left');
  return out;
}

function expectProtocolError(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCaravanError(e, ErrorCodes.PROTOCOL), `expected a PROTOCOL CaravanError, got ${String(e)}`);
    if (re) assert.match((e as Error).message, re);
    return true;
  });
}

/** Comparable form: payload buffers as hex. */
function norm(f: Frame): Record<string, unknown> {
  const o: Record<string, unknown> = { ...f };
  for (const k of ['payload', 'opaque'] as const) {
    const v = o[k];
    if (Buffer.isBuffer(v)) o[k] = v.toString('hex');
  }
  return o;
}

/**
 * A DATA frame split across reads is delivered as several DATA frames of the same stream (never copied), so
 * decoded sequences are compared with consecutive DATA frames of one stream merged.
 */
function mergeData(frames: Frame[]): Record<string, unknown>[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const last = out[out.length - 1];
    if (f.type === FrameType.DATA && last?.type === FrameType.DATA && last.streamId === f.streamId) {
      out[out.length - 1] = { ...last, payload: Buffer.concat([last.payload, f.payload]) };
    } else out.push(f);
  }
  return out.map(norm);
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const sid = fc.integer({ min: 1, max: 0xffff_ffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const reason = fc.string({ maxLength: 40 });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant(FrameType.OPEN), flags: fc.constant(0), streamId: sid, payload: bytes(300) }),
  fc.record({
    type: fc.constant(FrameType.ACCEPT),
    flags: fc.constant(0),
    streamId: sid,
    payload: bytes(50),
  }),
  fc.record({
    type: fc.constant(FrameType.DATA),
    flags: fc.constant(0),
    streamId: sid,
    payload: bytes(3000),
  }),
  fc.record({
    type: fc.constant(FrameType.WINDOW),
    flags: fc.constant(0),
    streamId: sid,
    increment: fc.integer({ min: 1, max: 0xffff_ffff }),
  }),
  fc.record({ type: fc.constant(FrameType.FIN), flags: fc.constant(0), streamId: sid }),
  fc.record({ type: fc.constant(FrameType.RESET), flags: fc.constant(0), streamId: sid, code: u32, reason }),
  fc.record({
    type: fc.constant(FrameType.PING),
    flags: fc.constantFrom(0, FrameFlags.ACK),
    streamId: fc.constant(0),
    opaque: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    type: fc.constant(FrameType.GOAWAY),
    flags: fc.constant(0),
    streamId: fc.constant(0),
    lastStreamId: u32,
    code: u32,
    reason,
  }),
  fc.record({
    type: fc.constant(FrameType.CONTROL),
    flags: fc.constant(0),
    streamId: fc.constant(0),
    payload: bytes(500),
  }),
) as fc.Arbitrary<Frame>;

/** Split a buffer at the given (sorted, deduplicated) cut points. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of pts) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

test('header layout is 10 bytes, big endian', () => {
  const h = encodeFrameHeader(FrameType.DATA, 0x5a, 0x01020304, 0x0a0b0c0d);
  assert.equal(h.length, FRAME_HEADER_SIZE);
  assert.deepEqual([...h], [0x03, 0x5a, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
  const buf = Buffer.alloc(14);
  encodeFrameHeader(FrameType.FIN, 0, 7, 0, buf, 4);
  assert.deepEqual([...buf.subarray(4)], [5, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
});

test('every frame type round-trips', () => {
  const frames: Frame[] = [
    { type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.from('hdr') },
    { type: FrameType.ACCEPT, flags: 0, streamId: 1, payload: Buffer.alloc(0) },
    { type: FrameType.DATA, flags: 0, streamId: 2, payload: Buffer.from('hello') },
    { type: FrameType.WINDOW, flags: 0, streamId: 3, increment: 65536 },
    { type: FrameType.FIN, flags: 0, streamId: 4 },
    { type: FrameType.RESET, flags: 0, streamId: 5, code: 0x100, reason: 'no route to "db" ✓' },
    { type: FrameType.PING, flags: FrameFlags.ACK, streamId: 0, opaque: Buffer.from('12345678') },
    { type: FrameType.GOAWAY, flags: 0, streamId: 0, lastStreamId: 9, code: 0, reason: 'bye' },
    { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: Buffer.from('{"hello":1}') },
  ];
  const wire = Buffer.concat(frames.map(encodeFrame));
  assert.deepEqual(decodeAll([wire]).map(norm), frames.map(norm));
});

test('payloads of frames within one chunk are views of the chunk, not copies', () => {
  const a = encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(1000, 1) });
  const b = encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 3, payload: Buffer.alloc(500, 2) });
  const chunk = Buffer.concat([a, b]);
  const frames = decodeAll([chunk]);
  for (const f of frames) {
    assert.equal(f.type, FrameType.DATA);
    if (f.type === FrameType.DATA) assert.equal(f.payload.buffer, chunk.buffer);
  }
  // spanning chunks: delivered in pieces, each still a view of the chunk it arrived in, bytes intact
  const [x, y] = [chunk.subarray(0, 700), chunk.subarray(700)];
  const spanned = decodeAll([x, y]);
  assert.deepEqual(mergeData(spanned), frames.map(norm));
  for (const f of spanned) {
    if (f.type === FrameType.DATA) assert.ok(f.payload.buffer === chunk.buffer, 'no copy');
  }
});

test('byte-at-a-time decoding', () => {
  const f: Frame = { type: FrameType.RESET, flags: 0, streamId: 77, code: 4, reason: 'cancel' };
  const wire = encodeFrame(f);
  const chunks = [...wire].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAll(chunks).map(norm), [norm(f)]);
});

test('zero-length frames at chunk boundaries', () => {
  const fin = encodeFrame({ type: FrameType.FIN, flags: 0, streamId: 3 });
  const data0 = encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 3, payload: Buffer.alloc(0) });
  const frames = decodeAll([Buffer.concat([fin, data0]), fin]);
  assert.deepEqual(
    frames.map((f) => f.type),
    [FrameType.FIN, FrameType.DATA, FrameType.FIN],
  );
});

test('malformed input: typed PROTOCOL errors', () => {
  const hdr = (type: number, streamId: number, len: number) => encodeFrameHeader(type, 0, streamId, len);
  expectProtocolError(() => decodeAll([hdr(0x42, 1, 0)]), /unknown frame type 0x42/);
  expectProtocolError(() => decodeAll([hdr(0, 1, 0)]), /unknown frame type/);
  expectProtocolError(() => decodeAll([hdr(FrameType.DATA, 1, MAX_FRAME_PAYLOAD + 1)]), /exceeds limit/);
  expectProtocolError(() => decodeAll([hdr(FrameType.DATA, 1, 2000)], 1000), /exceeds limit 1000/);
  expectProtocolError(() => decodeAll([hdr(FrameType.DATA, 0, 1)]), /must not use stream id 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.OPEN, 0, 1)]), /must not use stream id 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.PING, 1, 8)]), /must use stream id 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.CONTROL, 5, 0)]), /must use stream id 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.GOAWAY, 5, 8)]), /must use stream id 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.WINDOW, 1, 3)]), /expected 4/);
  expectProtocolError(() => decodeAll([hdr(FrameType.FIN, 1, 1)]), /expected 0/);
  expectProtocolError(() => decodeAll([hdr(FrameType.PING, 0, 7)]), /expected 8/);
  expectProtocolError(() => decodeAll([hdr(FrameType.RESET, 1, 3)]), /expected >= 4/);
  expectProtocolError(() => decodeAll([hdr(FrameType.GOAWAY, 0, 7)]), /expected >= 8/);
  expectProtocolError(
    () => decodeAll([Buffer.concat([hdr(FrameType.WINDOW, 1, 4), Buffer.alloc(4)])]),
    /increment 0/,
  );
  // errors are detected from the header alone, before the payload arrives
  const d = new FrameDecoder();
  expectProtocolError(() => d.push(hdr(FrameType.DATA, 1, 0xffff_ffff), () => undefined));
  // and the decoder stays failed
  expectProtocolError(() => d.push(Buffer.alloc(1), () => undefined));
});

test('frames before a malformed one are delivered', () => {
  const good = encodeFrame({ type: FrameType.FIN, flags: 0, streamId: 1 });
  const bad = encodeFrameHeader(0x77, 0, 1, 0);
  const seen: Frame[] = [];
  const d = new FrameDecoder();
  expectProtocolError(() => d.push(Buffer.concat([good, good, bad]), (f) => seen.push(f)));
  assert.equal(seen.length, 2);
});

test('encoder refuses frames it would not decode', () => {
  assert.throws(
    () => encodeFrame({ type: FrameType.DATA, flags: 0, streamId: 0, payload: Buffer.alloc(1) }),
    RangeError,
  );
  assert.throws(
    () => encodeFrame({ type: FrameType.PING, flags: 0, streamId: 0, opaque: Buffer.alloc(7) }),
    RangeError,
  );
  assert.throws(
    () => encodeFrame({ type: FrameType.WINDOW, flags: 0, streamId: 1, increment: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeFrame({
        type: FrameType.CONTROL,
        flags: 0,
        streamId: 0,
        payload: Buffer.alloc(MAX_FRAME_PAYLOAD + 1),
      }),
    RangeError,
  );
});

test('long reasons are cut at a character boundary', () => {
  const long = 'é'.repeat(2000);
  const [f] = decodeAll([
    encodeFrame({ type: FrameType.RESET, flags: 0, streamId: 1, code: 1, reason: long }),
  ]);
  assert.ok(f && f.type === FrameType.RESET);
  assert.ok(f.reason.length > 0 && Buffer.byteLength(f.reason) <= 1024);
  assert.ok(/^é+$/.test(f.reason));
});

test('preface: encode/decode, split, trailing frames', () => {
  const p = encodePreface({ initialWindow: 262144, maxFrameSize: 65536 });
  assert.equal(p.length, PREFACE_SIZE);
  assert.equal(p.subarray(0, 7).toString('latin1'), 'CARAVAN');
  assert.equal(p[7], 1);
  const trailing = encodeFrame({ type: FrameType.FIN, flags: 0, streamId: 1 });
  const all = Buffer.concat([p, trailing]);
  const d = new PrefaceDecoder();
  assert.equal(d.push(all.subarray(0, 5)), undefined);
  assert.equal(d.push(all.subarray(5, 12)), undefined);
  const r = d.push(all.subarray(12));
  assert.ok(r);
  assert.deepEqual(r.settings, { initialWindow: 262144, maxFrameSize: 65536 });
  assert.deepEqual([...r.rest], [...trailing]);
  assert.throws(() => encodePreface({ initialWindow: 0, maxFrameSize: 1 }), RangeError);
});

test('preface: wrong magic fails at the first wrong byte, naming what was received', () => {
  expectProtocolError(
    () => new PrefaceDecoder().push(Buffer.from('GET ')),
    /expected magic "CARAVAN", received 47 45 54 20 \("GET "\)/,
  );
  expectProtocolError(() => new PrefaceDecoder().push(Buffer.from('CARX')), /received .*"CARX"/);
  const v2 = encodePreface({ initialWindow: 1, maxFrameSize: 1 });
  v2[7] = 2;
  expectProtocolError(() => new PrefaceDecoder().push(v2.subarray(0, 8)), /unsupported protocol version 2/);
  const bad = encodePreface({ initialWindow: 1, maxFrameSize: 1 });
  bad.writeUInt32BE(0, 8);
  expectProtocolError(() => new PrefaceDecoder().push(bad), /initialWindow 0 out of range/);
  const bad2 = encodePreface({ initialWindow: 1, maxFrameSize: 1 });
  bad2.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 12);
  expectProtocolError(() => new PrefaceDecoder().push(bad2), /maxFrameSize/);
});

test('property: random frame sequences split at random points round-trip', () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (frames, cuts) => {
        const wire = Buffer.concat(frames.map(encodeFrame));
        const got = decodeAll(splitAt(wire, cuts));
        assert.deepEqual(mergeData(got), mergeData(frames));
      },
    ),
    { numRuns: 500 },
  );
});

test('property: random garbage never crashes, only typed errors', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (chunks) => {
      const d = new FrameDecoder({ maxPayload: 4096 });
      try {
        for (const c of chunks) d.push(c, () => undefined);
      } catch (e) {
        assert.ok(e instanceof CaravanError && e.code === ErrorCodes.PROTOCOL, `unexpected ${String(e)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: valid frames with corrupted bytes never crash', () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { minLength: 1, maxLength: 10 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (frames, edits, cuts) => {
        const wire = Buffer.concat(frames.map(encodeFrame));
        for (const [pos, val] of edits) wire[pos % wire.length] = val;
        const d = new FrameDecoder();
        try {
          for (const c of splitAt(wire, cuts)) d.push(c, () => undefined);
        } catch (e) {
          assert.ok(isCaravanError(e, ErrorCodes.PROTOCOL), `unexpected ${String(e)}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test('property: preface decoder on garbage only throws typed errors', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 5 }), (chunks) => {
      const d = new PrefaceDecoder();
      try {
        for (const c of chunks) if (d.push(c)) break;
      } catch (e) {
        assert.ok(isCaravanError(e, ErrorCodes.PROTOCOL), `unexpected ${String(e)}`);
      }
    }),
    { numRuns: 1000 },
  );
});
