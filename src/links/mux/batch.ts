/**
 * One flush worth of frames, ready for a corked socket. Small frames (and the headers of large ones) are coalesced
 * into shared scratch buffers; large payloads are passed through as-is, never copied.
 */
import {
  FRAME_HEADER_SIZE,
  FrameType,
  encodeFrameHeader,
  encodeFrameInto,
  framePayloadLength,
} from './frame.js';
import type { Frame } from './frame.js';

/** Payloads up to this size are copied into the scratch buffer instead of being written separately. */
export const COPY_LIMIT = 2048;
/**
 * The first scratch buffer of a batch is small enough to come from Node's shared allocation pool (a slice, no new
 * ArrayBuffer): most flushes carry a few small frames or the headers of a few DATA frames. Later ones are larger.
 */
const FIRST_SCRATCH_SIZE = 1024;
const SCRATCH_SIZE = 16 * 1024;

export class WriteBatch {
  readonly parts: Buffer[] = [];
  bytes = 0;
  frames = 0;
  private scratch: Buffer | undefined;
  private start = 0;
  private pos = 0;

  get empty(): boolean {
    return this.bytes === 0;
  }

  /** Any frame. Opaque payloads above COPY_LIMIT are passed through uncopied. */
  addFrame(f: Frame): number {
    if (
      (f.type === FrameType.OPEN ||
        f.type === FrameType.ACCEPT ||
        f.type === FrameType.CONTROL ||
        f.type === FrameType.DATA) &&
      f.payload.length > COPY_LIMIT
    ) {
      return this.addPayloadFrame(f.type, f.streamId, f.payload);
    }
    const len = FRAME_HEADER_SIZE + framePayloadLength(f);
    const at = this.reserve(len);
    encodeFrameInto(f, this.scratch as Buffer, at);
    this.pos += len;
    this.bytes += len;
    this.frames++;
    return len;
  }

  /** A frame whose payload is an application buffer (DATA, or a large OPEN/ACCEPT/CONTROL). */
  addPayloadFrame(type: number, streamId: number, payload: Buffer): number {
    const at = this.reserve(FRAME_HEADER_SIZE);
    encodeFrameHeader(type, 0, streamId, payload.length, this.scratch as Buffer, at);
    this.pos += FRAME_HEADER_SIZE;
    if (payload.length <= COPY_LIMIT) {
      const p = this.reserve(payload.length);
      payload.copy(this.scratch as Buffer, p);
      this.pos += payload.length;
    } else {
      this.seal();
      this.parts.push(payload);
    }
    const len = FRAME_HEADER_SIZE + payload.length;
    this.bytes += len;
    this.frames++;
    return len;
  }

  /** The buffers to write, in order. */
  finish(): Buffer[] {
    this.seal();
    this.scratch = undefined;
    return this.parts;
  }

  private seal(): void {
    if (this.scratch !== undefined && this.pos > this.start) {
      this.parts.push(this.scratch.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  private reserve(n: number): number {
    if (this.scratch === undefined || this.scratch.length - this.pos < n) {
      this.seal();
      const size = this.scratch === undefined && this.parts.length === 0 ? FIRST_SCRATCH_SIZE : SCRATCH_SIZE;
      this.scratch = Buffer.allocUnsafe(Math.max(size, n));
      this.start = 0;
      this.pos = 0;
    }
    return this.pos;
  }
}
