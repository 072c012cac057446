import { EventEmitter } from 'node:events';
import type { FlowStream } from './contract.js';
import { CaravanError, ErrorCodes } from '../errors.js';

const WINDOW = 256 * 1024;

/**
 * An in-process pair of flow streams, used when the listener and the chosen connector are on the same router.
 * It keeps the same flow-control contract as a link stream: at most one window of unconsumed bytes per direction.
 */
class LocalEnd extends EventEmitter implements FlowStream {
  peer!: LocalEnd;
  bytesIn = 0;
  bytesOut = 0;
  /** bytes this end wrote that the peer has not consumed yet */
  private outstanding = 0;
  private wantDrain = false;
  private ended = false;
  private gotEnd = false;
  private done = false;

  constructor(readonly id: number) {
    super();
  }

  accept(payload: Uint8Array = new Uint8Array(0)): void {
    const p = this.peer;
    process.nextTick(() => !p.done && p.emit('accept', Buffer.from(payload)));
  }

  write(data: Buffer, cb?: (err?: Error | null) => void): boolean {
    if (this.done || this.ended) {
      const err = new Error('write after end or reset');
      if (cb) process.nextTick(cb, err);
      return false;
    }
    this.bytesOut += data.length;
    this.outstanding += data.length;
    const p = this.peer;
    process.nextTick(() => {
      if (p.done) return cb?.(new CaravanError(ErrorCodes.FLOW_RESET, 'flow reset'));
      p.bytesIn += data.length;
      p.emit('data', data);
      cb?.(null);
    });
    if (this.outstanding >= WINDOW) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  consumed(n: number): void {
    const p = this.peer;
    p.outstanding -= n;
    if (p.wantDrain && p.outstanding < WINDOW) {
      p.wantDrain = false;
      process.nextTick(() => !p.done && p.emit('drain'));
    }
  }

  end(): void {
    if (this.ended || this.done) return;
    this.ended = true;
    const p = this.peer;
    process.nextTick(() => {
      if (p.done) return;
      p.gotEnd = true;
      p.emit('end');
      p.maybeClose();
    });
    this.maybeClose();
  }

  reset(code: number, reason = ''): void {
    if (this.done) return;
    const p = this.peer;
    this.finish();
    process.nextTick(() => {
      if (p.done) return;
      p.emit('reset', code, reason);
      p.finish();
    });
  }

  private maybeClose(): void {
    if (this.ended && this.gotEnd && this.peer.ended && this.peer.gotEnd) {
      this.finish();
      this.peer.finish();
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    process.nextTick(() => this.emit('close'));
  }
}

let nextId = 1;

export function createLocalPair(): [FlowStream, FlowStream] {
  const id = nextId++;
  const a = new LocalEnd(id);
  const b = new LocalEnd(id);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
