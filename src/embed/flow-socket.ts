/**
 * A flow as a Node `Duplex`, for programs that join the network in-process: what `connect()` resolves with and
 * what `serve()` hands to its handler. It behaves like a TCP socket with `allowHalfOpen`: `end()` sends FIN and the
 * other direction keeps flowing; a reset by the far end destroys it with a CaravanError naming the code.
 *
 * Flow control (router/contract.ts): credit goes back to the sender only once the bytes were pushed into this
 * stream's read buffer below its high-water mark, or read out of it. So a reader that stops reading stops the
 * far end after one window plus one buffer, however fast it sends.
 */
import { Duplex } from 'node:stream';
import { CaravanError, ErrorCodes } from '../errors.js';
import { errorCodeOf, wireCode } from '../router/codes.js';
import type { FlowStream } from '../router/contract.js';

/** Where a flow goes or comes from. */
export interface FlowInfo {
  /** network-wide flow id (`<ingress router>/<n>`) */
  id: string;
  routingKey: string;
  /** the client's address as the ingress listener saw it (`in-process` for `connect()`) */
  client: string;
  /** `connect()`: the router whose connector took the flow, its name and target; `serve()`: the ingress router */
  router: string;
  connector?: string;
  target?: string;
}

export class FlowSocket extends Duplex {
  /** bytes received and not yet credited back to the sender */
  private uncredited = 0;
  private finished = false;
  private remoteEnded = false;

  constructor(
    private readonly flow: FlowStream,
    readonly info: FlowInfo,
  ) {
    super({ allowHalfOpen: true });
    flow.on('data', (chunk: Buffer) => {
      if (this.push(chunk)) flow.consumed(chunk.length);
      else this.uncredited += chunk.length;
    });
    flow.on('end', () => {
      this.remoteEnded = true;
      this.push(null);
    });
    flow.on('reset', (code: number, reason: string) => {
      this.finished = true;
      this.destroy(new CaravanError(errorCodeOf(code), `flow ${info.id} reset by the far end: ${reason}`));
    });
    flow.on('close', () => {
      this.finished = true;
    });
  }

  /** bytes received from the far end / sent to it (counted by the flow) */
  get bytesRead(): number {
    return this.flow.bytesIn;
  }

  get bytesWritten(): number {
    return this.flow.bytesOut;
  }

  override _read(): void {
    if (this.uncredited > 0) {
      const n = this.uncredited;
      this.uncredited = 0;
      this.flow.consumed(n);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.flow.write(chunk)) return callback();
    const onDrain = (): void => {
      this.flow.removeListener('drain', onDrain);
      callback();
    };
    this.flow.on('drain', onDrain);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flow.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroyed before both directions finished: tell the far end, so it does not wait for bytes that never come.
    if (!this.finished && !(this.remoteEnded && this.writableFinished)) {
      this.flow.reset(wireCode(ErrorCodes.FLOW_RESET), error ? error.message : 'closed by the local program');
    }
    callback(error);
  }
}
