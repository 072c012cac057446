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
import { chunked, expectTyped, invariant, outcome } from '../harness.js';

/** What a decoder made of `pieces`: frames (DATA merged per stream, as a session sees bytes) or its error. */
function decodeAll(pieces: Buffer[]): string[] {
  const out: string[] = [];
  const decoder = new FrameDecoder({ maxPayload: 64 * 1024 });
  for (const p of pieces) {
    decoder.push(p, (f) => {
      const last = out[out.length - 1];
      if (f.type === FrameType.DATA) {
        const tag = `DATA ${f.streamId} ${f.flags}:`;
        if (last?.startsWith(tag)) out[out.length - 1] = last + f.payload.toString('hex');
        else out.push(tag + f.payload.toString('hex'));
        return;
      }
      out.push(JSON.stringify(f));
    });
  }
  if (decoder.buffered > 0) out.push(`partial ${decoder.buffered}`);
  return out;
}

export function fuzz(data: Buffer): void {
  // Differential: the frames must not depend on how the bytes were split into reads.
  const pieces0 = chunked(data);
  const whole = outcome(() => decodeAll([Buffer.concat(pieces0)]));
  const split = outcome(() => decodeAll(pieces0));
  invariant(whole.error === split.error, `error differs: whole ${whole.error}, split ${split.error}`);
  if (whole.error === undefined) {
    invariant(
      JSON.stringify(whole.items) === JSON.stringify(split.items),
      'frames differ between whole and split input',
    );
  }
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
