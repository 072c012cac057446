/**
 * MuxStream: one stream of a mux session, the application's end of it (write, end, reset, consumed, events).
 * Its life is the state machine of stream-state.ts; the session (session.ts) feeds it the peer's frames and the
 * send scheduler (scheduler.ts) drains its write queue. Protocol: docs/design/wire.md.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observe/log.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { FrameType, MAX_CREDIT, MAX_FRAME_PAYLOAD, MuxErrorCodes } from './frame.js';
import type { Frame } from './frame.js';
import {
  AWAITING_ACCEPT,
  FINAL,
  MAY_SEND,
  PEER_MAY_SEND,
  PEER_OPEN,
  StreamEvent,
  StreamState,
  inStates,
  nextStreamState,
  streamEventName,
  streamStateName,
} from './stream-state.js';

export type WriteCb = (err?: Error | null) => void;

/** @internal one write() waiting to be sent */
export interface WriteEntry {
  buf: Buffer;
  off: number;
  cb: WriteCb | undefined;
}

/** @internal Where the FIN of our direction is, between `end()` and the FIN frame (state FinSent). */
export const FinStep = {
  /** end() not called */
  None: 0,
  /** end() called; the FIN waits for queued data (and, on a peer's stream, for accept()) */
  Requested: 1,
  /** the FIN frame is queued or written */
  Scheduled: 2,
} as const;
export type FinStep = (typeof FinStep)[keyof typeof FinStep];

/** @internal What a stream needs from its session. */
export interface StreamHost {
  readonly _log: Logger;
  readonly _peerKnown: boolean;
  /** write() returns false once this many bytes are queued on a stream */
  readonly _writeHighWater: number;
  readonly _windowUpdateThreshold: number;
  readonly _maxStreamWindow: number;
  _queuePrio(f: Frame, s: MuxStream | undefined): void;
  /** the stream may have something to send now (data, FIN) */
  _wake(s: MuxStream): void;
  _terminate(
    s: MuxStream,
    err: Error,
    resetEvent: { code: number; reason: string } | undefined,
    async: boolean,
    cause?: Cause,
  ): void;
  /** both directions may be done: remove the stream */
  _maybeClose(s: MuxStream): void;
  /** the peer broke the protocol on this stream: RESET it with `code` */
  _streamError(s: MuxStream, code: number, reason: string): void;
}

/** Who caused a transition: the application or this side's own code, or the peer (a frame it sent). */
export type Cause = 'local' | 'peer';

/**
 * One stream of a MuxSession. Created by `MuxSession.openStream` (local) or delivered by the session's 'stream'
 * event (remote).
 *
 * Events: 'accept' (payload: Buffer), 'data' (chunk: Buffer), 'end' (), 'reset' (code: number, reason: string),
 * 'drain' (), 'close' () once.
 *
 * Received data is emitted as it arrives while a 'data' listener is attached; until then it is held in the stream
 * (at most one window, since credit only comes back through `consumed`), and delivered, followed by a held 'end',
 * once a 'data' listener is attached. 'reset' is emitted for a peer RESET, a stream error found here (flow control,
 * protocol) and session loss (code LINK_CLOSED), not for the application's own `reset()`.
 * Received chunks are views of the socket's read buffers; written buffers are sent without copying, so the caller
 * must not modify a buffer after `write()` until its callback fired.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed events
export class MuxStream extends EventEmitter {
  readonly id: number;
  readonly session: StreamHost;
  /** @internal true when this side opened the stream */
  readonly _local: boolean;
  /** @internal where the stream is in its life; changed only by `_transition` */
  _state: StreamState = StreamState.Idle;
  /** @internal our FIN between end() and the FIN frame */
  _fin: FinStep = FinStep.None;
  /** @internal unsent write queue */
  _queue: WriteEntry[] = [];
  /** @internal */
  _queueHead = 0;
  /** @internal unsent bytes */
  _queued = 0;
  /** @internal bytes the peer lets us send */
  _credit = 0;
  /** @internal bytes the peer may still send before we grant more */
  _recvWindow: number;
  /** @internal delivered bytes not yet granted back */
  _pendingCredit = 0;
  /** @internal this stream's receive window; starts at the session's and grows for bulk flows */
  _window: number;
  /** @internal write() returned false; 'drain' is owed */
  _needDrain = false;
  /** @internal member of the scheduler's ready set */
  _inReady = false;
  /** @internal error for late writes once dead */
  _deadError: Error | undefined;
  /** @internal the peer's FIN waits behind held data: 'end' not delivered yet */
  _endHeld = false;
  private _bytesIn = 0;
  private _bytesOut = 0;
  /** inbound data held while no 'data' listener is attached */
  private _inbox: Buffer[] = [];

  /** @internal use MuxSession.openStream or the session's 'stream' event */
  constructor(session: StreamHost, id: number, local: boolean, recvWindow: number, credit: number) {
    super();
    this.session = session;
    this.id = id;
    this._local = local;
    this._recvWindow = recvWindow;
    this._window = recvWindow;
    this._credit = credit;
    this.on('newListener', (event: string | symbol) => {
      if (event === 'data' && this._inbox.length > 0) process.nextTick(() => this._drainInbox());
    });
  }

  get bytesIn(): number {
    return this._bytesIn;
  }
  get bytesOut(): number {
    return this._bytesOut;
  }
  /** Bytes written but not yet handed to the socket. */
  get queuedBytes(): number {
    return this._queued;
  }
  /** true once the stream is closed or reset (no longer part of its session). */
  get closed(): boolean {
    return inStates(FINAL, this._state);
  }
  /** The stream's state, by name (for logs and tests). */
  get state(): string {
    return streamStateName(this._state);
  }

  /**
   * @internal The one place the stream's state changes. An event the state does not allow is refused: one the peer
   * caused returns false (the session answers with a PROTOCOL reset), one of this side throws
   * `CaravanError(ILLEGAL_TRANSITION)`. Each change is logged at debug level.
   */
  _transition(event: StreamEvent, cause: Cause): boolean {
    const from = this._state;
    const to = nextStreamState(from, event);
    if (to === undefined) {
      if (cause === 'peer') return false;
      throw new CaravanError(
        ErrorCodes.ILLEGAL_TRANSITION,
        `stream ${this.id}: ${streamEventName(event)} is not allowed in state ${streamStateName(from)}`,
      );
    }
    this._state = to;
    const log = this.session._log;
    if (log.enabled('debug'))
      log.debug(`mux stream ${streamStateName(from)} -> ${streamStateName(to)}`, {
        stream: this.id,
        event: streamEventName(event),
        cause,
      });
    return true;
  }

  /** Reply to an incoming OPEN. */
  accept(payload: Uint8Array = Buffer.alloc(0)): void {
    if (this.closed) return;
    if (payload.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`ACCEPT payload exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    this._transition(StreamEvent.AcceptSent, 'local');
    this.session._queuePrio(
      { type: FrameType.ACCEPT, flags: 0, streamId: this.id, payload: toBuffer(payload) },
      this,
    );
    this.session._wake(this);
  }

  /**
   * Queue data. Never drops it; DATA frames are sent only within the peer's credit. `cb` fires once all bytes of this
   * write were handed to the socket, or with an error if the stream or session died first. Returns false when the
   * caller should wait for 'drain'.
   */
  write(data: Buffer, cb?: WriteCb): boolean {
    if (this._fin !== FinStep.None || this.closed) {
      const err =
        this._deadError ?? new CaravanError(ErrorCodes.FLOW_RESET, `stream ${this.id}: write after end`);
      if (cb) process.nextTick(cb, err);
      return false;
    }
    if (data.length === 0) {
      if (cb) process.nextTick(cb, null);
      return !this._needDrain;
    }
    this._queue.push({ buf: data, off: 0, cb });
    this._queued += data.length;
    this.session._wake(this);
    if (this._queued >= this.session._writeHighWater) {
      this._needDrain = true;
      return false;
    }
    return true;
  }

  /** Half-close: FIN after all queued data. */
  end(): void {
    if (this._fin !== FinStep.None || this.closed) return;
    this._fin = FinStep.Requested;
    this.session._wake(this);
  }

  /** Abort the stream both ways: RESET to the peer, queued data dropped, write callbacks get an error. */
  reset(code: number, reason = ''): void {
    if (this.closed) return;
    const err = new CaravanError(
      ErrorCodes.FLOW_RESET,
      `stream ${this.id} reset locally (code ${code}): ${reason}`,
    );
    this.session._queuePrio(
      { type: FrameType.RESET, flags: 0, streamId: this.id, code: code >>> 0, reason },
      this,
    );
    this.session._terminate(this, err, undefined, true);
  }

  /** The application delivered n received bytes: return credit to the peer (in batches). */
  consumed(n: number): void {
    if (!inStates(PEER_OPEN, this._state) || !(n > 0)) return;
    const outstanding = this._window - this._recvWindow - this._pendingCredit;
    this._pendingCredit += Math.min(Math.floor(n), outstanding);
    if (this._pendingCredit > 0 && this._pendingCredit >= this.session._windowUpdateThreshold) {
      let inc = this._pendingCredit;
      this._pendingCredit = 0;
      // Window auto-tuning: if the peer had almost no credit left when we return some, it was waiting on us
      // (a bulk flow limited by the window, not by the application): double this stream's window, up to
      // MAX_STREAM_WINDOW. Interactive flows never get there and keep the small window that bounds
      // head-of-line delay on slow links (docs/design/wire.md, flow control).
      const max = this.session._maxStreamWindow;
      if (this._window < max && this._recvWindow < this._window / 8) {
        const extra = Math.min(this._window, max - this._window);
        this._window += extra;
        inc += extra;
      }
      this._recvWindow += inc;
      this.session._queuePrio({ type: FrameType.WINDOW, flags: 0, streamId: this.id, increment: inc }, this);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // the peer's frames for this stream, checked against the state machine (a violation resets the stream)

  /** @internal */
  _onAccept(payload: Buffer): void {
    if (!this._transition(StreamEvent.AcceptReceived, 'peer')) {
      this.session._streamError(this, MuxErrorCodes.PROTOCOL, 'unexpected ACCEPT');
      return;
    }
    this.emit('accept', payload);
  }

  /** @internal DATA: delivered at once while a 'data' listener is attached, else held until one is */
  _onData(chunk: Buffer): void {
    const n = chunk.length;
    if (!inStates(PEER_MAY_SEND, this._state)) {
      const before = inStates(AWAITING_ACCEPT, this._state);
      this.session._streamError(
        this,
        MuxErrorCodes.PROTOCOL,
        before ? 'DATA before ACCEPT' : 'DATA after FIN',
      );
      return;
    }
    if (n > this._recvWindow) {
      this.session._streamError(
        this,
        MuxErrorCodes.FLOW_CONTROL,
        `flow-control error: DATA of ${n} bytes exceeds the remaining window of ${this._recvWindow}`,
      );
      return;
    }
    if (n === 0) return;
    this._recvWindow -= n;
    this._bytesIn += n;
    if (this._inbox.length === 0 && this.listenerCount('data') > 0) this.emit('data', chunk);
    else this._inbox.push(chunk);
  }

  /** @internal */
  _onWindow(increment: number): void {
    if (this._credit + increment > MAX_CREDIT) {
      this.session._streamError(this, MuxErrorCodes.FLOW_CONTROL, 'flow-control error: credit overflow');
      return;
    }
    this._credit += increment;
    this.session._wake(this);
  }

  /** @internal the peer's FIN: 'end' now, or after the held data was delivered */
  _onFin(): void {
    if (!this._transition(StreamEvent.FinReceived, 'peer')) {
      const before = inStates(AWAITING_ACCEPT, this._state);
      this.session._streamError(this, MuxErrorCodes.PROTOCOL, before ? 'FIN before ACCEPT' : 'second FIN');
      return;
    }
    if (this._inbox.length > 0) {
      this._endHeld = true;
      return;
    }
    this.emit('end');
    this.session._maybeClose(this);
  }

  /** @internal */
  _onReset(code: number, reason: string): void {
    this.session._terminate(
      this,
      new CaravanError(ErrorCodes.FLOW_RESET, `stream ${this.id} reset by peer (code ${code}): ${reason}`),
      { code, reason },
      false,
      'peer',
    );
  }

  /** @internal */
  _dropInbox(): void {
    this._inbox = [];
    this._endHeld = false;
  }

  private _drainInbox(): void {
    while (!this.closed && this._inbox.length > 0 && this.listenerCount('data') > 0) {
      this.emit('data', this._inbox.shift() as Buffer);
    }
    if (!this.closed && this._inbox.length === 0 && this._endHeld) {
      this._endHeld = false;
      this.emit('end');
      this.session._maybeClose(this);
    }
  }
  /** @internal */
  _addBytesOut(n: number): void {
    this._bytesOut += n;
  }
  /** @internal may DATA and FIN be sent on this stream now (our direction open, and accepted if it is the peer's)? */
  get _canSend(): boolean {
    return inStates(MAY_SEND, this._state);
  }
  /** @internal has data, credit and permission */
  get _sendable(): boolean {
    return this._queued > 0 && this._credit > 0 && inStates(MAY_SEND, this._state) && this.session._peerKnown;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-declaration-merging */
// Typed events (declaration merging with the class).
export interface MuxStream {
  on(event: 'accept', fn: (payload: Buffer) => void): this;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'end', fn: () => void): this;
  on(event: 'reset', fn: (code: number, reason: string) => void): this;
  on(event: 'drain', fn: () => void): this;
  on(event: 'close', fn: () => void): this;
  on(event: string | symbol, fn: (...args: any[]) => void): this;
  once(event: 'accept', fn: (payload: Buffer) => void): this;
  once(event: 'data', fn: (chunk: Buffer) => void): this;
  once(event: 'end', fn: () => void): this;
  once(event: 'reset', fn: (code: number, reason: string) => void): this;
  once(event: 'drain', fn: () => void): this;
  once(event: 'close', fn: () => void): this;
  once(event: string | symbol, fn: (...args: any[]) => void): this;
  removeListener(event: string | symbol, fn: (...args: never[]) => void): this;
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-declaration-merging */

export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
