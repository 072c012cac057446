/** The UDP adapter's length-prefixed datagrams on a flow (src/adapters/udp/session.ts DatagramReader). */
import { DatagramReader, MAX_DATAGRAM, encodeDatagram } from '../../../src/adapters/udp/session.js';
import { chunked, expectTyped, invariant } from '../harness.js';

export function fuzz(data: Buffer): void {
  // DatagramReader has no error of its own: any throw is a finding.
  expectTyped([], () => {
    const reader = new DatagramReader();
    let fed = 0;
    let framed = 0;
    for (const piece of chunked(data)) {
      fed += piece.length;
      reader.feed(piece, (dg, frameBytes) => {
        invariant(dg.length <= MAX_DATAGRAM && frameBytes === dg.length + 2, 'datagram framing mismatch');
        framed += frameBytes;
      });
    }
    invariant(framed + reader.pendingBytes === fed, 'bytes lost or invented between chunks');
    // The same bytes in one read give the same datagrams.
    const one = new DatagramReader();
    const a: string[] = [];
    one.feed(Buffer.concat(chunked(data)), (dg) => a.push(dg.toString('hex')));
    const b: string[] = [];
    const again = new DatagramReader();
    for (const piece of chunked(data)) again.feed(piece, (dg) => b.push(dg.toString('hex')));
    invariant(a.join() === b.join(), 'datagrams depend on how the flow was split');
  });
}

export function seeds(): Buffer[] {
  const dgs = [Buffer.from('ping'), Buffer.alloc(0), Buffer.alloc(300, 1)];
  return [Buffer.concat([Buffer.from([0x03]), ...dgs.map(encodeDatagram)])];
}
