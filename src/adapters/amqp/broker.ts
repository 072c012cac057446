/**
 * An amqp Connector: a broker queue (RabbitMQ, ActiveMQ Artemis, Qpid …) as a waypoint for one address.
 * - Producers anywhere send to the address; while this connector is reachable, their messages go to it (routing
 *   key `amqpq:<address>`) and into the broker, settled with the broker's outcome (stored = accepted).
 * - This connector consumes from the broker queue while receivers for the address are reachable somewhere
 *   (routing key `amqp:<address>`) and routes each message to one of them, settling it at the broker with the
 *   receiver's outcome. Messages stay in the broker while nobody receives.
 * The connection to the broker reconnects with backoff; the connector is withdrawn while it is down.
 */
import { readFile } from 'node:fs/promises';
import type {
  Connection,
  ConnectionOptions,
  Container,
  Delivery,
  EventContext,
  Receiver,
  Sender,
} from 'rhea';
import type { Timer } from '../../clock.js';
import { ErrorCodes, errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ConnectorAdapter, FlowHeader, FlowStream } from '../../router/contract.js';
import { addressKey, outcomeOf, queueKey, MAX_WAITING } from './addresses.js';
import { forwardMessage, receiveMessageFlow, RELEASED, settleDelivery } from './forward.js';
import { encodeMessageFlow, FLAG_PRESETTLED, type Outcome } from './message-flow.js';

export interface AmqpBrokerSpec {
  name: string;
  /** the network address (the Connector's routing key) */
  routingKey: string;
  host: string;
  port: number;
  /** the address at the broker (default: the routing key), e.g. `/queue/orders` for RabbitMQ */
  address?: string;
  /** SASL PLAIN credentials: the user, and the file holding its password (read at every connection) */
  username?: string;
  passwordFile?: string;
  /** amqps: TLS to the broker (`ca`: trust these roots instead of Node's; `insecure`: no verification) */
  tls?: { ca?: string; insecure?: boolean; servername?: string };
}

/** messages taken from the broker and not yet settled (its credit) */
export const CONSUMER_CREDIT = 100;

interface Pending {
  message: Buffer;
  respond: (o: Outcome) => void;
}

export class AmqpBrokerConnector implements ConnectorAdapter {
  readonly counters = { toBroker: 0, fromBroker: 0, refused: 0, released: 0, connects: 0 };
  private readonly log: Logger;
  private connection: Connection | undefined;
  private sender: Sender | undefined;
  private receiver: Receiver | undefined;
  private up = false;
  private stopped = false;
  private readonly waiting: Pending[] = [];
  private readonly unsettled = new Map<Delivery, (o: Outcome) => void>();
  private consuming = 0;
  private stopWatching: (() => void) | undefined;
  private container: Container | undefined;
  private retry: Timer | undefined;
  private failures = 0;
  private lastReason: string | undefined;

  constructor(
    private readonly host: AdapterHost,
    readonly spec: AmqpBrokerSpec,
    logger: Logger,
  ) {
    this.log = logger.child({ subsystem: 'amqp', connector: spec.name, key: spec.routingKey });
    void this.connect();
  }

  get name(): string {
    return this.spec.name;
  }

  /** producers' messages for the address come here while the broker is connected */
  get routingKey(): string {
    return queueKey(this.spec.routingKey);
  }

  get healthy(): boolean {
    return this.up && this.sender !== undefined;
  }

  get brokerAddress(): string {
    return this.spec.address ?? this.spec.routingKey;
  }

  get target(): string {
    const a = this.brokerAddress;
    return `amqp${this.spec.tls ? 's' : ''}://${this.spec.host}:${this.spec.port}${a.startsWith('/') ? '' : '/'}${a}`;
  }

  stats(): Record<string, number> {
    return { ...this.counters, waiting: this.waiting.length, inflight: this.unsettled.size };
  }

  private async connect(): Promise<void> {
    const { default: rhea } = await import('rhea');
    if (this.stopped) return;
    const container: Container = rhea.create_container({
      id: `caravan-${this.host.routerId}-${this.spec.name}`,
    });
    container.on('connection_open', (ctx: EventContext) => this.onOpen(ctx.connection));
    container.on('disconnected', (ctx: EventContext) => this.onDown(ctx.connection, ctx.error));
    container.on('connection_close', (ctx: EventContext) =>
      this.onDown(ctx.connection, ctx.error ?? ctx.connection.error),
    );
    container.on('sendable', () => this.drain());
    for (const ev of ['accepted', 'rejected', 'released', 'modified'] as const)
      container.on(ev, (ctx: EventContext) => this.onOutcome(ctx.delivery));
    container.on('message', (ctx: EventContext) => this.onBrokerMessage(ctx, rhea.message.encode));
    container.on('sender_open', () => this.refresh());
    container.on('sender_close', (ctx: EventContext) => this.linkLost('sender', ctx));
    container.on('receiver_close', (ctx: EventContext) => this.linkLost('receiver', ctx));
    container.on('error', (e: unknown) => this.log.debug('amqp error', { reason: String(e) }));
    this.container = container;
    this.stopWatching = this.host.onRoutesChanged(() => this.topUp());
    this.dial();
  }

  /** one connection attempt; each connection opens fresh links (no link state survives a reconnect) */
  private dial(): void {
    if (this.stopped || !this.container) return;
    const container = this.container;
    this.connectOptions().then(
      (options) => {
        if (this.stopped) return;
        this.connection = container.connect(options);
      },
      (e: unknown) => {
        // a missing password or CA file: say so, and try again later (the file may appear)
        this.log.warn('cannot connect to the broker', { broker: this.target, reason: errorMessage(e) });
        this.retry = this.host.clock.setTimeout(() => this.dial(), 10_000);
      },
    );
  }

  private async connectOptions(): Promise<ConnectionOptions> {
    const o: ConnectionOptions = {
      host: this.spec.host,
      port: this.spec.port,
      reconnect: false,
      idle_time_out: 30_000,
    };
    if (this.spec.username !== undefined && this.spec.passwordFile !== undefined) {
      o.username = this.spec.username;
      o.password = (await readFile(this.spec.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    }
    const t = this.spec.tls;
    if (t) {
      Object.assign(o, {
        transport: 'tls',
        rejectUnauthorized: t.insecure !== true,
        ...(t.ca !== undefined ? { ca: await readFile(t.ca) } : {}),
        ...(t.servername !== undefined ? { servername: t.servername } : {}),
      });
    }
    return o;
  }

  private onOpen(conn: Connection): void {
    if (conn !== this.connection) return;
    this.counters.connects++;
    this.failures = 0;
    this.lastReason = undefined;
    this.up = true;
    this.log.info('connected to the broker', { broker: this.target });
    this.sender = conn.open_sender({ target: { address: this.brokerAddress } });
    this.receiver = conn.open_receiver({
      source: { address: this.brokerAddress },
      credit_window: 0,
      autoaccept: false,
    });
    this.topUp();
  }

  private onDown(conn: Connection, error: unknown): void {
    if (conn !== this.connection) return;
    this.connection = undefined;
    const wasUp = this.up;
    this.up = false;
    this.sender = undefined;
    this.receiver = undefined;
    this.consuming = 0;
    for (const respond of this.unsettled.values()) respond(RELEASED);
    this.unsettled.clear();
    for (const p of this.waiting.splice(0)) p.respond(RELEASED);
    this.refresh();
    if (this.stopped) return;
    const delay = Math.min(10_000, 200 * 2 ** this.failures) * (0.75 + Math.random() * 0.5);
    this.failures++;
    const reason = describeError(error ?? conn.error ?? 'closed');
    if (wasUp) this.log.warn('broker connection lost; reconnecting', { broker: this.target, reason });
    else if (reason !== this.lastReason)
      // the first failure and every new reason at warn (a wrong password must be seen), repeats at debug
      this.log.warn('cannot connect to the broker; retrying', { broker: this.target, reason });
    else
      this.log.debug('broker not reachable; retrying', {
        broker: this.target,
        reason,
        inMs: Math.round(delay),
      });
    this.lastReason = reason;
    this.retry = this.host.clock.setTimeout(() => this.dial(), delay);
  }

  private linkLost(which: string, ctx: EventContext): void {
    const err = (ctx.sender ?? ctx.receiver)?.error;
    this.log.warn('the broker closed a link', {
      link: which,
      reason: String(err ?? 'closed'),
      address: this.brokerAddress,
    });
    if (which === 'sender') this.sender = undefined;
    else this.receiver = undefined;
    this.refresh();
  }

  private refresh(): void {
    this.host.refreshAddresses();
  }

  // ------------------------------------------------------------------ network -> broker

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (!this.healthy) {
      stream.reset(wireCode(ErrorCodes.NO_CONNECTOR), `broker ${this.target} is not connected`);
      return;
    }
    stream.accept(
      Buffer.from(JSON.stringify({ router: this.host.routerId, connector: this.name, target: this.target })),
    );
    receiveMessageFlow(stream, ({ message }, respond) => {
      if (this.waiting.length >= MAX_WAITING) {
        this.log.debug('message released: the broker gives no credit and the queue is full', {
          flow: header.fid,
        });
        return respond(RELEASED);
      }
      this.waiting.push({ message, respond });
      this.drain();
    });
  }

  private drain(): void {
    const s = this.sender;
    while (s && this.waiting.length > 0 && s.sendable()) {
      const p = this.waiting.shift() as Pending;
      const d = s.send(p.message, undefined, 0);
      this.counters.toBroker++;
      this.unsettled.set(d, p.respond);
    }
  }

  private onOutcome(d: Delivery | undefined): void {
    if (!d) return;
    const respond = this.unsettled.get(d);
    const o = outcomeOf(d);
    if (!respond || !o) return;
    this.unsettled.delete(d);
    if (o.o !== 'accepted') this.counters.refused++;
    respond(o);
  }

  // ------------------------------------------------------------------ broker -> network

  /** consume from the broker only while some receiver for the address is reachable */
  private topUp(): void {
    const r = this.receiver;
    if (!r || !this.up || !this.host.reachable(addressKey(this.spec.routingKey))) return;
    const credit = (r as unknown as { credit: number }).credit;
    const want = CONSUMER_CREDIT - credit - this.consuming;
    if (want > 0) r.add_credit(want);
  }

  private onBrokerMessage(ctx: EventContext, encode: (m: import('rhea').Message) => Buffer): void {
    const d = ctx.delivery;
    if (!d || !ctx.message) return;
    this.counters.fromBroker++;
    this.consuming++;
    const presettled = d.remote_settled === true;
    const payload = encodeMessageFlow(presettled ? FLAG_PRESETTLED : 0, Buffer.from(encode(ctx.message)));
    const settle = (o: Outcome): void => {
      this.consuming--;
      if (o.o === 'released') this.counters.released++;
      if (!presettled) settleDelivery(d, o);
      this.topUp();
    };
    forwardMessage(
      this.host,
      {
        key: addressKey(this.spec.routingKey),
        payload,
        source: this.spec.name,
        client: this.target,
        distribution: 'balanced',
      },
      this.log,
    ).then(settle, () => settle(RELEASED));
  }

  stop(): void {
    this.stopped = true;
    this.stopWatching?.();
    this.retry?.cancel();
    const c = this.connection;
    if (c) {
      this.onDown(c, undefined);
      c.close();
    }
  }
}

/** rhea's errors: Error objects, or AMQP error conditions `{condition, description}` */
function describeError(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'condition' in e) {
    const c = e as { condition?: unknown; description?: unknown; message?: unknown };
    const text = c.description ?? c.message;
    return `${String(c.condition)}${text ? `: ${String(text)}` : ''}`;
  }
  return errorMessage(e);
}
