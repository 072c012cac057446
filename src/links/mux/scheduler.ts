/**
 * The send side of a mux session: the priority queue (control, PING, WINDOW, OPEN, ACCEPT, RESET, GOAWAY, FIN), the
 * round robin of streams with data and credit, and the flush that writes one batch per event-loop turn into the
 * socket while its queue stays below `maxSocketQueue` (docs/design/wire.md §7).
 */
import type { Duplex } from 'node:stream';
import { FrameType } from './frame.js';
import type { Frame } from './frame.js';
import { WriteBatch } from './batch.js';
import { FinStep, type MuxStream, type WriteCb, type WriteEntry } from './stream.js';
import { StreamEvent } from './stream-state.js';

interface PrioEntry {
  f: Frame;
  s: MuxStream | undefined;
  /** a reply to the peer: counts against the session's bound until written */
  reply: boolean;
}

/** What the scheduler needs from its session. */
export interface SchedulerHost {
  /** write() returns false once this many bytes are queued on a stream */
  readonly _writeHighWater: number;
  /** our FIN on `s` was written: it may be done */
  _maybeClose(s: MuxStream): void;
  /** everything queued was handed to the socket */
  _flushed(): void;
}

/** Bytes and frames written, shared with the session's counters. */
export interface SendCounters {
  bytesOut: number;
  framesOut: number;
}

export class SendScheduler {
  /** replies to the peer queued and not yet written */
  repliesQueued = 0;
  /** the socket takes no more writes: we ended it, or found it ended or destroyed */
  socketEnded = false;
  private prio: PrioEntry[] = [];
  private prioHead = 0;
  private readonly ready = new Set<MuxStream>();
  private flushScheduled = false;
  /** waiting for the socket's 'drain' */
  private blocked = false;
  private stopped = false;
  private readonly runFlush = (): void => this.flush();

  constructor(
    private readonly socket: Duplex,
    private readonly host: SchedulerHost,
    private readonly counters: SendCounters,
    private readonly maxFrameSize: number,
    private readonly maxSocketQueue: number,
  ) {}

  /** Queues a frame ahead of all DATA. */
  push(f: Frame, s: MuxStream | undefined, reply: boolean): void {
    if (reply) this.repliesQueued++;
    this.prio.push({ f, s, reply });
    this.schedule();
  }

  /** The stream may have data to send now: it joins the round robin if it has data, credit and permission. */
  wake(s: MuxStream): void {
    if (s._sendable) {
      if (!s._inReady) {
        s._inReady = true;
        this.ready.add(s);
      }
      this.schedule();
    }
  }

  /** The stream is gone: it leaves the round robin. */
  remove(s: MuxStream): void {
    if (s._inReady) {
      s._inReady = false;
      this.ready.delete(s);
    }
  }

  /** Flush in the next turn (also with nothing queued: the session may end the socket after the last frames). */
  schedule(): void {
    if (this.flushScheduled || this.blocked || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(this.runFlush);
  }

  /** The socket drained: go on writing. */
  resume(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.schedule();
  }

  /** Ends our direction of the byte stream; nothing more is written. */
  endSocket(): void {
    this.socketEnded = true;
    this.socket.end();
  }

  /** The session closed: everything queued is dropped, nothing more is written. */
  stop(): void {
    this.stopped = true;
    this.ready.clear();
    this.prio = [];
    this.prioHead = 0;
  }

  private hasWork(): boolean {
    return this.prioHead < this.prio.length || this.ready.size > 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped || this.socketEnded) return;
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
      if (s !== undefined && s.closed && (f.type === FrameType.FIN || f.type === FrameType.WINDOW)) continue;
      budget -= batch.addFrame(f);
      if (f.type === FrameType.FIN && s !== undefined) {
        s._transition(StreamEvent.FinSent, 'local');
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
    const highWater = this.host._writeHighWater;
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
      if (s._queued === 0 && s._fin === FinStep.Requested) {
        // FIN right behind the stream's last DATA
        s._fin = FinStep.Scheduled;
        s._transition(StreamEvent.FinSent, 'local');
        batch.addFrame({ type: FrameType.FIN, flags: 0, streamId: s.id });
        finished.push(s);
      }
      if (s._needDrain && s._queued < highWater) {
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
        if (this.blocked && !this.stopped) this.resume();
      };
      sock.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i === last) sock.write(parts[i] as Buffer, onWritten);
        else sock.write(parts[i] as Buffer);
      }
      sock.uncork();
    }

    if (this.hasWork()) {
      if (budget > 0) this.schedule();
      else this.blocked = true;
    } else {
      this.host._flushed();
    }

    for (const s of finished) this.host._maybeClose(s);
    for (const s of drained) if (!s.closed) s.emit('drain');
  }
}
