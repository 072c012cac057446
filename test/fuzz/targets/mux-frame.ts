/** Link mux: the 16-byte preface and the frame decoder (src/links/mux/frame.ts), fed in socket-like chunks. */
import { CaravanError } from '../../../src/errors.js';
import {
  FRAME_HEADER_SIZE,
  FrameDecoder,
  FrameType,
  PrefaceDecoder,
  encodeFrame,
  encodePreface,
  type Frame,
} from '../../../src/links/mux/frame.js';
import { chunked, expectTyped, invariant } from '../harness.js';

export function fuzz(data: Buffer): void {
  const withPreface = ((data[0] ?? 0) & 0x80) !== 0;
  const pieces = chunked(data);
  expectTyped([CaravanError], () => {
    const preface = new PrefaceDecoder();
    const decoder = new FrameDecoder({ maxPayload: 64 * 1024 });
    let inPreface = withPreface;
    let frameBytes = 0;
    let fed = 0;
    const onFrame = (f: Frame): void => {
      frameBytes += f.type === FrameType.DATA ? f.payload.length : 0;
    };
    for (const piece of pieces) {
      let rest: Buffer = piece;
      if (inPreface) {
        const r = preface.push(piece);
        if (r === undefined) continue;
        inPreface = false;
        rest = r.rest;
      }
      fed += rest.length;
      decoder.push(rest, onFrame);
      invariant(decoder.buffered <= FRAME_HEADER_SIZE + 64 * 1024, `decoder holds ${decoder.buffered} bytes`);
    }
    invariant(frameBytes <= fed, 'decoded more DATA bytes than were fed');
  });
}

export function seeds(): Buffer[] {
  const frames: Frame[] = [
    { type: FrameType.OPEN, flags: 0, streamId: 1, payload: Buffer.from('{"v":1,"key":"db"}') },
    { type: FrameType.ACCEPT, flags: 0, streamId: 1, payload: Buffer.alloc(0) },
    { type: FrameType.DATA, flags: 0, streamId: 1, payload: Buffer.from('hello') },
    { type: FrameType.WINDOW, flags: 0, streamId: 1, increment: 65536 },
    { type: FrameType.FIN, flags: 0, streamId: 1 },
    { type: FrameType.RESET, flags: 0, streamId: 3, code: 1, reason: 'refused' },
    { type: FrameType.PING, flags: 0, streamId: 0, opaque: Buffer.alloc(8, 7) },
    { type: FrameType.GOAWAY, flags: 0, streamId: 0, lastStreamId: 5, code: 0, reason: 'bye' },
    { type: FrameType.CONTROL, flags: 0, streamId: 0, payload: Buffer.from('{"k":"cost","cost":3}') },
  ];
  const all = Buffer.concat(frames.map((f) => encodeFrame(f)));
  const preface = encodePreface({ initialWindow: 256 * 1024, maxFrameSize: 16 * 1024 });
  return [
    Buffer.concat([Buffer.from([0x00]), all]),
    Buffer.concat([Buffer.from([0x80]), preface, all]),
    ...frames.map((f) => Buffer.concat([Buffer.from([0x08]), encodeFrame(f)])),
  ];
}
