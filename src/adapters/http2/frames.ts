/**
 * The framing of one HTTP/2 stream over a flow's byte stream (docs/design/adapters.md, "http2").
 *
 * Every frame is `type u8 | flags u8 | length u32 (big endian) | payload`. A request travels listener → connector
 * and a response connector → listener, each as: one HEAD, zero or more INFO (response only: 1xx heads), DATA*,
 * at most one TRAILERS, then the flow's half-close (FIN). HEAD with END_STREAM means no body and no trailers
 * follow (e.g. a GET, or a gRPC trailers-only response). Header blocks are JSON objects as Node's http2 module
 * gives them (`name → string | string[]`, pseudo-headers included). Cancellation does not travel in-band: it is a
 * flow reset whose reason starts with `h2:<RST_STREAM code>` (see resetReason/h2CodeOf).
 *
 * Pure: no I/O.
 */

export const FrameType = {
  HEAD: 1,
  DATA: 2,
  TRAILERS: 3,
  INFO: 4,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

export const Flags = {
  /** on HEAD: the message is complete (no DATA, no TRAILERS follow) */
  END_STREAM: 0x1,
} as const;

export const FRAME_HEADER_BYTES = 6;
/** DATA payloads are split at this size when encoding. */
export const MAX_DATA_PAYLOAD = 64 * 1024;
/** Largest frame a decoder accepts (header blocks included); must stay well below a flow window. */
export const MAX_FRAME_PAYLOAD = 128 * 1024;

export type HeaderBlock = Record<string, string | string[] | number>;

export interface Frame {
  type: FrameTypeValue;
  flags: number;
  payload: Buffer;
  /** bytes this frame occupied on the flow (header + payload): what to `consumed()` once it was handed on */
  wireLength: number;
}

export class FrameError extends Error {}

export function encodeFrame(type: FrameTypeValue, flags: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out[0] = type;
  out[1] = flags;
  out.writeUInt32BE(payload.length, 2);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** DATA frames for a body chunk, split at MAX_DATA_PAYLOAD. */
export function encodeData(chunk: Buffer): Buffer[] {
  if (chunk.length <= MAX_DATA_PAYLOAD) return [encodeFrame(FrameType.DATA, 0, chunk)];
  const out: Buffer[] = [];
  for (let off = 0; off < chunk.length; off += MAX_DATA_PAYLOAD) {
    out.push(encodeFrame(FrameType.DATA, 0, chunk.subarray(off, off + MAX_DATA_PAYLOAD)));
  }
  return out;
}

/** Keeps string and string[] values (and the numeric :status); drops anything else (e.g. symbol keys). */
export function toHeaderBlock(h: Record<string, unknown>): HeaderBlock {
  const out: HeaderBlock = {};
  for (const [k, v] of Object.entries(h)) {
    if (typeof v === 'string' || typeof v === 'number') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String);
  }
  return out;
}

export function encodeHeaders(type: FrameTypeValue, flags: number, headers: Record<string, unknown>): Buffer {
  return encodeFrame(type, flags, Buffer.from(JSON.stringify(toHeaderBlock(headers)), 'utf8'));
}

export function decodeHeaders(payload: Buffer): HeaderBlock {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError('header block is not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new FrameError('header block is not an object');
  const out: HeaderBlock = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === 'string' || typeof x === 'number') out[k] = x;
    else if (Array.isArray(x) && x.every((e) => typeof e === 'string')) out[k] = x as string[];
    else throw new FrameError(`header ${JSON.stringify(k)} has an invalid value`);
  }
  return out;
}

/** Incremental decoder: feed it the flow's 'data' chunks, get whole frames back. Copies only frames that span chunks. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private total = 0;

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.total += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.total >= FRAME_HEADER_BYTES) {
      let first = this.chunks[0] as Buffer;
      if (first.length < FRAME_HEADER_BYTES) {
        first = Buffer.concat(this.chunks);
        this.chunks = [first];
      }
      const type = first[0] as number;
      const flags = first[1] as number;
      const len = first.readUInt32BE(2);
      if (type < FrameType.HEAD || type > FrameType.INFO) throw new FrameError(`unknown frame type ${type}`);
      if (len > MAX_FRAME_PAYLOAD) throw new FrameError(`frame of ${len} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
      const wireLength = FRAME_HEADER_BYTES + len;
      if (this.total < wireLength) break;
      const whole = this.take(wireLength);
      frames.push({
        type: type as FrameTypeValue,
        flags,
        payload: whole.subarray(FRAME_HEADER_BYTES),
        wireLength,
      });
    }
    return frames;
  }

  /** remove and return the first n buffered bytes (n <= total) */
  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) i++;
      else this.chunks[i] = c.subarray(k);
    }
    this.chunks = this.chunks.slice(i);
    return out;
  }

  /** bytes of an incomplete frame held back */
  get pending(): number {
    return this.total;
  }
}

/** The reason of a flow reset that carries an HTTP/2 RST_STREAM code. */
export function resetReason(h2Code: number, text: string): string {
  return `h2:${h2Code} ${text}`;
}

/** The RST_STREAM code a flow reset reason carries, if any. */
export function h2CodeOf(reason: string): number | undefined {
  const m = /^h2:(\d+)\b/.exec(reason);
  return m ? Number(m[1]) : undefined;
}

/** milliseconds per unit (H, M, S, m) or units per millisecond, negated (u, n) */
const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: -1000, n: -1_000_000 };

/** Parses a gRPC `grpc-timeout` header (`1S`, `250m`, ...) into milliseconds. */
export function parseGrpcTimeout(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v.trim());
  if (!m) return undefined;
  const unit = UNITS[m[2] as string] as number;
  return unit > 0 ? Number(m[1]) * unit : Number(m[1]) / -unit;
}
