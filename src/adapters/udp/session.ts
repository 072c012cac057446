import type { Clock } from '../../clock.js';
import type { FlowStream } from '../../router/contract.js';

/**
 * UDP over a flow: datagram boundaries are kept by prefixing each datagram with its length (u16, big endian) on
 * the flow's byte stream (docs/design/adapters.md, "udp"). One flow carries one session (one client address:port).
 */
export const MAX_DATAGRAM = 65_535;

export function encodeDatagram(dg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + dg.length);
  out.writeUInt16BE(dg.length, 0);
  dg.copy(out, 2);
  return out;
}

/** Reassembles length-prefixed datagrams from flow chunks of any size. */
export class DatagramReader {
  private pending: Buffer | undefined;

  /** Calls `onDatagram(datagram, frameBytes)` for every complete datagram in order. */
  feed(chunk: Buffer, onDatagram: (dg: Buffer, frameBytes: number) => void): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    while (buf.length - off >= 2) {
      const len = buf.readUInt16BE(off);
      if (buf.length - off < 2 + len) break;
      onDatagram(buf.subarray(off + 2, off + 2 + len), 2 + len);
      off += 2 + len;
    }
    if (off < buf.length) {
      // copy the tail so a large chunk is not retained for a few bytes
      buf = buf.subarray(off);
      this.pending = Buffer.from(buf);
    }
  }

  get pendingBytes(): number {
    return this.pending?.length ?? 0;
  }
}

/** A byte budget shared by all sessions of one adapter (the global queue bound). */
export class QueueBudget {
  used = 0;
  constructor(readonly max: number) {}
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }
  release(n: number): void {
    this.used -= n;
  }
}

/** Counters shared by the sessions of a listener or connector (flattened into stats()). */
export interface UdpCounters {
  sessions: number;
  sessionsTotal: number;
  /** datagrams / bytes received on the UDP socket and put on flows */
  datagramsIn: number;
  bytesIn: number;
  /** datagrams / bytes taken off flows and sent on the UDP socket */
  datagramsOut: number;
  bytesOut: number;
  /** datagrams dropped because a per-session or the global queue bound was hit */
  droppedQueueFull: number;
  /** datagrams dropped because the session limit was reached */
  droppedSessionLimit: number;
  /** datagrams dropped because no flow could be established for their session */
  droppedNoFlow: number;
  /** sessions closed after the idle timeout */
  idleClosed: number;
  /** send errors on the UDP socket (e.g. ICMP port unreachable) */
  sendErrors: number;
}

export function newUdpCounters(): UdpCounters {
  return {
    sessions: 0,
    sessionsTotal: 0,
    datagramsIn: 0,
    bytesIn: 0,
    datagramsOut: 0,
    bytesOut: 0,
    droppedQueueFull: 0,
    droppedSessionLimit: 0,
    droppedNoFlow: 0,
    idleClosed: 0,
    sendErrors: 0,
  };
}

export interface SessionOptions {
  /** per-session bound on bytes written to the flow and not yet handed on by it */
  maxQueueBytes: number;
  global: QueueBudget;
  counters: UdpCounters;
  /** the router's clock: `lastActive` is its monotonic time */
  clock: Clock;
}

/**
 * Moves datagrams between one flow and a UDP peer. Towards the flow, datagrams are written at once, bounded per
 * session and globally (a datagram that does not fit is dropped and counted — the only place UDP loses data).
 * From the flow, each datagram is sent on the socket and its bytes are returned to the flow (`consumed`) only
 * once the socket sent it, so the flow's window is the bound in that direction.
 */
export class DatagramPump {
  lastActive: number;
  private queued = 0;
  private readonly reader = new DatagramReader();
  private ended = false;

  constructor(
    readonly stream: FlowStream,
    private readonly send: (dg: Buffer, cb: (err: Error | null) => void) => void,
    private readonly opts: SessionOptions,
  ) {
    this.lastActive = opts.clock.monotonic();
    stream.on('data', (chunk) => {
      this.lastActive = opts.clock.monotonic();
      this.reader.feed(chunk, (dg, frameBytes) => {
        this.send(dg, (err) => {
          if (err) this.opts.counters.sendErrors++;
          else {
            this.opts.counters.datagramsOut++;
            this.opts.counters.bytesOut += dg.length;
          }
          this.stream.consumed(frameBytes);
        });
      });
    });
  }

  /** A datagram from the UDP peer: onto the flow, or dropped (false) when a queue bound is hit. */
  toFlow(dg: Buffer): boolean {
    this.lastActive = this.opts.clock.monotonic();
    if (this.ended) return false;
    const n = dg.length + 2;
    if (this.queued + n > this.opts.maxQueueBytes || !this.opts.global.take(n)) {
      this.opts.counters.droppedQueueFull++;
      return false;
    }
    this.queued += n;
    this.opts.counters.datagramsIn++;
    this.opts.counters.bytesIn += dg.length;
    this.stream.write(encodeDatagram(dg), () => {
      this.queued -= n;
      this.opts.global.release(n);
    });
    return true;
  }

  /** Half-close our direction (idle timeout or the peer ended). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.end();
  }
}
