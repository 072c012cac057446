import type { FlowStream } from './contract.js';

/**
 * Join two flow streams at a transit router (cut-through, payload never parsed). Credit on each side is
 * returned only once the other side handed the bytes to its link, so a transit router holds at most one window
 * per direction per flow, however slow the far end is.
 */
export function spliceStreams(inbound: FlowStream, outbound: FlowStream): void {
  let done = false;
  const relayReset =
    (to: FlowStream) =>
    (code: number, reason: string): void => {
      if (done) return;
      done = true;
      to.reset(code, reason);
    };
  outbound.once('accept', (payload) => inbound.accept(payload));
  pump(inbound, outbound);
  pump(outbound, inbound);
  inbound.on('reset', relayReset(outbound));
  outbound.on('reset', relayReset(inbound));
}

function pump(from: FlowStream, to: FlowStream): void {
  from.on('data', (chunk) => {
    to.write(chunk, (err) => {
      if (!err) from.consumed(chunk.length);
    });
  });
  from.on('end', () => to.end());
}
