/**
 * The soak's checked-stream protocol, shared by its client and server. A client opens a TCP connection and sends a
 * 28-byte header — magic `CVSK`, a 16-byte stream id, the length it will send (up) and the length it wants back
 * (down) — then the up bytes, then FIN. The server sends the down bytes as soon as it has the header; when the up
 * direction ends it appends one verdict byte and FIN. Both directions are keyed byte streams (prng.ts), so each
 * side checks every byte at its offset. A stream is complete only when the client has every down byte right, a
 * verdict of OK and a clean end: anything shorter that ends cleanly is a silent truncation.
 */
import type { Socket } from 'node:net';

export const MAGIC = Buffer.from('CVSK');
export const HEADER_BYTES = 28;

export const Verdict = {
  OK: 1,
  /** the server found a wrong byte in the up direction */
  UP_CORRUPTED: 2,
  /** the up direction ended cleanly (FIN) before all its bytes came */
  UP_SHORT: 3,
  /** more up bytes came than the header announced */
  UP_LONG: 4,
} as const;

export interface StreamHeader {
  id: string;
  up: number;
  down: number;
}

export function encodeHeader(h: StreamHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  Buffer.from(h.id, 'hex').copy(b, 4);
  b.writeUInt32BE(h.up, 20);
  b.writeUInt32BE(h.down, 24);
  return b;
}

export function decodeHeader(b: Buffer): StreamHeader | undefined {
  if (b.length < HEADER_BYTES || !b.subarray(0, 4).equals(MAGIC)) return undefined;
  return { id: b.subarray(4, 20).toString('hex'), up: b.readUInt32BE(20), down: b.readUInt32BE(24) };
}

/** One line the agents print on stdout (JSON). */
export type AgentEvent =
  | { ev: 'ready'; role: string }
  | { ev: 'stats'; site: string; t: number; keys: Record<string, KeyStats> }
  | {
      ev: 'anomaly';
      site: string;
      side: 'client' | 'server';
      kind: 'corrupted' | 'truncated' | 'stalled' | 'verdict' | 'misdelivered';
      key: string;
      id: string;
      start: number;
      end: number;
      detail: string;
    }
  | { ev: 'fail'; site: string; key: string; start: number; end: number; code: string }
  | { ev: 'probe'; id: number; ok: boolean; ms: number; error?: string }
  | { ev: 'stopped'; site: string }
  /** AMQP sender: message ids settled as accepted since the last line, and the ids it had to send again */
  | { ev: 'amqp-settled'; site: string; ids: string[]; resent: string[] }
  /** AMQP receiver: message ids it accepted since the last line (in order; a repeat is a duplicate) */
  | { ev: 'amqp-got'; site: string; ids: string[] };

/** Counts of one routing key's streams or requests at one client, since the last stats line. */
export interface KeyStats {
  ok: number;
  failed: number;
  corrupted: number;
  truncated: number;
  stalled: number;
  bytes: number;
  /** UDP: requests without an answer within the timeout (allowed: datagrams may be lost) */
  lost: number;
  /** UDP: answers that came after their timeout (counted, allowed) */
  late: number;
  /** UDP: an answer to a request this socket never sent, or sent by another socket (never allowed) */
  misdelivered: number;
}

export function emptyStats(): KeyStats {
  return {
    ok: 0,
    failed: 0,
    corrupted: 0,
    truncated: 0,
    stalled: 0,
    bytes: 0,
    lost: 0,
    late: 0,
    misdelivered: 0,
  };
}

export function emit(e: AgentEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

/**
 * Whether an 'end' a socket just read was a reset. Node's libuv (1.46 in Node 20) reports a reset that arrives while
 * unread bytes wait in the receive buffer as a clean end; a zero-length write fails on a connection that was
 * reset and succeeds on one the peer half-closed (the soak's sockets are half-open). Calls back with the error
 * code of a reset, or undefined for a real end.
 */
export function resetBehindEnd(sock: Socket, cb: (code: string | undefined) => void): void {
  if (sock.destroyed || !sock.writable) return cb(undefined);
  sock.write(Buffer.alloc(0), (err) =>
    cb(err ? ((err as NodeJS.ErrnoException).code ?? 'error') : undefined),
  );
}
