/**
 * A whole link mux session (src/links/mux/session.ts) fed a peer's bytes: preface, frames, stream opens, data,
 * window updates, resets, pings, GOAWAY. The session runs over an in-memory duplex and answers as a router would
 * (accepting, echoing, ending or resetting the streams the peer opens, as the input's first byte says). A peer's
 * bytes may close the session (with a typed error) but nothing may throw out of the socket's 'data' handler: in
 * a router that is an uncaught exception.
 */
import { Duplex } from 'node:stream';
import { FrameType, encodeFrame, encodePreface, type Frame } from '../../../src/links/mux/frame.js';
import { MuxSession } from '../../../src/links/mux/session.js';
import { chunked, expectTypedAsync, invariant } from '../harness.js';

class MemoryWire extends Duplex {
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written += chunk.length;
    cb();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function fuzz(data: Buffer): Promise<void> {
  const flags = data[0] ?? 0;
  const wire = new MemoryWire();
  const session = new MuxSession(wire, {
    initiator: (flags & 0x40) !== 0,
    initialWindow: 4096,
    maxStreamWindow: 8192,
    maxFrameSize: 1024,
  });
  let closed = 0;
  session.on('close', () => closed++);
  session.on('control', () => undefined);
  session.on('goaway', () => undefined);
  session.on('stream', (stream, header) => {
    stream.on('data', (chunk: Buffer) => {
      stream.consumed(chunk.length);
      if (flags & 0x02) stream.write(Buffer.from(chunk));
    });
    stream.on('end', () => {
      if (flags & 0x04) stream.end();
    });
    stream.on('reset', () => undefined);
    if (flags & 0x08) stream.reset(1, 'refused');
    else {
      stream.accept(header.subarray(0, 16));
      if (flags & 0x10) stream.write(Buffer.alloc(2000, 1));
    }
  });
  await expectTypedAsync([], async () => {
    for (const piece of chunked(data)) {
      wire.emit('data', piece);
      if (flags & 0x20) await tick();
    }
    await tick();
    session.destroy();
    await tick();
    invariant(closed === 1, `session emitted close ${closed} times`);
  });
  wire.destroy();
}

export function seeds(): Buffer[] {
  const preface = encodePreface({ initialWindow: 4096, maxFrameSize: 1024 });
  const frames: Frame[] = [
    { type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.from('{"v":1,"key":"db"}') },
    { type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.alloc(300, 0x61) },
    { type: FrameType.WINDOW, flags: 0, streamId: 1, increment: 4096 },
    { type: FrameType.PING, flags: 0, streamId: 0, opaque: Buffer.alloc(8, 1) },
    { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: Buffer.from('{"k":"cost","cost":2}') },
    { type: FrameType.FIN, flags: 0, streamId: 1 },
    { type: FrameType.OPEN, flags: 0, streamId: 3, payload: Buffer.from('{}') },
    { type: FrameType.RESET, flags: 0, streamId: 3, code: 2, reason: 'gone' },
    { type: FrameType.GOAWAY, flags: 0, streamId: 0, lastStreamId: 3, code: 0, reason: 'bye' },
  ];
  const all = Buffer.concat([preface, ...frames.map((f) => encodeFrame(f))]);
  return [0x06, 0x16, 0x2a, 0x08].map((f) => Buffer.concat([Buffer.from([f]), all]));
}
