/** The http1 adapter's head frame on a flow (src/adapters/http1/framing.ts) and its header filtering. */
import {
  FramingError,
  HeadReader,
  encodeHead,
  parseRequestHead,
  parseResponseHead,
} from '../../../src/adapters/http1/framing.js';
import { filterHeaders } from '../../../src/adapters/http1/headers.js';
import { chunked, expectTyped, invariant, outcome } from '../harness.js';

function readAll(pieces: Buffer[]): string[] {
  const out: string[] = [];
  const reader = new HeadReader(
    (json, bytes) => out.push(`head ${bytes} ${JSON.stringify(json)}`),
    (chunk) => out.push(chunk.toString('hex')),
  );
  for (const p of pieces) reader.feed(p);
  return [out[0] ?? '', out.slice(1).join('')];
}

export function fuzz(data: Buffer): void {
  const pieces = chunked(data);
  const whole = outcome(() => readAll([Buffer.concat(pieces)]));
  const split = outcome(() => readAll(pieces));
  invariant(whole.error === split.error, `error differs: whole ${whole.error}, split ${split.error}`);
  if (whole.error === undefined)
    invariant(whole.items.join() === split.items.join(), 'head or body depend on the split');
  const response = ((data[0] ?? 0) & 0x80) !== 0;
  expectTyped([FramingError], () => {
    const reader = new HeadReader(
      (json) => {
        const head = response ? parseResponseHead(json) : parseRequestHead(json);
        filterHeaders(head.headers, !response, ['x-forwarded-for']);
      },
      () => undefined,
    );
    for (const piece of chunked(data)) reader.feed(piece);
  });
}

export function seeds(): Buffer[] {
  const req = encodeHead({
    v: 1,
    method: 'GET',
    url: '/index.html?x=1',
    version: '1.1',
    headers: ['Host', 'example', 'Connection', 'keep-alive, x-drop', 'x-drop', '1', 'Upgrade', 'websocket'],
    body: 'none',
  });
  const res = encodeHead({
    v: 1,
    status: 200,
    message: 'OK',
    headers: ['Content-Length', '5'],
    body: 'length',
  });
  return [
    Buffer.concat([Buffer.from([0x00]), req, Buffer.from('body')]),
    Buffer.concat([Buffer.from([0x80]), res, Buffer.from('hello')]),
  ];
}
