/**
 * Pieces shared by the http2 listener and connector: moving one HTTP/2 stream's body (and trailers) into a flow
 * with backpressure, and writing body bytes from a flow into an HTTP/2 stream while returning flow credit only
 * once Node's http2 stream took them.
 */
import http2 from 'node:http2';
import type { FlowStream } from '../../router/contract.js';
import { errorMessage } from '../../errors.js';
import {
  decodeHeaders,
  encodeData,
  encodeHeaders,
  FrameDecoder,
  FrameType,
  toHeaderBlock,
  type Frame,
  type HeaderBlock,
} from './frames.js';

export const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } =
  http2.constants;
export const NGHTTP2_FLAG_END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

export interface PumpHooks {
  /** body bytes read from the HTTP/2 stream */
  onBytes(n: number): void;
  onTrailers?(t: HeaderBlock): void;
  /** the body and trailers were written to the flow and the flow was half-closed */
  onDone(): void;
}

/**
 * Body and trailers of `src` into `flow` as DATA frames, one TRAILERS frame, then FIN. `src` is paused while the
 * flow has no credit (Node then stops returning HTTP/2 window to the peer). Trailers are held until 'end' so
 * they always follow every DATA frame.
 */
export function pumpToFlow(src: http2.Http2Stream, flow: FlowStream, hooks: PumpHooks): { stop(): void } {
  let trailers: HeaderBlock | undefined;
  let stopped = false;
  src.on('trailers', (t: http2.IncomingHttpHeaders) => {
    trailers = toHeaderBlock(t);
    hooks.onTrailers?.(trailers);
  });
  src.on('data', (chunk: Buffer) => {
    if (stopped) return;
    hooks.onBytes(chunk.length);
    let ok = true;
    for (const f of encodeData(chunk)) ok = flow.write(f) && ok;
    if (!ok) src.pause();
  });
  flow.on('drain', () => {
    if (!stopped) src.resume();
  });
  src.on('end', () => {
    if (stopped) return;
    stopped = true;
    // Node also ends the readable side when the peer reset the stream: that is no complete message, and the
    // owner's 'close' handler resets the flow with the code instead.
    if ((src.rstCode ?? NGHTTP2_NO_ERROR) !== NGHTTP2_NO_ERROR) return;
    if (trailers) flow.write(encodeHeaders(FrameType.TRAILERS, 0, trailers));
    flow.end();
    hooks.onDone();
  });
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/** Where response or request bodies go: an HTTP/2 stream, or an HTTP/1.1 response (the TLS listener's fallback). */
export interface BodySink {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableNeedDrain: boolean;
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Writes DATA payloads from a flow into an HTTP/2 stream and returns the flow credit (`consumed`) only after the
 * stream's write callback, and — while the stream is above its high-water mark — not before its 'drain'. So at
 * most one flow window plus one stream buffer of a flow's body is ever held here.
 */
export class CreditReturner {
  private held = 0;
  private waiting = false;

  constructor(
    private readonly flow: FlowStream,
    private readonly dst: BodySink,
  ) {}

  write(payload: Buffer, wireLength: number): void {
    if (this.dst.destroyed || this.dst.writableEnded) {
      this.flow.consumed(wireLength);
      return;
    }
    this.dst.write(payload, (err) => {
      if (!err) this.release(wireLength);
    });
  }

  private release(n: number): void {
    if (!this.dst.writableNeedDrain) {
      this.flow.consumed(n);
      return;
    }
    this.held += n;
    if (this.waiting) return;
    this.waiting = true;
    this.dst.once('drain', () => {
      this.waiting = false;
      const h = this.held;
      this.held = 0;
      this.flow.consumed(h);
    });
  }
}

/** A DATA frame of a body, written to its sink (credit returned as the sink takes it); its payload size. */
export function sinkData(f: Frame, credit: CreditReturner): number {
  credit.write(f.payload, f.wireLength);
  return f.payload.length;
}

/** A TRAILERS frame: its headers, its credit returned at once. */
export function takeTrailers(flow: FlowStream, f: Frame): HeaderBlock {
  const trailers = decodeHeaders(f.payload);
  flow.consumed(f.wireLength);
  return trailers;
}

/** `host:port` of the peer of an HTTP/2 stream's session. */
export function peerOf(stream: http2.Http2Stream): string {
  const s = stream.session?.socket;
  return `${s?.remoteAddress ?? 'unknown'}:${s?.remotePort ?? 0}`;
}

/** Decodes the typed frames arriving on a flow; a framing error (or one thrown by `onFrame`) goes to `onError`. */
export function readFrames(
  flow: FlowStream,
  onFrame: (f: Frame) => void,
  onError: (why: string) => void,
): void {
  const decoder = new FrameDecoder();
  flow.on('data', (chunk: Buffer) => {
    try {
      for (const f of decoder.push(chunk)) onFrame(f);
    } catch (e) {
      onError(errorMessage(e));
    }
  });
}
