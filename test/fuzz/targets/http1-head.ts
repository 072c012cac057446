/** The http1 adapter's head frame on a flow (src/adapters/http1/framing.ts) and its header filtering. */
import { FramingError, HeadReader, encodeHead, parseRequestHead, parseResponseHead } from '../../../src/adapters/http1/framing.js';
import { filterHeaders } from '../../../src/adapters/http1/headers.js';
import { chunked, expectTyped } from '../harness.js';

export function fuzz(data: Buffer): void {
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
  const res = encodeHead({ v: 1, status: 200, message: 'OK', headers: ['Content-Length', '5'], body: 'length' });
  return [
    Buffer.concat([Buffer.from([0x00]), req, Buffer.from('body')]),
    Buffer.concat([Buffer.from([0x80]), res, Buffer.from('hello')]),
  ];
}
