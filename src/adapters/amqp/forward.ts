/** Sending one message across the network as a flow, and settling a delivery with the outcome that came back. */
import type { Delivery } from 'rhea';
import { ErrorCodes, errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, FlowStream, OpenedFlow } from '../../router/contract.js';
import {
  decodeMessageFlow,
  decodeOutcome,
  encodeOutcome,
  MAX_MESSAGE_BYTES,
  type Outcome,
} from './message-flow.js';

export const RELEASED: Outcome = { o: 'released' };

export interface ForwardRequest {
  /** `amqp:<address>` or `amqpq:<address>` */
  key: string;
  /** a message flow (encodeMessageFlow) */
  payload: Buffer;
  /** what the flow records show: the listener or connector, and the client */
  source: string;
  client: string;
  distribution: 'balanced' | 'closest';
  /** only this destination router (multicast) */
  only?: string;
}

/**
 * One message flow: the message rides behind OPEN (early data), the far end answers with the outcome. Resolves
 * with it (released when the flow breaks after it was established); rejects when no flow could be established.
 */
export function forwardMessage(host: AdapterHost, req: ForwardRequest, log: Logger): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let answered = false;
    const answer = (o: Outcome): void => {
      if (answered) return;
      answered = true;
      resolve(o);
    };
    const established = ({ stream, earlySent, header }: OpenedFlow): void => {
      if (!earlySent) stream.write(req.payload);
      stream.end();
      const parts: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        stream.consumed(chunk.length);
      });
      stream.on('end', () => {
        try {
          answer(decodeOutcome(Buffer.concat(parts)));
        } catch (e) {
          log.info('message released: malformed outcome', { flow: header.fid, reason: errorMessage(e) });
          answer(RELEASED);
        }
      });
      stream.once('reset', (code: number, reason: string) => {
        if (!answered) log.info('message released: flow reset', { flow: header.fid, code, reason });
        answer(RELEASED);
      });
    };
    host
      .openFlow(
        {
          routingKey: req.key,
          listener: req.source,
          client: req.client,
          distribution: req.distribution,
          proto: 'amqp',
          early: { chunks: [req.payload], onChunk: undefined },
          ...(req.only !== undefined ? { only: req.only } : {}),
        },
        established,
      )
      .catch(reject);
  });
}

/** Settle a delivery we received with an outcome from the network. */
export function settleDelivery(d: Delivery, o: Outcome): void {
  switch (o.o) {
    case 'accepted':
      return d.accept();
    case 'rejected':
      return d.reject({
        condition: o.c ?? 'amqp:internal-error',
        description: o.d ?? 'rejected by the receiver',
      });
    case 'released':
      return d.release();
    case 'modified':
      return d.modified({ delivery_failed: o.f === true, undeliverable_here: o.u === true });
  }
}

/**
 * The receiving end of a message flow (already accepted): collects the message (refusing one above
 * MAX_MESSAGE_BYTES), then hands it over with `respond`, which sends the outcome back at most once.
 */
export function receiveMessageFlow(
  stream: FlowStream,
  handle: (flow: { flags: number; message: Buffer }, respond: (o: Outcome) => void) => void,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  let done = false;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_MESSAGE_BYTES) {
      if (!done)
        stream.reset(wireCode(ErrorCodes.PROTOCOL), `message larger than ${MAX_MESSAGE_BYTES} bytes`);
      done = true;
      return;
    }
    parts.push(chunk);
    stream.consumed(chunk.length);
  });
  stream.once('reset', () => {
    done = true;
  });
  stream.on('end', () => {
    if (done) return;
    let flow: { flags: number; message: Buffer };
    try {
      flow = decodeMessageFlow(Buffer.concat(parts));
    } catch (e) {
      stream.reset(wireCode(ErrorCodes.PROTOCOL), errorMessage(e));
      return;
    }
    handle(flow, (o) => {
      if (done) return;
      done = true;
      stream.write(encodeOutcome(o));
      stream.end();
    });
  });
}
