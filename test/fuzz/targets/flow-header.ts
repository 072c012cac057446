/** The flow header a router reads from an OPEN frame (src/router/messages.ts decodeFlowHeader). */
import { CaravanError } from '../../../src/errors.js';
import { decodeFlowHeader, encodeFlowHeader } from '../../../src/router/messages.js';
import { expectTyped, invariant } from '../harness.js';

export function fuzz(data: Buffer): void {
  expectTyped([CaravanError], () => {
    const h = decodeFlowHeader(data);
    invariant(typeof h.key === 'string' && Number.isInteger(h.hops), 'accepted header has no key or hops');
  });
}

export function seeds(): Buffer[] {
  return [
    encodeFlowHeader({
      v: 1,
      fid: 'west-1/17',
      key: 'db',
      dst: 'east-1',
      src: 'west-1',
      lis: 'db',
      client: '10.0.0.5:53122',
      proto: 'tcp',
      hops: 0,
    }),
    encodeFlowHeader({
      v: 1,
      fid: 'west-1/18',
      key: 'web',
      dst: 'east-1',
      src: 'west-1',
      lis: 'web',
      client: '[::1]:4000',
      proto: 'http2',
      hops: 2,
      aff: '::1',
    }),
  ];
}
