/**
 * Deterministic randomness for the soak: a small seeded generator for the fault schedule and the traffic mix, and
 * keyed byte streams (AES-128-CTR keystream) that both ends of a checked stream can produce independently, so a
 * receiver verifies every byte at its offset without the sender keeping a copy.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Prng } from '../support/routing/simulator.js';

/** The simulator's seeded generator (mulberry32: the same seed gives the same sequence on every machine), with
 * the draws the soak needs. */
export class Rng extends Prng {
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** Log-uniform integer in [lo, hi]: small values as often as large ones per order of magnitude. */
  logInt(lo: number, hi: number): number {
    return Math.round(Math.exp(Math.log(lo) + this.next() * (Math.log(hi) - Math.log(lo))));
  }
  /** A 32-bit integer (for sub-seeds). */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

/** The byte stream named by (`id`, `direction`): the same bytes, in the same order, wherever it is made. */
export class ByteStream {
  private readonly cipher;
  /** bytes produced so far */
  offset = 0;
  constructor(id: string, direction: 'up' | 'down') {
    const digest = createHash('sha256').update(`${direction}\0${id}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', digest.subarray(0, 16), digest.subarray(16, 32));
  }
  /** The next `n` bytes of the stream. */
  next(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const k = Math.min(left, ZEROS.length);
      parts.push(this.cipher.update(ZEROS.subarray(0, k)));
      left -= k;
    }
    this.offset += n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/**
 * Checks received bytes against the expected stream. `push` returns the offset of the first wrong byte, or -1
 * when every byte so far is right; bytes past `length` count as wrong (a receiver never gets more than was sent).
 */
export class StreamVerifier {
  private readonly expected: ByteStream;
  received = 0;
  constructor(
    id: string,
    direction: 'up' | 'down',
    readonly length: number,
  ) {
    this.expected = new ByteStream(id, direction);
  }
  push(chunk: Buffer): number {
    const inRange = Math.max(0, Math.min(chunk.length, this.length - this.received));
    if (inRange > 0) {
      const want = this.expected.next(inRange);
      if (!want.equals(chunk.subarray(0, inRange))) {
        for (let i = 0; i < inRange; i++) if (want[i] !== chunk[i]) return this.received + i;
      }
    }
    const at = this.received;
    this.received += chunk.length;
    return chunk.length > inRange ? at + inRange : -1;
  }
  get complete(): boolean {
    return this.received === this.length;
  }
}
