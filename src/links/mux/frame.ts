/**
 * Pure codec for the Caravan link multiplexing protocol (docs/design/wire.md): preface, frame header, frames, and an
 * incremental decoder that accepts arbitrary chunks. No I/O, no timers.
 */
import { CaravanError, ErrorCodes } from '../../errors.js';

export const PROTOCOL_VERSION = 1;
export const MAGIC = Buffer.from('CARAVAN', 'latin1');
export const PREFACE_SIZE = MAGIC.length + 1 + 4 + 4; // 16
export const FRAME_HEADER_SIZE = 10;
/** Hard limit on any frame's payload (wire.md §2). */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;
export const MAX_WINDOW = 0x7fff_ffff;
export const MAX_CREDIT = 0xffff_ffff;
export const MAX_STREAM_ID = 0xffff_ffff;
/** Senders cut RESET/GOAWAY reasons at this many bytes. */
export const MAX_REASON_BYTES = 1024;

export const FrameType = {
  OPEN: 0x01,
  ACCEPT: 0x02,
  DATA: 0x03,
  WINDOW: 0x04,
  FIN: 0x05,
  RESET: 0x06,
  PING: 0x07,
  GOAWAY: 0x08,
  CONTROL: 0x09,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

export const FrameFlags = {
  /** PING: this is the reply. */
  ACK: 0x01,
} as const;

/** Error codes carried in RESET and GOAWAY (wire.md §9). */
export const MuxErrorCodes = {
  NO_ERROR: 0,
  PROTOCOL: 1,
  FLOW_CONTROL: 2,
  REFUSED: 3,
  CANCEL: 4,
  INTERNAL: 5,
  /** Local only, never sent: the session died under the stream. */
  LINK_CLOSED: 0xffff_0001,
} as const;

const TYPE_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(FrameType)) TYPE_NAMES[v] = k;

export function frameTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

interface FrameBase {
  flags: number;
  streamId: number;
}
export interface OpenFrame extends FrameBase {
  type: typeof FrameType.OPEN;
  payload: Buffer;
}
export interface AcceptFrame extends FrameBase {
  type: typeof FrameType.ACCEPT;
  payload: Buffer;
}
export interface DataFrame extends FrameBase {
  type: typeof FrameType.DATA;
  payload: Buffer;
}
export interface WindowFrame extends FrameBase {
  type: typeof FrameType.WINDOW;
  increment: number;
}
export interface FinFrame extends FrameBase {
  type: typeof FrameType.FIN;
}
export interface ResetFrame extends FrameBase {
  type: typeof FrameType.RESET;
  code: number;
  reason: string;
}
export interface PingFrame extends FrameBase {
  type: typeof FrameType.PING;
  /** 8 opaque bytes. */
  opaque: Buffer;
}
export interface GoAwayFrame extends FrameBase {
  type: typeof FrameType.GOAWAY;
  lastStreamId: number;
  code: number;
  reason: string;
}
export interface ControlFrame extends FrameBase {
  type: typeof FrameType.CONTROL;
  payload: Buffer;
}
export type Frame =
  | OpenFrame
  | AcceptFrame
  | DataFrame
  | WindowFrame
  | FinFrame
  | ResetFrame
  | PingFrame
  | GoAwayFrame
  | ControlFrame;

export interface MuxSettings {
  initialWindow: number;
  maxFrameSize: number;
}

function protocolError(message: string): CaravanError {
  return new CaravanError(ErrorCodes.PROTOCOL, message);
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

// ---------------------------------------------------------------------------------------------------------------
// Preface

export function encodePreface(settings: MuxSettings): Buffer {
  validateSettings(settings, 'local');
  const b = Buffer.allocUnsafe(PREFACE_SIZE);
  MAGIC.copy(b, 0);
  b[MAGIC.length] = PROTOCOL_VERSION;
  b.writeUInt32BE(settings.initialWindow, 8);
  b.writeUInt32BE(settings.maxFrameSize, 12);
  return b;
}

function validateSettings(s: MuxSettings, who: 'local' | 'peer'): void {
  const fail = (m: string): never => {
    if (who === 'local') throw new RangeError(m);
    throw protocolError(`bad link preface: ${m}`);
  };
  if (!Number.isInteger(s.initialWindow) || s.initialWindow < 1 || s.initialWindow > MAX_WINDOW)
    fail(`initialWindow ${s.initialWindow} out of range 1..${MAX_WINDOW}`);
  if (!Number.isInteger(s.maxFrameSize) || s.maxFrameSize < 1 || s.maxFrameSize > MAX_FRAME_PAYLOAD)
    fail(`maxFrameSize ${s.maxFrameSize} out of range 1..${MAX_FRAME_PAYLOAD}`);
}

function describeBytes(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  const ascii = Array.from(b, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
  return `${hex} (${JSON.stringify(ascii)})`;
}

/**
 * Accumulates the peer's 16-byte preface. `push` returns undefined while more bytes are needed, or the settings
 * plus the bytes that followed the preface in the same chunk. Throws CaravanError(PROTOCOL) at the first wrong byte.
 */
export class PrefaceDecoder {
  private readonly buf = Buffer.alloc(PREFACE_SIZE);
  private have = 0;
  private done = false;

  push(chunk: Uint8Array): { settings: MuxSettings; rest: Buffer } | undefined {
    if (this.done) throw new Error('PrefaceDecoder: preface already decoded');
    const data = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const take = Math.min(PREFACE_SIZE - this.have, data.length);
    data.copy(this.buf, this.have, 0, take);
    const before = this.have;
    this.have += take;
    // Check the magic as it arrives, so a non-Caravan peer is refused without waiting for 16 bytes.
    const magicSeen = Math.min(this.have, MAGIC.length);
    for (let i = before; i < magicSeen; i++) {
      if (this.buf[i] !== MAGIC[i]) {
        throw protocolError(
          `bad link preface: expected magic "CARAVAN", received ${describeBytes(this.buf.subarray(0, this.have))}`,
        );
      }
    }
    if (this.have > MAGIC.length && before <= MAGIC.length) {
      const v = this.buf[MAGIC.length];
      if (v !== PROTOCOL_VERSION) {
        throw protocolError(
          `bad link preface: unsupported protocol version ${v} (this side speaks version ${PROTOCOL_VERSION})`,
        );
      }
    }
    if (this.have < PREFACE_SIZE) return undefined;
    this.done = true;
    const settings: MuxSettings = {
      initialWindow: this.buf.readUInt32BE(8),
      maxFrameSize: this.buf.readUInt32BE(12),
    };
    validateSettings(settings, 'peer');
    return { settings, rest: data.subarray(take) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/** Writes a 10-byte frame header into `out` at `offset` (a new buffer if none is given) and returns `out`. */
export function encodeFrameHeader(
  type: number,
  flags: number,
  streamId: number,
  length: number,
  out: Buffer = Buffer.allocUnsafe(FRAME_HEADER_SIZE),
  offset = 0,
): Buffer {
  out[offset] = type;
  out[offset + 1] = flags;
  out.writeUInt32BE(streamId, offset + 2);
  out.writeUInt32BE(length, offset + 6);
  return out;
}

function reasonBytes(reason: string): Buffer {
  const b = Buffer.from(reason, 'utf8');
  if (b.length <= MAX_REASON_BYTES) return b;
  // Cut at a character boundary.
  let end = MAX_REASON_BYTES;
  while (end > 0 && ((b[end] ?? 0) & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** Payload length of a frame once encoded. Reasons are cut to MAX_REASON_BYTES. */
export function framePayloadLength(f: Frame): number {
  switch (f.type) {
    case FrameType.OPEN:
    case FrameType.ACCEPT:
    case FrameType.DATA:
    case FrameType.CONTROL:
      return f.payload.length;
    case FrameType.WINDOW:
      return 4;
    case FrameType.FIN:
      return 0;
    case FrameType.RESET:
      return 4 + reasonBytes(f.reason).length;
    case FrameType.PING:
      return 8;
    case FrameType.GOAWAY:
      return 8 + reasonBytes(f.reason).length;
  }
}

function checkEncodable(f: Frame, len: number): void {
  if (!isU32(f.streamId)) throw new RangeError(`stream id ${f.streamId} is not a u32`);
  const rule = RULES[f.type];
  if (rule.stream === 'zero' && f.streamId !== 0)
    throw new RangeError(`${frameTypeName(f.type)} needs stream id 0`);
  if (rule.stream === 'nonzero' && f.streamId === 0)
    throw new RangeError(`${frameTypeName(f.type)} needs a non-zero stream id`);
  if (len > MAX_FRAME_PAYLOAD) throw new RangeError(`frame payload ${len} exceeds ${MAX_FRAME_PAYLOAD}`);
  if (f.type === FrameType.PING && f.opaque.length !== 8) throw new RangeError('PING opaque must be 8 bytes');
  if (f.type === FrameType.WINDOW && (!isU32(f.increment) || f.increment === 0))
    throw new RangeError(`WINDOW increment ${f.increment} out of range 1..${MAX_CREDIT}`);
}

/**
 * Encodes a whole frame into `out` at `offset`; returns the number of bytes written. The caller sizes `out` with
 * FRAME_HEADER_SIZE + framePayloadLength(f).
 */
export function encodeFrameInto(f: Frame, out: Buffer, offset: number): number {
  const len = framePayloadLength(f);
  checkEncodable(f, len);
  encodeFrameHeader(f.type, f.flags & 0xff, f.streamId, len, out, offset);
  const p = offset + FRAME_HEADER_SIZE;
  switch (f.type) {
    case FrameType.OPEN:
    case FrameType.ACCEPT:
    case FrameType.DATA:
    case FrameType.CONTROL:
      out.set(f.payload, p);
      break;
    case FrameType.WINDOW:
      out.writeUInt32BE(f.increment, p);
      break;
    case FrameType.FIN:
      break;
    case FrameType.RESET:
      out.writeUInt32BE(f.code >>> 0, p);
      out.set(reasonBytes(f.reason), p + 4);
      break;
    case FrameType.PING:
      out.set(f.opaque, p);
      break;
    case FrameType.GOAWAY:
      out.writeUInt32BE(f.lastStreamId >>> 0, p);
      out.writeUInt32BE(f.code >>> 0, p + 4);
      out.set(reasonBytes(f.reason), p + 8);
      break;
  }
  return FRAME_HEADER_SIZE + len;
}

/** Encodes a whole frame (header + payload) into a new buffer. */
export function encodeFrame(f: Frame): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + framePayloadLength(f));
  encodeFrameInto(f, out, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

interface TypeRule {
  stream: 'zero' | 'nonzero';
  /** exact payload length, or a minimum */
  exact?: number;
  min?: number;
}
const RULES: Record<FrameTypeValue, TypeRule> = {
  [FrameType.OPEN]: { stream: 'nonzero' },
  [FrameType.ACCEPT]: { stream: 'nonzero' },
  [FrameType.DATA]: { stream: 'nonzero' },
  [FrameType.WINDOW]: { stream: 'nonzero', exact: 4 },
  [FrameType.FIN]: { stream: 'nonzero', exact: 0 },
  [FrameType.RESET]: { stream: 'nonzero', min: 4 },
  [FrameType.PING]: { stream: 'zero', exact: 8 },
  [FrameType.GOAWAY]: { stream: 'zero', min: 8 },
  [FrameType.CONTROL]: { stream: 'zero' },
};

export interface FrameDecoderOptions {
  /** Largest payload accepted for any frame (default and ceiling: MAX_FRAME_PAYLOAD). */
  maxPayload?: number;
}

/**
 * Called for each decoded frame. Returning `true` asks the decoder to stop after this frame: `push` then returns
 * the bytes it has not read yet, for the caller to push again later (the session uses this to spread a burst of
 * OPENs over several event-loop turns).
 */
export type FrameHandler = (f: Frame) => unknown;

/**
 * Incremental frame decoder. Feed it chunks as they arrive with `push`; it calls `onFrame` for every complete frame,
 * in order. Payloads of frames that lie within one chunk are views of that chunk (no copy); a payload that spans
 * chunks is copied once into its own buffer. On malformed input it throws CaravanError(PROTOCOL); the decoder is then
 * failed and rethrows that error on every later push.
 */
export class FrameDecoder {
  private readonly maxPayload: number;
  private readonly header = Buffer.alloc(FRAME_HEADER_SIZE);
  private headerHave = 0;
  /** parsed header of the frame whose payload is being collected, or undefined while reading a header */
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = -1;
  private payload: Buffer | undefined;
  private payloadHave = 0;
  private failed: CaravanError | undefined;
  private maxData: number;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxPayload = Math.min(opts.maxPayload ?? MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD);
    this.maxData = this.maxPayload;
  }

  /**
   * The peer's announced maxFrameSize: a DATA frame whose header announces a longer payload is a PROTOCOL error,
   * found from the header alone (wire.md §3), even when the payload would arrive in several reads.
   */
  setMaxDataPayload(n: number): void {
    this.maxData = Math.min(n, this.maxPayload);
  }

  /** Bytes of an incomplete frame currently held. */
  get buffered(): number {
    return this.headerHave + (this.payload !== undefined ? this.payloadHave : 0);
  }

  /** Decodes `chunk`; returns the unread rest when `onFrame` asked to stop, else undefined. */
  push(chunk: Uint8Array, onFrame: FrameHandler): Buffer | undefined {
    if (this.failed) throw this.failed;
    const data = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      const pos = this.run(data, onFrame);
      return pos < data.length ? data.subarray(pos) : undefined;
    } catch (e) {
      if (e instanceof CaravanError && e.code === ErrorCodes.PROTOCOL) this.failed = e;
      throw e;
    }
  }

  /** Convenience: decode a chunk and return its complete frames. */
  pushAll(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    this.push(chunk, (f) => out.push(f));
    return out;
  }

  /** Returns how many bytes of `data` were read (all of them unless `onFrame` asked to stop). */
  private run(data: Buffer, onFrame: FrameHandler): number {
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      if (this.length < 0) {
        // Reading a header.
        if (this.headerHave === 0 && n - pos >= FRAME_HEADER_SIZE) {
          this.parseHeader(data, pos);
          pos += FRAME_HEADER_SIZE;
        } else {
          const take = Math.min(FRAME_HEADER_SIZE - this.headerHave, n - pos);
          data.copy(this.header, this.headerHave, pos, pos + take);
          this.headerHave += take;
          pos += take;
          if (this.headerHave < FRAME_HEADER_SIZE) return pos;
          this.parseHeader(this.header, 0);
        }
        this.headerHave = FRAME_HEADER_SIZE;
      }
      // Collecting the payload of a frame with a parsed header.
      const len = this.length;
      if (this.payload === undefined) {
        if (n - pos >= len - this.payloadHave && this.payloadHave === 0) {
          const p = data.subarray(pos, pos + len);
          pos += len;
          if (this.finish(p, onFrame)) return pos;
          continue;
        }
        if (this.type === FrameType.DATA) {
          // Bulk data is never copied: a DATA frame split across reads is delivered as consecutive DATA
          // frames of the same stream, each a view of the read it arrived in (flow control counts bytes, not
          // frames, so this is invisible to the session).
          const take = Math.min(len - this.payloadHave, n - pos);
          const piece = data.subarray(pos, pos + take);
          pos += take;
          this.payloadHave += take;
          const done = this.payloadHave === len;
          const streamId = this.streamId;
          const flags = this.flags;
          if (done) {
            this.headerHave = 0;
            this.length = -1;
            this.payloadHave = 0;
          }
          const stop = onFrame(decodePayload(FrameType.DATA, flags, streamId, piece)) === true;
          if (!done || stop) return pos;
          continue;
        }
        this.payload = Buffer.allocUnsafe(len);
        this.payloadHave = 0;
      }
      const take = Math.min(len - this.payloadHave, n - pos);
      data.copy(this.payload, this.payloadHave, pos, pos + take);
      this.payloadHave += take;
      pos += take;
      if (this.payloadHave < len) return pos;
      const p = this.payload;
      if (this.finish(p, onFrame)) return pos;
    }
    return pos;
  }

  private parseHeader(b: Buffer, at: number): void {
    const type = b[at] ?? 0;
    const flags = b[at + 1] ?? 0;
    const streamId = b.readUInt32BE(at + 2);
    const length = b.readUInt32BE(at + 6);
    const rule = RULES[type as FrameTypeValue] as TypeRule | undefined;
    const name = frameTypeName(type);
    if (rule === undefined)
      throw protocolError(`unknown frame type ${name} (stream ${streamId}, length ${length})`);
    if (length > this.maxPayload)
      throw protocolError(
        `${name} frame on stream ${streamId}: length ${length} exceeds limit ${this.maxPayload}`,
      );
    if (rule.stream === 'zero' && streamId !== 0)
      throw protocolError(`${name} frame must use stream id 0, got ${streamId}`);
    if (rule.stream === 'nonzero' && streamId === 0)
      throw protocolError(`${name} frame must not use stream id 0`);
    if (rule.exact !== undefined && length !== rule.exact)
      throw protocolError(
        `${name} frame on stream ${streamId}: payload length ${length}, expected ${rule.exact}`,
      );
    if (rule.min !== undefined && length < rule.min)
      throw protocolError(
        `${name} frame on stream ${streamId}: payload length ${length}, expected >= ${rule.min}`,
      );
    if (type === FrameType.DATA && length > this.maxData)
      throw protocolError(
        `DATA frame on stream ${streamId}: length ${length} exceeds the peer's maxFrameSize ${this.maxData}`,
      );
    this.type = type;
    this.flags = flags;
    this.streamId = streamId;
    this.length = length;
  }

  private finish(p: Buffer, onFrame: FrameHandler): boolean {
    const type = this.type;
    const flags = this.flags;
    const streamId = this.streamId;
    // Reset state before calling out, so the decoder is consistent even if onFrame throws.
    this.headerHave = 0;
    this.length = -1;
    this.payload = undefined;
    this.payloadHave = 0;
    return onFrame(decodePayload(type as FrameTypeValue, flags, streamId, p)) === true;
  }
}

function decodePayload(type: FrameTypeValue, flags: number, streamId: number, p: Buffer): Frame {
  switch (type) {
    case FrameType.OPEN:
    case FrameType.ACCEPT:
    case FrameType.DATA:
    case FrameType.CONTROL:
      return { type, flags, streamId, payload: p };
    case FrameType.WINDOW: {
      const increment = p.readUInt32BE(0);
      if (increment === 0) throw protocolError(`WINDOW frame on stream ${streamId} with increment 0`);
      return { type, flags, streamId, increment };
    }
    case FrameType.FIN:
      return { type, flags, streamId };
    case FrameType.RESET:
      return { type, flags, streamId, code: p.readUInt32BE(0), reason: p.toString('utf8', 4) };
    case FrameType.PING:
      return { type, flags, streamId, opaque: p };
    case FrameType.GOAWAY:
      return {
        type,
        flags,
        streamId,
        lastStreamId: p.readUInt32BE(0),
        code: p.readUInt32BE(4),
        reason: p.toString('utf8', 8),
      };
  }
}
