/** The flow header a router reads from an OPEN frame (src/router/messages.ts decodeFlowHeader). */
import { CaravanError } from '../../../src/errors.js';
import { decodeFlowHeader, encodeFlowHeader } from '../../../src/router/messages.js';
import { expectTyped, invariant, retyped } from '../harness.js';

export function fuzz(data: Buffer): void {
  expectTyped([CaravanError], () => {
    const h = decodeFlowHeader(retyped(data));
    invariant(typeof h.key === 'string' && Number.isInteger(h.hops), 'accepted header has no key or hops');
    invariant(
      h.aff === undefined || typeof h.aff === 'string',
      'accepted header has a non-string affinity key',
    );
    // What the router does with an accepted header: an affinity map key, a log line, the copy it forwards.
    void `${h.key}\0${h.aff ?? ''} ${h.fid} ${h.dst} ${h.client}`;
    const next = decodeFlowHeader(encodeFlowHeader({ ...h, hops: h.hops + 1 }));
    invariant(next.hops === h.hops + 1 && next.key === h.key, 'forwarded header differs');
  });
}

export function seeds(): Buffer[] {
  const flows = [
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
  return flows.map((f) => Buffer.concat([Buffer.from([0]), f]));
}
