/**
 * MuxSession: many flow-controlled, bidirectional streams plus a control channel over one duplex byte stream
 * (a link's mTLS socket). Protocol: docs/design/wire.md. The codec is in frame.ts; this file is the state machine,
 * the send scheduler and flow control.
 */
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observe/log.js';
import { nullLogger } from '../../observe/log.js';
import { RepeatLog } from '../../observe/repeat-log.js';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { TokenBucket, type RateLimit } from '../../rate-limit.js';
import { CaravanError, ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import {
  FrameDecoder,
  FrameFlags,
  FrameType,
  MAX_CREDIT,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_ID,
  MuxErrorCodes,
  PrefaceDecoder,
  encodePreface,
  frameTypeName,
} from './frame.js';
import type { Frame, MuxSettings } from './frame.js';
import { WriteBatch } from './batch.js';

export { MuxErrorCodes } from './frame.js';

export interface MuxSessionOptions {
  /** dialling end: odd stream ids */
  initiator: boolean;
  /** our receive window per stream, announced in the preface; default 256 KiB */
  initialWindow?: number;
  /** a stream's receive window may grow to this for bulk flows; default 1 MiB (set it to initialWindow to disable growth) */
  maxStreamWindow?: number;
  /** max DATA payload per frame we send; default 64 KiB */
  maxFrameSize?: number;
  /** stop writing into the socket while socket.writableLength > this; default 128 KiB */
  maxSocketQueue?: number;
  /** send PING this often and measure RTT; 0/undefined = off */
  keepaliveIntervalMs?: number;
  /** destroy the session with ErrorCodes.LINK_TIMEOUT if nothing at all was received for this long; 0/undefined = off */
  idleTimeoutMs?: number;
  logger?: Logger;
  /** timers and time of the limits below (preface timeout, open rate, log summaries); default systemClock */
  clock?: Clock;
  /** close the session (LINK_TIMEOUT) when the peer's preface has not arrived after this long; default 10 s, 0 = off */
  prefaceTimeoutMs?: number;
  /** streams opened by the peer that may be open at once; further OPENs are refused (REFUSED); default 10,000 */
  maxPeerStreams?: number;
  /** how fast the peer may open streams; further OPENs are refused (REFUSED); default 5,000/s, burst 10,000 */
  peerOpenRate?: RateLimit;
  /**
   * replies to the peer (PING acknowledgements, RESETs of its streams) that may wait unsent because the peer does not
   * read; one more closes the session; default 16,384
   */
  maxQueuedReplies?: number;
  /** OPENs handled in one event-loop turn; the rest of the read waits for the next turn; default 128 */
  opensPerTurn?: number;
  /** told once when the session is closed for a fault of the peer (for a metric) */
  onFault?: (kind: MuxFault) => void;
}

/** Why a session was closed for its peer's fault. */
export type MuxFault = 'preface-timeout' | 'unread-replies' | 'protocol';

/** Why an OPEN from the peer was refused with REFUSED. */
export type MuxRefusal = 'link-streams' | 'link-rate' | 'going-away' | 'no-acceptor';

export interface MuxStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** OPENs from the peer refused with REFUSED (limits, going away) */
  streamsRefused: number;
  activeStreams: number;
}

export const DEFAULT_INITIAL_WINDOW = 256 * 1024;
/** A stream's receive window grows up to this for bulk flows (auto-tuning); memory per stream stays bounded by it. */
export const MAX_STREAM_WINDOW = 1024 * 1024;
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024;
export const DEFAULT_MAX_SOCKET_QUEUE = 128 * 1024;
export const DEFAULT_PREFACE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PEER_STREAMS = 10_000;
export const DEFAULT_PEER_OPEN_RATE: RateLimit = { perSecond: 5_000, burst: 10_000 };
export const DEFAULT_MAX_QUEUED_REPLIES = 16_384;
export const DEFAULT_OPENS_PER_TURN = 128;
/** Keepalive does not stack more than this many unanswered PINGs. */
const MAX_KEEPALIVE_OUTSTANDING = 4;

type WriteCb = (err?: Error | null) => void;

interface WriteEntry {
  buf: Buffer;
  off: number;
  cb: WriteCb | undefined;
}

interface PrioEntry {
  f: Frame;
  s: MuxStream | undefined;
  /** a reply to the peer: counts against maxQueuedReplies until written */
  reply: boolean;
}

interface PendingPing {
  start: number;
  resolve: (ms: number) => void;
  reject: (err: Error) => void;
}

function linkClosed(message: string, cause?: unknown): CaravanError {
  return new CaravanError(ErrorCodes.LINK_CLOSED, message, cause === undefined ? undefined : { cause });
}

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
  readonly session: MuxSession;
  /** @internal true when this side opened the stream */
  readonly _local: boolean;
  /** @internal local: the peer accepted; remote: we accepted */
  _accepted = false;
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
  /** @internal end() was called */
  _finQueued = false;
  /** @internal a FIN frame is in the priority queue */
  _finScheduled = false;
  /** @internal FIN written to the socket */
  _finSent = false;
  /** @internal FIN received */
  _finRecv = false;
  /** @internal removed from the session (closed or reset) */
  _closed = false;
  /** @internal */
  _needDrain = false;
  /** @internal member of the session's ready set */
  _inReady = false;
  /** @internal error for late writes once dead */
  _deadError: Error | undefined;
  /** @internal 'end' was emitted */
  _endDelivered = false;
  private _bytesIn = 0;
  private _bytesOut = 0;
  /** inbound data held while no 'data' listener is attached */
  private _inbox: Buffer[] = [];
  private _endHeld = false;

  /** @internal use MuxSession.openStream or the session's 'stream' event */
  constructor(session: MuxSession, id: number, local: boolean, recvWindow: number, credit: number) {
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
  get closed(): boolean {
    return this._closed;
  }

  /** Reply to an incoming OPEN. */
  accept(payload: Uint8Array = Buffer.alloc(0)): void {
    if (this._closed) return;
    if (this._local) throw new Error(`stream ${this.id}: accept() is for incoming streams`);
    if (this._accepted) throw new Error(`stream ${this.id}: already accepted`);
    if (payload.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`ACCEPT payload exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    this._accepted = true;
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
    if (this._closed || this._finQueued) {
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
    if (this._closed || this._finQueued) return;
    this._finQueued = true;
    this.session._wake(this);
  }

  /** Abort the stream both ways: RESET to the peer, queued data dropped, write callbacks get an error. */
  reset(code: number, reason = ''): void {
    if (this._closed) return;
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
    if (this._closed || this._finRecv || !(n > 0)) return;
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

  /** @internal deliver received bytes, or hold them until a 'data' listener is attached */
  _deliverData(chunk: Buffer): void {
    this._bytesIn += chunk.length;
    if (this._inbox.length === 0 && this.listenerCount('data') > 0) this.emit('data', chunk);
    else this._inbox.push(chunk);
  }

  /** @internal peer FIN: emit 'end' now, or after held data was delivered; true if emitted */
  _deliverEnd(): boolean {
    if (this._inbox.length > 0) {
      this._endHeld = true;
      return false;
    }
    this._endDelivered = true;
    this.emit('end');
    return true;
  }

  /** @internal */
  _dropInbox(): void {
    this._inbox = [];
    this._endHeld = false;
  }

  private _drainInbox(): void {
    while (!this._closed && this._inbox.length > 0 && this.listenerCount('data') > 0) {
      this.emit('data', this._inbox.shift() as Buffer);
    }
    if (!this._closed && this._inbox.length === 0 && this._endHeld) {
      this._endHeld = false;
      this._endDelivered = true;
      this.emit('end');
      this.session._maybeClose(this);
    }
  }
  /** @internal */
  _addBytesOut(n: number): void {
    this._bytesOut += n;
  }
  /** @internal may the session send DATA/FIN on this stream? */
  get _canSend(): boolean {
    return !this._closed && (this._local || this._accepted);
  }
  /** @internal has data, credit and permission */
  get _sendable(): boolean {
    return this._queued > 0 && this._credit > 0 && this._canSend && this.session._peerKnown;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-declaration-merging */
// Typed events (declaration merging with the classes).
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

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * A multiplexed session over one duplex byte stream.
 *
 * Events: 'ready' () after the peer's preface was validated; 'stream' (stream, header: Buffer) for each OPEN from
 * the peer; 'refused' (why) for each OPEN refused here; 'control' (payload: Buffer); 'rtt' (ms); 'goaway' (code,
 * reason); 'close' (err?: Error) exactly once.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed events
export class MuxSession extends EventEmitter {
  private readonly socket: Duplex;
  private readonly log: Logger;
  private readonly initiator: boolean;
  private readonly maxFrameSize: number;
  private readonly maxSocketQueue: number;
  private readonly idleTimeoutMs: number;
  /** @internal our per-stream receive window */
  readonly _localWindow: number;
  /** @internal */
  readonly _windowUpdateThreshold: number;
  /** @internal */
  readonly _maxStreamWindow: number;

  private peer: MuxSettings | undefined;
  private readonly prefaceDecoder = new PrefaceDecoder();
  private readonly decoder = new FrameDecoder();
  private readonly streams = new Map<number, MuxStream>();
  private readonly ready = new Set<MuxStream>();
  private prio: PrioEntry[] = [];
  private prioHead = 0;
  private nextId: number;
  private lastPeerStreamId = 0;

  private flushScheduled = false;
  private blocked = false;
  private endPending = false;
  private socketEnded = false;
  private graceful = false;
  private sentGoAway = false;
  private recvGoAway = false;
  private _closed = false;
  private _rttMs: number | undefined;

  private readonly pings = new Map<number, PendingPing>();
  private nextPingId = 1;
  private lastRx = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;

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
  private readonly maxPeerStreams: number;
  private readonly openBucket: TokenBucket;
  private readonly maxQueuedReplies: number;
  private readonly opensPerTurn: number;
  private readonly onFault: ((kind: MuxFault) => void) | undefined;
  private prefaceTimer: Timer | undefined;
  private peerStreams = 0;
  private repliesQueued = 0;
  private opensThisTurn = 0;
  private turnResetScheduled = false;
  /** bytes of a read left unprocessed until the next turn (the socket is paused meanwhile) */
  private deferred: Buffer | undefined;

  constructor(socket: Duplex, opts: MuxSessionOptions) {
    super();
    this.socket = socket;
    this.initiator = opts.initiator;
    this.nextId = opts.initiator ? 1 : 2;
    this.log = opts.logger ?? nullLogger;
    this._localWindow = opts.initialWindow ?? DEFAULT_INITIAL_WINDOW;
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxSocketQueue = opts.maxSocketQueue ?? DEFAULT_MAX_SOCKET_QUEUE;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 0;
    this._windowUpdateThreshold = Math.max(1, Math.floor(this._localWindow / 4));
    this._maxStreamWindow = Math.max(this._localWindow, opts.maxStreamWindow ?? MAX_STREAM_WINDOW);
    this.clock = opts.clock ?? systemClock;
    this.faultLog = new RepeatLog(this.log, { clock: this.clock });
    this.maxPeerStreams = opts.maxPeerStreams ?? DEFAULT_MAX_PEER_STREAMS;
    this.openBucket = new TokenBucket(opts.peerOpenRate ?? DEFAULT_PEER_OPEN_RATE, this.clock);
    this.maxQueuedReplies = opts.maxQueuedReplies ?? DEFAULT_MAX_QUEUED_REPLIES;
    this.opensPerTurn = Math.max(1, opts.opensPerTurn ?? DEFAULT_OPENS_PER_TURN);
    this.onFault = opts.onFault;
    const preface = encodePreface({ initialWindow: this._localWindow, maxFrameSize: this.maxFrameSize });

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
    socket.on('drain', () => this.resume());

    if (socket.destroyed) {
      process.nextTick(() => this.finish(linkClosed('link connection already closed')));
      return;
    }
    socket.write(preface);
    this.counters.bytesOut += preface.length;

    if (this.idleTimeoutMs > 0) this.armIdle(this.idleTimeoutMs);
    const prefaceMs = opts.prefaceTimeoutMs ?? DEFAULT_PREFACE_TIMEOUT_MS;
    if (prefaceMs > 0) {
      this.prefaceTimer = this.clock
        .setTimeout(() => {
          this.prefaceTimer = undefined;
          if (this._closed || this.peer !== undefined) return;
          this.fault(
            'preface-timeout',
            new CaravanError(ErrorCodes.LINK_TIMEOUT, `no link preface received within ${prefaceMs} ms`),
          );
        }, prefaceMs)
        .unref();
    }
    const ka = opts.keepaliveIntervalMs ?? 0;
    if (ka > 0) {
      this.keepaliveTimer = setInterval(() => {
        if (this.pings.size >= MAX_KEEPALIVE_OUTSTANDING) return;
        this.ping().catch(() => undefined);
      }, ka);
      this.keepaliveTimer.unref();
    }
  }

  get rttMs(): number | undefined {
    return this._rttMs;
  }

  get closed(): boolean {
    return this._closed;
  }

  get stats(): MuxStats {
    return { ...this.counters, activeStreams: this.streams.size };
  }

  /** Replies to the peer queued and not yet written (bounded by maxQueuedReplies). */
  get queuedReplies(): number {
    return this.repliesQueued;
  }

  /** true once GOAWAY was sent or received: no new streams. */
  get goingAway(): boolean {
    return this.sentGoAway || this.recvGoAway;
  }

  /** Send OPEN with an opaque header; the returned stream may be written to at once. */
  openStream(header: Uint8Array): MuxStream {
    if (this._closed || this.socketEnded || this.socket.writableEnded)
      throw linkClosed('cannot open a stream: link session is closed');
    if (this.sentGoAway) throw linkClosed('cannot open a stream: link session is going away');
    if (this.recvGoAway) throw linkClosed('cannot open a stream: peer sent GOAWAY');
    if (header.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`OPEN header exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    const id = this.allocateId();
    const s = new MuxStream(this, id, true, this._localWindow, this.peer?.initialWindow ?? 0);
    this.streams.set(id, s);
    this.counters.streamsOpened++;
    this._queuePrio({ type: FrameType.OPEN, flags: 0, streamId: id, payload: toBuffer(header) }, s);
    return s;
  }

  /** Send a CONTROL frame (ahead of all DATA). */
  sendControl(payload: Uint8Array): void {
    if (this._closed || this.socketEnded) throw linkClosed('cannot send CONTROL: link session is closed');
    if (payload.length > MAX_FRAME_PAYLOAD)
      throw new RangeError(`CONTROL payload exceeds ${MAX_FRAME_PAYLOAD} bytes`);
    this._queuePrio(
      { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: toBuffer(payload) },
      undefined,
    );
  }

  /** Send a PING; resolves with the round-trip time in ms. */
  ping(): Promise<number> {
    if (this._closed || this.socketEnded)
      return Promise.reject(linkClosed('cannot ping: link session is closed'));
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 1) >>> 0 || 1;
    const opaque = Buffer.alloc(8);
    opaque.writeUInt32BE(id, 4);
    return new Promise<number>((resolve, reject) => {
      this.pings.set(id, { start: performance.now(), resolve, reject });
      this._queuePrio({ type: FrameType.PING, flags: 0, streamId: 0, opaque }, undefined);
    });
  }

  /** Graceful shutdown: no new streams either way; the connection ends once all streams are done. */
  goAway(code: number = MuxErrorCodes.NO_ERROR, reason = ''): void {
    if (this._closed || this.sentGoAway) return;
    this.sentGoAway = true;
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

  // -------------------------------------------------------------------------------------------------------------
  // internals used by MuxStream

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
    if (this._closed || this.socketEnded) return;
    // Frames a peer can make us send without limit while it does not read: PING acknowledgements and RESETs of its
    // own streams (refusals included). Its live streams are bounded, these are not, so they are counted.
    const reply =
      (f.type === FrameType.PING && (f.flags & FrameFlags.ACK) !== 0) ||
      (f.type === FrameType.RESET && (s === undefined || !s._local));
    if (reply && ++this.repliesQueued > this.maxQueuedReplies) {
      this.fault(
        'unread-replies',
        linkClosed(
          `peer does not read: more than ${this.maxQueuedReplies} replies (PING acknowledgements, stream resets) wait unsent`,
        ),
      );
      return;
    }
    this.prio.push({ f, s, reply });
    this.scheduleFlush();
  }

  /** @internal the stream may have something to send now (data, FIN) */
  _wake(s: MuxStream): void {
    if (s._closed) return;
    if (s._sendable) {
      if (!s._inReady) {
        s._inReady = true;
        this.ready.add(s);
      }
      this.scheduleFlush();
    }
    this.maybeScheduleFin(s);
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
  ): void {
    if (s._closed) return;
    s._closed = true;
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
    if (!s._local) this.peerStreams--;
    if (s._inReady) {
      s._inReady = false;
      this.ready.delete(s);
    }
    this.maybeEndGracefully();
  }

  private maybeScheduleFin(s: MuxStream): void {
    if (s._finQueued && !s._finScheduled && !s._finSent && s._queued === 0 && s._canSend) {
      s._finScheduled = true;
      this._queuePrio({ type: FrameType.FIN, flags: 0, streamId: s.id }, s);
    }
  }

  /** @internal After FIN was written or 'end' delivered: close the stream once both directions are done. */
  _maybeClose(s: MuxStream): void {
    if (!s._closed && s._finSent && s._endDelivered) {
      s._closed = true;
      this.removeStream(s);
      s.emit('close');
    }
  }

  /** Stream error detected here: RESET the peer, tell the application. */
  private streamError(s: MuxStream, code: number, reason: string): void {
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
    this._terminate(s, err, { code, reason }, false);
  }

  // -------------------------------------------------------------------------------------------------------------
  // sending

  private scheduleFlush(): void {
    if (this.flushScheduled || this.blocked || this._closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private resume(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.scheduleFlush();
  }

  private hasWork(): boolean {
    return this.prioHead < this.prio.length || this.ready.size > 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this._closed || this.socketEnded) return;
    const sock = this.socket;
    if (sock.writableEnded || sock.destroyed) {
      this.socketEnded = true;
      return;
    }
    let budget = this.maxSocketQueue - sock.writableLength;
    if (budget <= 0) {
      if (this.hasWork()) this.blocked = true;
      return;
    }
    const batch = new WriteBatch();
    const cbs: WriteCb[] = [];
    const finished: MuxStream[] = [];
    const drained: MuxStream[] = [];

    // 1. priority frames, in order
    while (this.prioHead < this.prio.length && budget > 0) {
      const e = this.prio[this.prioHead++] as PrioEntry;
      const f = e.f;
      const s = e.s;
      if (e.reply) this.repliesQueued--;
      if (s !== undefined && s._closed && (f.type === FrameType.FIN || f.type === FrameType.WINDOW)) continue;
      budget -= batch.addFrame(f);
      if (f.type === FrameType.FIN && s !== undefined) {
        s._finSent = true;
        finished.push(s);
      }
    }
    if (this.prioHead >= this.prio.length) {
      this.prio = [];
      this.prioHead = 0;
    } else if (this.prioHead > 1024) {
      this.prio = this.prio.slice(this.prioHead);
      this.prioHead = 0;
    }

    // 2. DATA, round robin: one frame per stream per turn
    while (budget > 0 && this.ready.size > 0 && this.prioHead >= this.prio.length) {
      const s = this.ready.values().next().value as MuxStream;
      this.ready.delete(s);
      s._inReady = false;
      if (!s._sendable) continue;
      const entry = s._queue[s._queueHead] as WriteEntry;
      const n = Math.min(this.maxFrameSize, s._credit, entry.buf.length - entry.off);
      const payload =
        entry.off === 0 && n === entry.buf.length ? entry.buf : entry.buf.subarray(entry.off, entry.off + n);
      budget -= batch.addPayloadFrame(FrameType.DATA, s.id, payload);
      entry.off += n;
      s._credit -= n;
      s._queued -= n;
      s._addBytesOut(n);
      if (entry.off === entry.buf.length) {
        if (entry.cb) cbs.push(entry.cb);
        s._queue[s._queueHead++] = undefined as unknown as WriteEntry;
        if (s._queueHead === s._queue.length) {
          s._queue = [];
          s._queueHead = 0;
        } else if (s._queueHead > 64) {
          s._queue = s._queue.slice(s._queueHead);
          s._queueHead = 0;
        }
      }
      if (s._queued === 0 && s._finQueued && !s._finScheduled && !s._finSent) {
        // FIN right behind the stream's last DATA
        s._finScheduled = true;
        s._finSent = true;
        batch.addFrame({ type: FrameType.FIN, flags: 0, streamId: s.id });
        finished.push(s);
      }
      if (s._needDrain && s._queued < this._writeHighWater) {
        s._needDrain = false;
        drained.push(s);
      }
      if (s._sendable) {
        s._inReady = true;
        this.ready.add(s);
      }
    }

    if (!batch.empty) {
      const parts = batch.finish();
      this.counters.bytesOut += batch.bytes;
      this.counters.framesOut += batch.frames;
      const last = parts.length - 1;
      const onWritten = (err?: Error | null): void => {
        for (const cb of cbs) cb(err ?? null);
        if (this.blocked && !this._closed) this.resume();
      };
      sock.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i === last) sock.write(parts[i] as Buffer, onWritten);
        else sock.write(parts[i] as Buffer);
      }
      sock.uncork();
    }

    if (this.hasWork()) {
      if (budget > 0) this.scheduleFlush();
      else this.blocked = true;
    } else if (this.endPending && !this.socketEnded) {
      this.socketEnded = true;
      this.graceful = true;
      this.log.debug('mux ending link connection after GOAWAY');
      sock.end();
    }

    for (const s of finished) this._maybeClose(s);
    for (const s of drained) if (!s._closed) s.emit('drain');
  }

  private maybeEndGracefully(): void {
    if (this._closed || this.endPending || this.streams.size > 0) return;
    if (!this.sentGoAway && !this.recvGoAway) return;
    this.endPending = true;
    if (this.blocked) return; // the flush after 'drain' ends it
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // receiving

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(
      () => {
        this.idleTimer = undefined;
        if (this._closed) return;
        const quiet = performance.now() - this.lastRx;
        if (quiet >= this.idleTimeoutMs) {
          this.log.warn('mux idle timeout, closing link', { idleMs: Math.round(quiet) });
          this.destroy(
            new CaravanError(
              ErrorCodes.LINK_TIMEOUT,
              `link idle: nothing received for ${Math.round(quiet)} ms`,
            ),
          );
        } else {
          this.armIdle(this.idleTimeoutMs - quiet);
        }
      },
      Math.max(1, Math.ceil(ms)),
    );
    this.idleTimer.unref();
  }

  private onData(chunk: Buffer): void {
    if (this._closed) return;
    this.lastRx = performance.now();
    this.counters.bytesIn += chunk.length;
    if (this.deferred !== undefined) {
      // a read that arrived while an earlier one waits for the next turn: keep the order
      this.deferred = Buffer.concat([this.deferred, chunk]);
      return;
    }
    let data = chunk;
    try {
      if (this.peer === undefined) {
        const r = this.prefaceDecoder.push(chunk);
        if (r === undefined) return;
        this.peer = r.settings;
        this.decoder.setMaxDataPayload(r.settings.maxFrameSize);
        this.onPeerPreface();
        if (this._closed) return;
        data = r.rest;
        if (data.length === 0) return;
      }
      this.decode(data);
    } catch (e) {
      this.onDecodeError(e);
    }
  }

  /** Decodes a read; if the turn's OPEN budget runs out, the rest waits for the next turn with the socket paused. */
  private decode(data: Buffer): void {
    const rest = this.decoder.push(data, this.onFrame);
    if (rest === undefined || this._closed) return;
    this.deferred = rest;
    this.socket.pause();
    setImmediate(() => this.resumeDecoding());
  }

  private resumeDecoding(): void {
    const data = this.deferred;
    this.deferred = undefined;
    if (this._closed || data === undefined) return;
    try {
      this.decode(data);
    } catch (e) {
      this.onDecodeError(e);
      return;
    }
    if (this.deferred === undefined && !this._closed) this.socket.resume();
  }

  private onDecodeError(e: unknown): void {
    if (isCaravanError(e, ErrorCodes.PROTOCOL)) {
      this.fault('protocol', e);
      return;
    }
    throw e;
  }

  /** Closes the session for a fault of the peer: one warning, the fault reported once. */
  private fault(kind: MuxFault, err: CaravanError): void {
    if (this._closed) return;
    this.log.warn(kind === 'protocol' ? 'mux protocol error, closing link' : 'mux peer fault, closing link', {
      fault: kind,
      err: err.message,
    });
    this.onFault?.(kind);
    this.destroy(err);
  }

  private onPeerPreface(): void {
    this.prefaceTimer?.cancel();
    this.prefaceTimer = undefined;
    const w = (this.peer as MuxSettings).initialWindow;
    for (const s of this.streams.values()) {
      s._credit += w;
      this._wake(s);
    }
    this.log.debug('mux peer preface', { ...this.peer });
    // With keepalive on, measure the RTT at once rather than one interval later (status shows it from the start).
    if (this.keepaliveTimer) this.ping().catch(() => undefined);
    this.emit('ready');
  }

  private readonly onFrame = (f: Frame): boolean => {
    if (this._closed) return true;
    this.counters.framesIn++;
    switch (f.type) {
      case FrameType.CONTROL:
        this.emit('control', f.payload);
        return false;
      case FrameType.PING:
        if (f.flags & FrameFlags.ACK) {
          const id = f.opaque.readUInt32BE(4);
          const p = f.opaque.readUInt32BE(0) === 0 ? this.pings.get(id) : undefined;
          if (p === undefined) return false;
          this.pings.delete(id);
          const ms = performance.now() - p.start;
          this._rttMs = ms;
          this.emit('rtt', ms);
          p.resolve(ms);
        } else {
          this._queuePrio(
            { type: FrameType.PING, flags: FrameFlags.ACK, streamId: 0, opaque: f.opaque },
            undefined,
          );
        }
        return false;
      case FrameType.GOAWAY:
        if (this.recvGoAway) return false;
        this.recvGoAway = true;
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
        return this.countOpen();
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
        if (!s._local || s._accepted) {
          this.streamError(s, MuxErrorCodes.PROTOCOL, 'unexpected ACCEPT');
          return false;
        }
        s._accepted = true;
        s.emit('accept', f.payload);
        return false;
      case FrameType.DATA: {
        const n = f.payload.length;
        if (s._local && !s._accepted) {
          this.streamError(s, MuxErrorCodes.PROTOCOL, 'DATA before ACCEPT');
          return false;
        }
        if (s._finRecv) {
          this.streamError(s, MuxErrorCodes.PROTOCOL, 'DATA after FIN');
          return false;
        }
        if (n > s._recvWindow) {
          this.streamError(
            s,
            MuxErrorCodes.FLOW_CONTROL,
            `flow-control error: DATA of ${n} bytes exceeds the remaining window of ${s._recvWindow}`,
          );
          return false;
        }
        if (n === 0) return false;
        s._recvWindow -= n;
        s._deliverData(f.payload);
        return false;
      }
      case FrameType.WINDOW:
        if (s._credit + f.increment > MAX_CREDIT) {
          this.streamError(s, MuxErrorCodes.FLOW_CONTROL, 'flow-control error: credit overflow');
          return false;
        }
        s._credit += f.increment;
        this._wake(s);
        return false;
      case FrameType.FIN:
        if (s._finRecv || (s._local && !s._accepted)) {
          this.streamError(s, MuxErrorCodes.PROTOCOL, s._finRecv ? 'second FIN' : 'FIN before ACCEPT');
          return false;
        }
        s._finRecv = true;
        if (s._deliverEnd()) this._maybeClose(s);
        return false;
      case FrameType.RESET:
        this._terminate(
          s,
          new CaravanError(
            ErrorCodes.FLOW_RESET,
            `stream ${s.id} reset by peer (code ${f.code}): ${f.reason}`,
          ),
          { code: f.code, reason: f.reason },
          false,
        );
        return false;
    }
    return false;
  };

  /** One more OPEN handled this turn; true when the turn's budget is used up (stop reading until the next turn). */
  private countOpen(): boolean {
    if (!this.turnResetScheduled) {
      this.turnResetScheduled = true;
      setImmediate(() => {
        this.turnResetScheduled = false;
        this.opensThisTurn = 0;
      });
    }
    return ++this.opensThisTurn >= this.opensPerTurn;
  }

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
    if (this.sentGoAway) return this.refuse(id, 'going-away', 'going away');
    if (this.listenerCount('stream') === 0) return this.refuse(id, 'no-acceptor', 'no stream acceptor');
    if (this.peerStreams >= this.maxPeerStreams) {
      this.faultLog.warn(
        'refused-streams',
        'stream refused: the peer has too many open streams on this link',
        {
          limit: this.maxPeerStreams,
        },
      );
      return this.refuse(
        id,
        'link-streams',
        `too many open streams on this link (limit ${this.maxPeerStreams})`,
      );
    }
    if (!this.openBucket.take()) {
      this.faultLog.warn('refused-rate', 'stream refused: the peer opens streams too fast on this link');
      return this.refuse(id, 'link-rate', 'streams opened too fast on this link');
    }
    this.lastPeerStreamId = id;
    const s = new MuxStream(this, id, false, this._localWindow, (this.peer as MuxSettings).initialWindow);
    this.streams.set(id, s);
    this.peerStreams++;
    this.counters.streamsAccepted++;
    this.emit('stream', s, header);
  }

  private onEnd(): void {
    if (this._closed) return;
    if (this.sentGoAway || this.recvGoAway) {
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
    if (this._closed) return;
    this._closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.idleTimer = undefined;
    this.keepaliveTimer = undefined;
    this.prefaceTimer?.cancel();
    this.prefaceTimer = undefined;
    this.deferred = undefined;
    this.faultLog.close();
    if (err) this.log.debug('mux session closed', { err: errorMessage(err) });
    else this.log.debug('mux session closed');

    const reason = err ? err.message : 'link session closed';
    const streamErr = linkClosed(`link session closed: ${reason}`, err);
    for (const s of [...this.streams.values()]) {
      this._terminate(s, streamErr, { code: MuxErrorCodes.LINK_CLOSED, reason }, false);
    }
    this.streams.clear();
    this.ready.clear();
    this.prio = [];
    this.prioHead = 0;
    for (const p of this.pings.values()) p.reject(linkClosed(`ping aborted: ${reason}`));
    this.pings.clear();
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close', err);
  }
}
