/**
 * The soak's UDP traffic: request/response datagrams through a udp listener and connector. A request is
 * `CVUQ` | 8-byte socket id | 4-byte sequence number | payload | first 8 bytes of the SHA-256 of all before; the
 * target checks the sum (a mismatch is an anomaly there) and answers with the same datagram under magic `CVUA`
 * and a new sum. The client sends one request at a time per socket and waits up to a timeout: no answer is a
 * loss (allowed for UDP), an answer after its timeout is late (allowed); a wrong sum is corrupted, and an answer
 * for another socket's id or a sequence number this socket never sent is misdelivered (neither is ever allowed).
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { emit } from './protocol.js';

const REQ = Buffer.from('CVUQ');
const ANS = Buffer.from('CVUA');
const HEAD = 16;
const SUM = 8;

const sum = (b: Buffer): Buffer => createHash('sha256').update(b).digest().subarray(0, SUM);

export function encodeDatagram(magic: Buffer, socketId: Buffer, seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(HEAD);
  magic.copy(head, 0);
  socketId.copy(head, 4);
  head.writeUInt32BE(seq, 12);
  const body = Buffer.concat([head, payload]);
  return Buffer.concat([body, sum(body)]);
}

export function decodeDatagram(
  b: Buffer,
): { magic: string; socketId: string; seq: number; payload: Buffer } | undefined {
  if (b.length < HEAD + SUM) return undefined;
  const body = b.subarray(0, b.length - SUM);
  if (!sum(body).equals(b.subarray(b.length - SUM))) return undefined;
  return {
    magic: body.subarray(0, 4).toString('latin1'),
    socketId: body.subarray(4, 12).toString('hex'),
    seq: body.readUInt32BE(12),
    payload: body.subarray(HEAD),
  };
}

/** Runs the UDP target on host:port until SIGTERM. */
export function runUdpServer(host: string, port: number, site: string, key: string): void {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, from) => {
    // the udp connector's probe of a target that was down (src/adapters/udp/connector.ts): one empty datagram
    if (msg.length === 0) return;
    const d = decodeDatagram(msg);
    if (!d || d.magic !== 'CVUQ') {
      emit({
        ev: 'anomaly',
        site,
        side: 'server',
        kind: 'corrupted',
        key,
        id: '',
        start: Date.now(),
        end: Date.now(),
        detail: `a ${msg.length}-byte request datagram with a wrong sum or magic`,
      });
      return;
    }
    sock.send(encodeDatagram(ANS, Buffer.from(d.socketId, 'hex'), d.seq, d.payload), from.port, from.address);
  });
  sock.bind(port, host, () => emit({ ev: 'ready', role: 'udp-server' }));
  process.on('SIGTERM', () => {
    sock.close();
    setImmediate(() => process.exit(0));
  });
}

export interface UdpCounts {
  ok: number;
  lost: number;
  late: number;
  corrupted: number;
  misdelivered: number;
  bytes: number;
}

/** One UDP socket sending checked requests to 127.0.0.1:port, one at a time. */
export class UdpExchanger {
  readonly id = randomBytes(8);
  private readonly sock = dgram.createSocket('udp4');
  private seq = 0;
  private readonly sent = new Set<number>();
  private waiting: { seq: number; payload: Buffer; done: (ok: boolean) => void } | undefined;

  constructor(
    private readonly port: number,
    private readonly counts: UdpCounts,
    private readonly onBad: (kind: 'corrupted' | 'misdelivered', detail: string) => void,
  ) {
    this.sock.on('message', (msg) => this.onMessage(msg));
    this.sock.on('error', () => undefined);
  }

  private onMessage(msg: Buffer): void {
    const d = decodeDatagram(msg);
    if (!d || d.magic !== 'CVUA') {
      this.counts.corrupted++;
      this.onBad('corrupted', `a ${msg.length}-byte answer with a wrong sum or magic`);
      return;
    }
    if (d.socketId !== this.id.toString('hex') || !this.sent.has(d.seq)) {
      this.counts.misdelivered++;
      this.onBad(
        'misdelivered',
        `answer ${d.socketId}#${d.seq} at socket ${this.id.toString('hex')} (sent up to #${this.seq})`,
      );
      return;
    }
    const w = this.waiting;
    if (w && w.seq === d.seq) {
      if (!d.payload.equals(w.payload)) {
        this.counts.corrupted++;
        this.onBad('corrupted', `answer #${d.seq} carries another payload`);
        w.done(false);
        return;
      }
      this.counts.ok++;
      this.counts.bytes += 2 * msg.length;
      w.done(true);
    } else {
      this.counts.late++;
    }
  }

  /** Sends one request of `size` payload bytes and waits for its answer up to `timeoutMs`. */
  exchange(size: number, timeoutMs: number): Promise<boolean> {
    const seq = ++this.seq;
    const payload = randomBytes(size);
    this.sent.add(seq);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.counts.lost++;
        resolve(false);
      }, timeoutMs);
      this.waiting = {
        seq,
        payload,
        done: (ok) => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(ok);
        },
      };
      this.sock.send(encodeDatagram(REQ, this.id, seq, payload), this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.sock.close();
  }
}
