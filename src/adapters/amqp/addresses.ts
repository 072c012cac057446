/**
 * The egress side of AMQP message routing: the receivers attached to this router (its sender links to clients),
 * grouped by address. Each address with a receiver is a connector of routing key `amqp:<address>`, so the router
 * advertises it and message flows for it arrive here. One registry per router, shared by its amqp listeners, so a
 * multicast copy reaches every receiver of the router whichever listener it attached through.
 */
import type { Delivery, Sender } from 'rhea';
import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorHandler, FlowHeader, FlowStream } from '../../router/contract.js';
import { receiveMessageFlow } from './forward.js';
import { FLAG_MULTICAST, FLAG_PRESETTLED, type Outcome } from './message-flow.js';

/** Messages waiting for a receiver's credit, per address (anycast) or per receiver (multicast). */
export const MAX_WAITING = 1000;

/**
 * The outcome a client gave a delivery, once rhea has it (`remote_state`), else undefined. rhea records it while
 * reading the disposition, before it emits `accepted`/`rejected`/…; a connection closed in the same read is
 * reported first, so a receiver that leaves right after settling still has its outcomes read here.
 */
export function outcomeOf(d: Delivery): Outcome | undefined {
  const state = d.remote_state as
    | {
        constructor?: { composite_type?: string };
        error?: { condition?: string; description?: string };
        delivery_failed?: boolean;
        undeliverable_here?: boolean;
      }
    | undefined;
  switch (state?.constructor?.composite_type) {
    case 'accepted':
      return { o: 'accepted' };
    case 'rejected':
      return {
        o: 'rejected',
        c: state?.error?.condition ?? 'amqp:internal-error',
        d: state?.error?.description ?? '',
      };
    case 'released':
      return { o: 'released' };
    case 'modified':
      return { o: 'modified', f: state?.delivery_failed === true, u: state?.undeliverable_here === true };
    default:
      return undefined;
  }
}

/** routing key of an AMQP address: its receivers */
export function addressKey(address: string): string {
  return `amqp:${address}`;
}

/** routing key of a broker queue that is the waypoint of an address (an amqp Connector) */
export function queueKey(address: string): string {
  return `amqpq:${address}`;
}

export interface ReceiverStats {
  /** messages handed to receivers attached here */
  messagesOut: number;
  /** multicast copies dropped because a receiver's backlog was full */
  dropped: number;
}

/** A client's receiver link, as the router's sender link. */
export class LocalReceiver {
  /** multicast copies waiting for credit */
  readonly backlog: Buffer[] = [];
  /** deliveries sent and not settled yet, with where their outcome goes */
  readonly unsettled = new Map<Delivery, (o: Outcome) => void>();

  constructor(
    readonly link: Sender,
    readonly address: string,
  ) {}
}

interface Waiting {
  message: Buffer;
  respond: (o: Outcome) => void;
}

class AddressEntry implements ConnectorHandler {
  readonly name: string;
  readonly routingKey: string;
  readonly receivers: LocalReceiver[] = [];
  private readonly waiting: Waiting[] = [];
  private next = 0;

  constructor(
    readonly address: string,
    private readonly registry: AddressRegistry,
  ) {
    this.routingKey = addressKey(address);
    this.name = this.routingKey;
  }

  get healthy(): boolean {
    return this.receivers.length > 0;
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (this.receivers.length === 0) {
      stream.reset(wireCode(ErrorCodes.NO_CONNECTOR), `no receiver for '${this.address}' here`);
      return;
    }
    stream.accept(
      Buffer.from(JSON.stringify({ router: this.registry.routerId, connector: this.name, target: 'amqp' })),
    );
    receiveMessageFlow(stream, (flow, respond) => {
      if (flow.flags & FLAG_MULTICAST) {
        this.multicast(flow.message);
        respond({ o: 'accepted' });
      } else if (flow.flags & FLAG_PRESETTLED) {
        this.anycast(flow.message, () => undefined, header);
        respond({ o: 'accepted' });
      } else this.anycast(flow.message, respond, header);
    });
  }

  private multicast(message: Buffer): void {
    for (const r of this.receivers) {
      if (r.backlog.length === 0 && r.link.sendable()) this.send(r, message, () => undefined);
      else {
        r.backlog.push(message);
        if (r.backlog.length > MAX_WAITING) {
          r.backlog.shift();
          this.registry.stats.dropped++;
        }
      }
    }
  }

  private anycast(message: Buffer, respond: (o: Outcome) => void, header: FlowHeader): void {
    const r = this.waiting.length === 0 ? this.pick() : undefined;
    if (r) return this.send(r, message, respond);
    if (this.waiting.length >= MAX_WAITING) {
      this.registry.log.debug('message released: receivers have no credit and the queue is full', {
        flow: header.fid,
        address: this.address,
      });
      return respond({ o: 'released' });
    }
    this.waiting.push({ message, respond });
  }

  /** the next receiver with credit, round robin */
  private pick(): LocalReceiver | undefined {
    const n = this.receivers.length;
    for (let i = 0; i < n; i++) {
      const r = this.receivers[(this.next + i) % n] as LocalReceiver;
      if (r.link.sendable()) {
        this.next = (this.next + i + 1) % n;
        return r;
      }
    }
    return undefined;
  }

  private send(r: LocalReceiver, message: Buffer, respond: (o: Outcome) => void): void {
    const d = r.link.send(message, undefined, 0);
    this.registry.stats.messagesOut++;
    if (d.settled) respond({ o: 'accepted' });
    else r.unsettled.set(d, respond);
  }

  /** a receiver got credit: hand it what waits */
  sendable(r: LocalReceiver): void {
    while (r.backlog.length > 0 && r.link.sendable())
      this.send(r, r.backlog.shift() as Buffer, () => undefined);
    while (this.waiting.length > 0) {
      const next = this.pick();
      if (!next) break;
      const w = this.waiting.shift() as Waiting;
      this.send(next, w.message, w.respond);
    }
  }

  /** a receiver left: what it did not settle goes back to its senders as released */
  remove(r: LocalReceiver): void {
    const i = this.receivers.indexOf(r);
    if (i >= 0) this.receivers.splice(i, 1);
    for (const [d, respond] of r.unsettled) respond(outcomeOf(d) ?? { o: 'released' });
    r.unsettled.clear();
    if (this.receivers.length === 0) {
      for (const w of this.waiting.splice(0)) w.respond({ o: 'released' });
    }
  }
}

export class AddressRegistry {
  private readonly entries = new Map<string, AddressEntry>();
  readonly stats: ReceiverStats = { messagesOut: 0, dropped: 0 };

  constructor(
    private readonly host: AdapterHost,
    readonly log: Logger,
  ) {}

  get routerId(): string {
    return this.host.routerId;
  }

  add(r: LocalReceiver): void {
    let e = this.entries.get(r.address);
    if (!e) {
      e = new AddressEntry(r.address, this);
      this.entries.set(r.address, e);
    }
    e.receivers.push(r);
    if (e.receivers.length === 1) this.host.addConnector(e);
  }

  remove(r: LocalReceiver): void {
    const e = this.entries.get(r.address);
    if (!e) return;
    e.remove(r);
    if (e.receivers.length === 0) {
      this.entries.delete(r.address);
      this.host.removeConnector(e.name);
    }
  }

  sendable(r: LocalReceiver): void {
    this.entries.get(r.address)?.sendable(r);
  }
}

const registries = new WeakMap<AdapterHost, AddressRegistry>();

/** the registry of this router (made on first use) */
export function registryOf(host: AdapterHost, log: Logger): AddressRegistry {
  let r = registries.get(host);
  if (!r) {
    r = new AddressRegistry(host, log);
    registries.set(host, r);
  }
  return r;
}
