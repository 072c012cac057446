/**
 * MuxSession: many flow-controlled, bidirectional streams plus a control channel over one duplex byte stream
 * (a link's mTLS socket). Protocol: docs/design/wire.md; the files of this folder: docs/design/architecture.md,
 * "The mux". This file is the session: its state machine (session-state.ts), the session's frames, opening and
 * accepting streams, GOAWAY and closing. The codec is frame.ts, reading reader.ts, a stream stream.ts (its state
 * machine stream-state.ts), the send queue and flush scheduler.ts, keepalive and RTT liveness.ts, the limits on
 * what the peer can make this side do peer-limits.ts.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observe/log.js';
import { nullLogger } from '../../observe/log.js';
import { RepeatLog } from '../../observe/repeat-log.js';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { CaravanError, ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import {
  FrameFlags,
  FrameType,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_ID,
  MuxErrorCodes,
  encodePreface,
  frameTypeName,
} from './frame.js';
import type { Frame, MuxSettings } from './frame.js';
import { FinStep, MuxStream, toBuffer, type Cause, type StreamHost } from './stream.js';
import { StreamEvent, StreamState } from './stream-state.js';
import {
  SessionEvent,
  SessionState,
  nextSessionState,
  sessionEventName,
  sessionStateName,
} from './session-state.js';
import { SendScheduler, type SchedulerHost } from './scheduler.js';
import { Liveness, type LivenessHost } from './liveness.js';
import { PeerLimits } from './peer-limits.js';
import { FrameReader, type ReaderHost } from './reader.js';
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_PEER_STREAMS,
  DEFAULT_MAX_QUEUED_REPLIES,
  DEFAULT_MAX_SOCKET_QUEUE,
  DEFAULT_OPENS_PER_TURN,
  DEFAULT_PEER_OPEN_RATE,
  DEFAULT_PREFACE_TIMEOUT_MS,
  MAX_STREAM_WINDOW,
  type MuxFault,
  type MuxRefusal,
  type MuxSessionOptions,
  type MuxStats,
} from './options.js';

export { MuxStream } from './stream.js';
export { MuxErrorCodes } from './frame.js';
export * from './options.js';

function linkClosed(message: string, cause?: unknown): CaravanError {
  return new CaravanError(ErrorCodes.LINK_CLOSED, message, cause === undefined ? undefined : { cause });
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-declaration-merging */
// Typed events (declaration merging with the class).
export interface MuxSession {
  on(event: 'ready', fn: () => void): this;
  on(event: 'stream', fn: (stream: MuxStream, header: Buffer) => void): this;
  on(event: 'control', fn: (payload: Buffer) => void): this;
  on(event: 'rtt', fn: (ms: number) => void): this;
  on(event: 'goaway', fn: (code: number, reason: string) => void): this;
  on(event: 'refused', fn: (why: MuxRefusal) => void): this;
  on(event: 'close', fn: (err?: Error) => void): this;
  on(event: string | symbol, fn: (...args: any[]) => void): this;
  once(event: 'ready', fn: () => void): this;
  once(event: 'stream', fn: (stream: MuxStream, header: Buffer) => void): this;
  once(event: 'control', fn: (payload: Buffer) => void): this;
  once(event: 'rtt', fn: (ms: number) => void): this;
  once(event: 'goaway', fn: (code: number, reason: string) => void): this;
  once(event: 'close', fn: (err?: Error) => void): this;
  once(event: string | symbol, fn: (...args: any[]) => void): this;
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-declaration-merging */

/**
 * A multiplexed session over one duplex byte stream.
 *
 * Events: 'ready' () after the peer's preface was validated; 'stream' (stream, header: Buffer) for each OPEN from
 * the peer; 'refused' (why) for each OPEN refused here; 'control' (payload: Buffer); 'rtt' (ms); 'goaway' (code,
 * reason); 'close' (err?: Error) exactly once.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed events
export class MuxSession extends EventEmitter implements StreamHost, SchedulerHost, LivenessHost, ReaderHost {
  private readonly socket: Duplex;
  private readonly log: Logger;
  private readonly initiator: boolean;
  /** @internal our per-stream receive window */
  readonly _localWindow: number;
  /** @internal */
  readonly _windowUpdateThreshold: number;
  /** @internal */
  readonly _maxStreamWindow: number;

  /** where the session is in its life; changed only by `transition` */
  private state: SessionState = SessionState.Preface;
  private goAwaySent = false;
  private goAwayReceived = false;
  /** the close is clean (GOAWAY, then both directions ended): 'close' carries no error */
  private graceful = false;

  private peer: MuxSettings | undefined;
  private readonly reader: FrameReader;
  private readonly streams = new Map<number, MuxStream>();
  private readonly scheduler: SendScheduler;
  private nextId: number;
  private lastPeerStreamId = 0;
  private readonly liveness: Liveness;

  private readonly counters = {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamsRefused: 0,
  };

  // limits on what the peer can make this side do (docs/design/security.md)
  private readonly clock: Clock;
  private readonly faultLog: RepeatLog;
  private readonly limits: PeerLimits;
  private readonly maxQueuedReplies: number;
  private readonly onFault: ((kind: MuxFault) => void) | undefined;
  private prefaceTimer: Timer | undefined;

  constructor(socket: Duplex, opts: MuxSessionOptions) {
    super();
    this.socket = socket;
    this.initiator = opts.initiator;
    this.nextId = opts.initiator ? 1 : 2;
    this.log = opts.logger ?? nullLogger;
    this._localWindow = opts.initialWindow ?? DEFAULT_INITIAL_WINDOW;
    const maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this._windowUpdateThreshold = Math.max(1, Math.floor(this._localWindow / 4));
    this._maxStreamWindow = Math.max(this._localWindow, opts.maxStreamWindow ?? MAX_STREAM_WINDOW);
    this.clock = opts.clock ?? systemClock;
    this.liveness = new Liveness(this.clock, this, opts.keepaliveIntervalMs ?? 0, opts.idleTimeoutMs ?? 0);
    this.faultLog = new RepeatLog(this.log, { clock: this.clock });
    this.limits = new PeerLimits(
      opts.maxPeerStreams ?? DEFAULT_MAX_PEER_STREAMS,
      opts.peerOpenRate ?? DEFAULT_PEER_OPEN_RATE,
      Math.max(1, opts.opensPerTurn ?? DEFAULT_OPENS_PER_TURN),
      this.clock,
      this.faultLog,
    );
    this.maxQueuedReplies = opts.maxQueuedReplies ?? DEFAULT_MAX_QUEUED_REPLIES;
    this.onFault = opts.onFault;
    this.reader = new FrameReader(socket, this);
    this.scheduler = new SendScheduler(
      socket,
      this,
      this.counters,
      maxFrameSize,
      opts.maxSocketQueue ?? DEFAULT_MAX_SOCKET_QUEUE,
    );
    const preface = encodePreface({ initialWindow: this._localWindow, maxFrameSize });

    const ns = socket as Duplex & { setNoDelay?: (v: boolean) => unknown };
    if (typeof ns.setNoDelay === 'function') ns.setNoDelay(true);

    socket.on('data', (chunk: Buffer | string) =>
      this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    );
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error) => {
      this.log.debug('mux socket error', { err });
      this.destroy(linkClosed(`link socket error: ${err.message}`, err));
    });
    socket.on('close', () => {
      this.finish(this.graceful ? undefined : linkClosed('link connection closed'));
    });
    socket.on('drain', () => this.scheduler.resume());

    if (socket.destroyed) {
      process.nextTick(() => this.finish(linkClosed('link connection already closed')));
      return;
    }
    socket.write(preface);
    this.counters.bytesOut += preface.length;

    this.liveness.start();
    const prefaceMs = opts.prefaceTimeoutMs ?? DEFAULT_PREFACE_TIMEOUT_MS;
    if (prefaceMs > 0) {
      this.prefaceTimer = this.clock
        .setTimeout(() => {
          this.prefaceTimer = undefined;
          if (this.closed || this.peer !== undefined) return;
          this.fault(
            'preface-timeout',
            new CaravanError(ErrorCodes.LINK_TIMEOUT, `no link preface received within ${prefaceMs} ms`),
          );
        }, prefaceMs)
        .unref();
    }
  }

  get rttMs(): number | undefined {
    return this.liveness.rttMs;
  }

  get closed(): boolean {
    return this.state === SessionState.Closed;
  }

  /** The session's state, by name (for logs and tests). */
  get stateName(): string {
    return sessionStateName(this.state);
  }

  get stats(): MuxStats {
    return { ...this.counters, activeStreams: this.streams.size };
  }

  /** Replies to the peer queued and not yet written (bounded by maxQueuedReplies). */
  get queuedReplies(): number {
    return this.scheduler.repliesQueued;
  }

  /** true once GOAWAY was sent or received: no new streams. */
  get goingAway(): boolean {
    return this.goAwaySent || this.goAwayReceived;
  }

  /** Send OPEN with an opaque header; the returned stream may be written to at once. */
  openStream(header: Uint8Array): MuxStream {
    if (this.closed || this.scheduler.socketEnded || this.socket.writableEnded)
      throw linkClosed('cannot open a stream: link session is closed');
    if (this.goAwaySent) throw linkClosed('cannot open a stream: link session is going away');
    if (this.goAwayReceived) throw linkClosed('cannot open a stream: peer sent GOAWAY');
    if (header.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`OPEN header exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    const id = this.allocateId();
    const s = new MuxStream(this, id, true, this._localWindow, this.peer?.initialWindow ?? 0);
    s._transition(StreamEvent.OpenSent, 'local');
    this.streams.set(id, s);
    this.counters.streamsOpened++;
    this._queuePrio({ type: FrameType.OPEN, flags: 0, streamId: id, payload: toBuffer(header) }, s);
    return s;
  }

  /** Send a CONTROL frame (ahead of all DATA). */
  sendControl(payload: Uint8Array): void {
    if (this.closed || this.scheduler.socketEnded)
      throw linkClosed('cannot send CONTROL: link session is closed');
    if (payload.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`CONTROL payload exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    this._queuePrio(
      { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: toBuffer(payload) },
      undefined,
    );
  }

  /** Send a PING; resolves with the round-trip time in ms (measured on the session's clock). */
  ping(): Promise<number> {
    if (this.closed || this.scheduler.socketEnded)
      return Promise.reject(linkClosed('cannot ping: link session is closed'));
    return this.liveness.ping();
  }

  /** Graceful shutdown: no new streams either way; the connection ends once all streams are done. */
  goAway(code: number = MuxErrorCodes.NO_ERROR, reason = ''): void {
    if (this.closed || this.goAwaySent) return;
    this.goAwaySent = true;
    this.transition(SessionEvent.GoAwaySent, 'local');
    this.log.debug('mux sending GOAWAY', { code, reason, streams: this.streams.size });
    this._queuePrio(
      {
        type: FrameType.GOAWAY,
        flags: 0,
        streamId: 0,
        lastStreamId: this.lastPeerStreamId,
        code: code >>> 0,
        reason,
      },
      undefined,
    );
    this.maybeEndGracefully();
  }

  /** Reset all streams (they emit 'reset' with LINK_CLOSED, then 'close'), destroy the socket, emit 'close'. */
  destroy(err?: Error): void {
    this.finish(err);
  }

  /**
   * The one place the session's state changes; each change is logged at debug level. An event the state does not
   * allow is a session error (PROTOCOL) when the peer caused it, else `CaravanError(ILLEGAL_TRANSITION)`.
   */
  private transition(event: SessionEvent, cause: Cause): void {
    const from = this.state;
    const to = nextSessionState(from, event);
    if (to === undefined) {
      const what = `${sessionEventName(event)} is not allowed in state ${sessionStateName(from)}`;
      throw new CaravanError(
        cause === 'peer' ? ErrorCodes.PROTOCOL : ErrorCodes.ILLEGAL_TRANSITION,
        `mux session: ${what}`,
      );
    }
    if (to === from) return;
    this.state = to;
    if (this.log.enabled('debug'))
      this.log.debug(`mux session ${sessionStateName(from)} -> ${sessionStateName(to)}`, {
        event: sessionEventName(event),
        cause,
      });
  }

  // -------------------------------------------------------------------------------------------------------------
  // what streams and the scheduler use (StreamHost, SchedulerHost)

  /** @internal */
  get _log(): Logger {
    return this.log;
  }

  /** @internal */
  get _peerKnown(): boolean {
    return this.peer !== undefined;
  }

  /** @internal write() returns false once this many bytes are queued on a stream */
  get _writeHighWater(): number {
    return this.peer?.initialWindow ?? this._localWindow;
  }

  /** @internal */
  _queuePrio(f: Frame, s: MuxStream | undefined): void {
    if (this.closed || this.scheduler.socketEnded) return;
    // Frames a peer can make us send without limit while it does not read: PING acknowledgements and RESETs of its
    // own streams (refusals included). Its live streams are bounded, these are not, so they are counted.
    const reply =
      (f.type === FrameType.PING && (f.flags & FrameFlags.ACK) !== 0) ||
      (f.type === FrameType.RESET && (s === undefined || !s._local));
    if (reply && this.scheduler.repliesQueued >= this.maxQueuedReplies) {
      this.fault(
        'unread-replies',
        linkClosed(
          `peer does not read: more than ${this.maxQueuedReplies} replies (PING acknowledgements, stream resets) wait unsent`,
        ),
      );
      return;
    }
    this.scheduler.push(f, s, reply);
  }

  /** @internal the stream may have something to send now (data, FIN) */
  _wake(s: MuxStream): void {
    if (s.closed) return;
    this.scheduler.wake(s);
    if (s._fin === FinStep.Requested && s._queued === 0 && s._canSend) {
      s._fin = FinStep.Scheduled;
      this._queuePrio({ type: FrameType.FIN, flags: 0, streamId: s.id }, s);
    }
  }

  /**
   * @internal The stream is finished: remove it, drop its queue (callbacks get `err`), emit 'reset' if a reset code
   * is given, then 'close'. `async` defers the events (when the user's own call caused it).
   */
  _terminate(
    s: MuxStream,
    err: Error,
    resetEvent: { code: number; reason: string } | undefined,
    async: boolean,
    cause: Cause = 'local',
  ): void {
    if (s.closed) return;
    s._transition(StreamEvent.Reset, cause);
    s._deadError = err;
    s._dropInbox();
    this.dropQueue(s, err);
    this.removeStream(s);
    const emit = (): void => {
      if (resetEvent) s.emit('reset', resetEvent.code, resetEvent.reason);
      s.emit('close');
    };
    if (async) process.nextTick(emit);
    else emit();
  }

  /** @internal After our FIN was written or 'end' delivered: remove the stream once both directions are done. */
  _maybeClose(s: MuxStream): void {
    if (s._state === StreamState.Closing && !s._endHeld) {
      s._transition(StreamEvent.Finished, 'local');
      this.removeStream(s);
      s.emit('close');
    }
  }

  /** @internal */
  _sendPing(opaque: Buffer): void {
    this._queuePrio({ type: FrameType.PING, flags: 0, streamId: 0, opaque }, undefined);
  }

  /** @internal */
  _rtt(ms: number): void {
    this.emit('rtt', ms);
  }

  /** @internal */
  _idle(quietMs: number): void {
    if (this.closed) return;
    this.log.warn('mux idle timeout, closing link', { idleMs: Math.round(quietMs) });
    this.destroy(
      new CaravanError(ErrorCodes.LINK_TIMEOUT, `link idle: nothing received for ${Math.round(quietMs)} ms`),
    );
  }

  /** @internal the scheduler has nothing left to write */
  _flushed(): void {
    if (this.state === SessionState.Ending && !this.scheduler.socketEnded) {
      this.graceful = true;
      this.log.debug('mux ending link connection after GOAWAY');
      this.scheduler.endSocket();
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // stream bookkeeping

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId += 2;
      if (this.nextId > MAX_STREAM_ID) this.nextId = this.initiator ? 1 : 2;
      if (!this.streams.has(id)) return id;
    }
  }

  private dropQueue(s: MuxStream, err: Error): void {
    const q = s._queue;
    for (let i = s._queueHead; i < q.length; i++) {
      const cb = q[i]?.cb;
      if (cb) process.nextTick(cb, err);
    }
    s._queue = [];
    s._queueHead = 0;
    s._queued = 0;
  }

  private removeStream(s: MuxStream): void {
    if (!this.streams.delete(s.id)) return;
    if (!s._local) this.limits.closed();
    this.scheduler.remove(s);
    this.maybeEndGracefully();
  }

  /** @internal Stream error found here (the peer broke the protocol on one stream): RESET the peer, tell the application. */
  _streamError(s: MuxStream, code: number, reason: string): void {
    this.faultLog.warn(`stream-error-${code}`, 'mux stream error, resetting stream', {
      stream: s.id,
      code,
      reason,
    });
    this._queuePrio({ type: FrameType.RESET, flags: 0, streamId: s.id, code, reason }, s);
    const err = new CaravanError(
      code === MuxErrorCodes.FLOW_CONTROL ? ErrorCodes.FLOW_CONTROL : ErrorCodes.PROTOCOL,
      `stream ${s.id}: ${reason}`,
    );
    this._terminate(s, err, { code, reason }, false, 'peer');
  }

  /** After GOAWAY, once the last stream is gone: flush, then end our direction of the connection. */
  private maybeEndGracefully(): void {
    if (this.state !== SessionState.GoingAway || this.streams.size > 0) return;
    this.transition(SessionEvent.Drained, 'local');
    this.scheduler.schedule(); // the flush that finds nothing left ends the socket (_flushed)
  }

  // -------------------------------------------------------------------------------------------------------------
  // receiving

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.liveness.received();
    this.counters.bytesIn += chunk.length;
    this.reader.push(chunk);
  }

  /** @internal */
  _onReadError(e: unknown): void {
    if (isCaravanError(e, ErrorCodes.PROTOCOL)) {
      this.fault('protocol', e);
      return;
    }
    // a bug in the code a frame reached (an event handler of a stream, say): it must not end the router, so it
    // costs this link only, and is logged with its stack to be found and fixed
    if (this.closed) return;
    this.log.error('internal error while handling a frame; closing the link', {
      error: errorMessage(e),
      ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
    });
    this.destroy(new CaravanError(ErrorCodes.PROTOCOL, 'internal error at this router (see its log)'));
  }

  /** Closes the session for a fault of the peer: one warning, the fault reported once. */
  private fault(kind: MuxFault, err: CaravanError): void {
    if (this.closed) return;
    this.log.warn(kind === 'protocol' ? 'mux protocol error, closing link' : 'mux peer fault, closing link', {
      fault: kind,
      err: err.message,
    });
    this.onFault?.(kind);
    this.destroy(err);
  }

  /** @internal */
  _onPreface(settings: MuxSettings): void {
    this.peer = settings;
    this.transition(SessionEvent.PrefaceReceived, 'peer');
    this.prefaceTimer?.cancel();
    this.prefaceTimer = undefined;
    const w = (this.peer as MuxSettings).initialWindow;
    for (const s of this.streams.values()) {
      s._credit += w;
      this._wake(s);
    }
    this.log.debug('mux peer preface', { ...this.peer });
    // With keepalive on, measure the RTT at once rather than one interval later (status shows it from the start).
    if (this.liveness.keepalive) this.ping().catch(() => undefined);
    this.emit('ready');
  }

  /** @internal */
  readonly _onFrame = (f: Frame): boolean => {
    if (this.closed) return true;
    this.counters.framesIn++;
    switch (f.type) {
      case FrameType.CONTROL:
        this.emit('control', f.payload);
        return false;
      case FrameType.PING:
        if (f.flags & FrameFlags.ACK) {
          this.liveness.ack(f.opaque);
        } else {
          this._queuePrio(
            { type: FrameType.PING, flags: FrameFlags.ACK, streamId: 0, opaque: f.opaque },
            undefined,
          );
        }
        return false;
      case FrameType.GOAWAY:
        if (this.goAwayReceived) return false;
        this.goAwayReceived = true;
        this.transition(SessionEvent.GoAwayReceived, 'peer');
        this.log.debug('mux received GOAWAY', {
          code: f.code,
          reason: f.reason,
          lastStreamId: f.lastStreamId,
        });
        this.emit('goaway', f.code, f.reason);
        this.maybeEndGracefully();
        return false;
      case FrameType.OPEN:
        this.onOpen(f.streamId, f.payload);
        return this.limits.countOpen();
      default:
        break;
    }
    const s = this.streams.get(f.streamId);
    if (s === undefined) {
      // in flight when the stream was reset or closed
      if (this.log.enabled('debug'))
        this.log.debug('mux frame for unknown stream ignored', {
          type: frameTypeName(f.type),
          stream: f.streamId,
        });
      return false;
    }
    switch (f.type) {
      case FrameType.ACCEPT:
        s._onAccept(f.payload);
        break;
      case FrameType.DATA:
        s._onData(f.payload);
        break;
      case FrameType.WINDOW:
        s._onWindow(f.increment);
        break;
      case FrameType.FIN:
        s._onFin();
        break;
      case FrameType.RESET:
        s._onReset(f.code, f.reason);
        break;
    }
    return false;
  };

  private refuse(id: number, why: MuxRefusal, reason: string): void {
    this.counters.streamsRefused++;
    this._queuePrio(
      { type: FrameType.RESET, flags: 0, streamId: id, code: MuxErrorCodes.REFUSED, reason },
      undefined,
    );
    this.emit('refused', why);
  }

  private onOpen(id: number, header: Buffer): void {
    const peerParity = this.initiator ? 0 : 1;
    if (id % 2 !== peerParity) {
      throw new CaravanError(
        ErrorCodes.PROTOCOL,
        `OPEN with stream id ${id} of the wrong parity for the peer`,
      );
    }
    if (this.streams.has(id)) {
      throw new CaravanError(ErrorCodes.PROTOCOL, `OPEN for stream id ${id}, which is still open`);
    }
    if (this.goAwaySent) return this.refuse(id, 'going-away', 'going away');
    if (this.listenerCount('stream') === 0) return this.refuse(id, 'no-acceptor', 'no stream acceptor');
    const refusal = this.limits.check();
    if (refusal !== undefined) return this.refuse(id, refusal.why, refusal.reason);
    this.lastPeerStreamId = id;
    const s = new MuxStream(this, id, false, this._localWindow, (this.peer as MuxSettings).initialWindow);
    s._transition(StreamEvent.OpenReceived, 'peer');
    this.streams.set(id, s);
    this.limits.opened();
    this.counters.streamsAccepted++;
    this.emit('stream', s, header);
  }

  private onEnd(): void {
    if (this.closed) return;
    if (this.goingAway) {
      this.graceful = true;
      if (this.streams.size > 0) {
        const err = linkClosed('link connection ended during GOAWAY');
        for (const s of [...this.streams.values()]) {
          this._terminate(s, err, { code: MuxErrorCodes.LINK_CLOSED, reason: err.message }, false);
        }
      }
      // Our own direction: end it once our queue is flushed (allowHalfOpen sockets do not end by themselves).
      this.maybeEndGracefully();
      return;
    }
    this.destroy(linkClosed('peer closed the link connection without GOAWAY'));
  }

  // -------------------------------------------------------------------------------------------------------------
  // closing

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.transition(SessionEvent.Close, 'local');
    this.prefaceTimer?.cancel();
    this.prefaceTimer = undefined;
    this.reader.stop();
    this.faultLog.close();
    if (err) this.log.debug('mux session closed', { err: errorMessage(err) });
    else this.log.debug('mux session closed');

    const reason = err ? err.message : 'link session closed';
    const streamErr = linkClosed(`link session closed: ${reason}`, err);
    for (const s of [...this.streams.values()]) {
      this._terminate(s, streamErr, { code: MuxErrorCodes.LINK_CLOSED, reason }, false);
    }
    this.streams.clear();
    this.scheduler.stop();
    this.liveness.stop(linkClosed(`ping aborted: ${reason}`));
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close', err);
  }
}
