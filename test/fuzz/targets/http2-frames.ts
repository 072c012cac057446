/** The http2 adapter's stream framing over a flow and its JSON header blocks (src/adapters/http2/frames.ts). */
import {
  FRAME_HEADER_BYTES,
  Flags,
  FrameDecoder,
  FrameError,
  FrameType,
  MAX_FRAME_PAYLOAD,
  decodeHeaders,
  encodeData,
  encodeHeaders,
  h2CodeOf,
  parseGrpcTimeout,
} from '../../../src/adapters/http2/frames.js';
import { chunked, expectTyped, invariant, outcome } from '../harness.js';

function decodeAll(pieces: Buffer[]): string[] {
  const decoder = new FrameDecoder();
  const out: string[] = [];
  for (const p of pieces)
    for (const f of decoder.push(p)) out.push(`${f.type} ${f.flags} ${f.payload.toString('hex')}`);
  out.push(`pending ${decoder.pending}`);
  return out;
}

export function fuzz(data: Buffer): void {
  const pieces = chunked(data);
  const whole = outcome(() => decodeAll([Buffer.concat(pieces)]));
  const split = outcome(() => decodeAll(pieces));
  invariant(whole.error === split.error, `error differs: whole ${whole.error}, split ${split.error}`);
  if (whole.error === undefined)
    invariant(whole.items.join() === split.items.join(), 'frames depend on the split');
  expectTyped([FrameError], () => {
    const decoder = new FrameDecoder();
    for (const piece of chunked(data)) {
      for (const f of decoder.push(piece)) {
        invariant(
          f.wireLength === FRAME_HEADER_BYTES + f.payload.length,
          'wire length does not match payload',
        );
        if (f.type === FrameType.DATA) continue;
        const h = decodeHeaders(f.payload);
        for (const [k, v] of Object.entries(h)) {
          invariant(typeof k === 'string', 'header name is not a string');
          if (k === 'grpc-timeout') parseGrpcTimeout(v);
        }
        const status = h[':status'];
        if (typeof status === 'string') h2CodeOf(status);
      }
      invariant(
        decoder.pending <= FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD + piece.length,
        'decoder holds too much',
      );
    }
  });
}

export function seeds(): Buffer[] {
  const request = Buffer.concat([
    encodeHeaders(FrameType.HEAD, 0, {
      ':method': 'POST',
      ':path': '/pkg.Svc/Call',
      ':scheme': 'http',
      ':authority': 'svc',
      'content-type': 'application/grpc',
      'grpc-timeout': '250m',
      cookie: ['a=1', 'b=2'],
    }),
    ...encodeData(Buffer.from('\x00\x00\x00\x00\x02hi', 'latin1')),
    encodeHeaders(FrameType.TRAILERS, 0, { 'grpc-status': '0' }),
  ]);
  const response = Buffer.concat([
    encodeHeaders(FrameType.INFO, 0, { ':status': 103, link: '</a.css>; rel=preload' }),
    encodeHeaders(FrameType.HEAD, Flags.END_STREAM, { ':status': 204 }),
  ]);
  return [Buffer.concat([Buffer.from([0x00]), request]), Buffer.concat([Buffer.from([0x11]), response])];
}
