/**
 * The read side of a mux session: socket bytes to the peer's preface, then to frames (docs/design/wire.md §1–2).
 * When a read holds more OPENs than one event-loop turn may handle, the rest of it waits for the next turn with the
 * socket paused, so one link's burst cannot hold the loop while other links wait; frames keep their order.
 */
import type { Duplex } from 'node:stream';
import { FrameDecoder, PrefaceDecoder } from './frame.js';
import type { Frame, MuxSettings } from './frame.js';

/** What the reader needs from its session. */
export interface ReaderHost {
  readonly closed: boolean;
  /** the peer's preface arrived and is valid */
  _onPreface(settings: MuxSettings): void;
  /** one frame; true when the turn's budget is used up (the rest of the read waits for the next turn) */
  readonly _onFrame: (f: Frame) => boolean;
  /** a malformed preface or frame (a `CaravanError` of code PROTOCOL), or an exception of a frame handler */
  _onReadError(e: unknown): void;
}

export class FrameReader {
  private prefaceDone = false;
  private readonly prefaceDecoder = new PrefaceDecoder();
  private readonly decoder = new FrameDecoder();
  /** bytes of a read left unprocessed until the next turn (the socket is paused meanwhile) */
  private deferred: Buffer | undefined;
  private readonly resumeNow = (): void => this.resume();

  constructor(
    private readonly socket: Duplex,
    private readonly host: ReaderHost,
  ) {}

  /** A read from the socket. */
  push(chunk: Buffer): void {
    if (this.deferred !== undefined) {
      // a read that arrived while an earlier one waits for the next turn: keep the order
      this.deferred = Buffer.concat([this.deferred, chunk]);
      return;
    }
    let data = chunk;
    try {
      if (!this.prefaceDone) {
        const r = this.prefaceDecoder.push(chunk);
        if (r === undefined) return;
        this.prefaceDone = true;
        this.decoder.setMaxDataPayload(r.settings.maxFrameSize);
        this.host._onPreface(r.settings);
        if (this.host.closed) return;
        data = r.rest;
        if (data.length === 0) return;
      }
      this.decode(data);
    } catch (e) {
      this.host._onReadError(e);
    }
  }

  /** The session closed: whatever waits is dropped. */
  stop(): void {
    this.deferred = undefined;
  }

  private decode(data: Buffer): void {
    const rest = this.decoder.push(data, this.host._onFrame);
    if (rest === undefined || this.host.closed) return;
    this.deferred = rest;
    this.socket.pause();
    setImmediate(this.resumeNow);
  }

  private resume(): void {
    const data = this.deferred;
    this.deferred = undefined;
    if (this.host.closed || data === undefined) return;
    try {
      this.decode(data);
    } catch (e) {
      this.host._onReadError(e);
      return;
    }
    if (this.deferred === undefined && !this.host.closed) this.socket.resume();
  }
}
