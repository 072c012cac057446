/**
 * An AMQP 1.0 listener: the router is an AMQP container that clients connect to (any AMQP 1.0 client: Qpid
 * Proton, rhea, the JMS and .NET clients). Clients attach links to addresses under the listener's routing key
 * (`bus` admits `bus`, `bus.orders`, `bus/eu/orders`):
 * - a client's sender: each message becomes one flow to a router with a receiver for its address, chosen by the
 *   listener's distribution (anycast), or one flow to every such router (addresses under a `multicast` prefix).
 *   An anycast message is settled with the receiver's own outcome (accepted, rejected, released, modified); a
 *   sender gets credit only while some receiver for its address is reachable.
 * - a client's receiver: the router advertises `amqp:<address>` and hands it the messages routed here.
 * Protocol engine: rhea (docs/dependencies.md). Design: docs/design/adapters.md, "amqp".
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Connection, Container, Delivery, EventContext, Receiver, Sender } from 'rhea';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { AdapterHost, ListenerAdapter } from '../../router/contract.js';
import { serverTlsOptions, type ServerTlsFiles } from '../common/server-tls.js';
import { ServerListener } from '../common/server-listener.js';
import type { ListenerBaseSpec } from '../common/spec-adapter.js';
import {
  addressKey,
  LocalReceiver,
  outcomeOf,
  queueKey,
  registryOf,
  type AddressRegistry,
} from './addresses.js';
import { forwardMessage, RELEASED, settleDelivery, type ForwardRequest } from './forward.js';
import {
  encodeMessageFlow,
  FLAG_MULTICAST,
  FLAG_PRESETTLED,
  MAX_MESSAGE_BYTES,
  type Outcome,
} from './message-flow.js';

export interface AmqpListenerSpec extends ListenerBaseSpec {
  /** addresses starting with one of these prefixes are multicast: every receiver gets a copy */
  multicast?: string[];
  /** serve amqps (AMQP over TLS) with these PEM files (and require client certificates from `clientCa`) */
  tls?: ServerTlsFiles;
  /** clients must log in with SASL PLAIN as one of these users (passwords in files, read at every login) */
  users?: { name: string; passwordFile: string }[];
}

/** credit a client's sender link gets while its address is reachable */
export const SENDER_CREDIT = 250;

export interface AmqpListenerStats {
  connections: number;
  active: number;
  senders: number;
  receivers: number;
  messagesIn: number;
  accepted: number;
  rejected: number;
  released: number;
  modified: number;
}

interface SenderState {
  /** null: the anonymous relay (each message names its address in `to`) */
  address: string | null;
  inflight: number;
  connection: Connection;
}

export class AmqpListener extends ServerListener<AmqpListenerSpec> implements ListenerAdapter {
  readonly counters: AmqpListenerStats = {
    connections: 0,
    active: 0,
    senders: 0,
    receivers: 0,
    messagesIn: 0,
    accepted: 0,
    rejected: 0,
    released: 0,
    modified: 0,
  };
  /** rhea, loaded when the first amqp listener starts (it costs a router without one several MB) */
  private amqp: Rhea | undefined;
  private readonly registry: AddressRegistry;
  private readonly sockets = new Set<net.Socket>();
  /** client senders (our receiver links) */
  private readonly senders = new Map<Receiver, SenderState>();
  /** client receivers (our sender links) */
  private readonly receivers = new Map<Sender, LocalReceiver>();
  private stopWatching: (() => void) | undefined;
  private temporaries = 0;

  constructor(host: AdapterHost, spec: AmqpListenerSpec, logger: Logger) {
    super(host, spec, logger, 'amqp');
    this.registry = registryOf(host, logger.child({ subsystem: 'amqp' }));
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      messagesOut: this.registry.stats.messagesOut,
      dropped: this.registry.stats.dropped,
      ...this.deniedStats(),
    };
  }

  async start(): Promise<void> {
    const amqp = await loadRhea();
    this.wire(amqp.container);
    // with users, PLAIN is the only mechanism offered, so rhea requires SASL; without, ANONYMOUS or none
    if (this.spec.users)
      amqp.container.sasl_server_mechanisms.enable_plain((u: string, p: string) => this.login(u, p));
    this.amqp = amqp;
    const server = this.spec.tls
      ? await this.tlsServer(this.spec.tls, amqp)
      : net.createServer({ noDelay: true }, (socket) => this.onSocket(socket, amqp));
    this.allow?.guard(server);
    this.stopWatching = this.host.onRoutesChanged(() => this.topUpAll());
    return this.listen(server, this.spec.tls ? 'amqps' : 'amqp', () => this.stopWatching?.());
  }

  private async tlsServer(files: ServerTlsFiles, amqp: Rhea): Promise<tls.Server> {
    const options = await serverTlsOptions(files, this.spec.name);
    const server = tls.createServer({ ...options, noDelay: true }, (socket) => this.onSocket(socket, amqp));
    server.on('tlsClientError', (err) =>
      this.log.debug('TLS handshake with a client failed', { error: err.message }),
    );
    return server;
  }

  override async stop(): Promise<void> {
    this.stopWatching?.();
    for (const r of this.receivers.values()) this.registry.remove(r);
    this.receivers.clear();
    this.senders.clear();
    await super.stop();
  }

  protected cutConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** SASL PLAIN: the user exists and the password matches its file (compared in constant time) */
  private async login(name: string, password: string): Promise<boolean> {
    const user = this.spec.users?.find((u) => u.name === name);
    let ok = false;
    if (user) {
      try {
        const expected = (await readFile(user.passwordFile, 'utf8')).replace(/\r?\n$/, '');
        const a = createHash('sha256').update(expected).digest();
        const b = createHash('sha256').update(password).digest();
        ok = timingSafeEqual(a, b);
      } catch (e) {
        this.log.warn('cannot read a user password file', { user: name, reason: errorMessage(e) });
      }
    }
    if (!ok) this.log.info('AMQP login refused', { user: name });
    return ok;
  }

  /** the address space of this listener: its routing key, and what lies under it after `.` or `/` */
  admits(address: string): boolean {
    const k = this.spec.routingKey;
    return address === k || address.startsWith(`${k}.`) || address.startsWith(`${k}/`);
  }

  private isMulticast(address: string): boolean {
    return (this.spec.multicast ?? []).some((p) => address.startsWith(p));
  }

  private onSocket(socket: net.Socket, amqp: Rhea): void {
    this.counters.connections++;
    this.counters.active++;
    this.sockets.add(socket);
    socket.once('close', () => {
      this.counters.active--;
      this.sockets.delete(socket);
    });
    // credit is given per link by this listener; messages are settled with the receiver's outcome
    new amqp.Connection(
      { id: `caravan-${this.host.routerId}`, credit_window: 0, autoaccept: false, tcp_no_delay: true },
      amqp.container,
    ).accept(socket);
  }

  private wire(c: Container): void {
    c.on('receiver_open', (ctx: EventContext) => this.onClientSender(ctx));
    c.on('sender_open', (ctx: EventContext) => this.onClientReceiver(ctx));
    c.on('message', (ctx: EventContext) => this.onMessage(ctx));
    c.on('sendable', (ctx: EventContext) => {
      const r = ctx.sender && this.receivers.get(ctx.sender);
      if (r) this.registry.sendable(r);
    });
    for (const ev of ['accepted', 'rejected', 'released', 'modified'] as const)
      c.on(ev, (ctx: EventContext) => this.onOutcome(ctx));
    c.on('receiver_close', (ctx: EventContext) => {
      if (ctx.receiver) this.dropSender(ctx.receiver);
    });
    c.on('sender_close', (ctx: EventContext) => {
      if (ctx.sender) this.dropReceiver(ctx.sender);
    });
    const gone = (ctx: EventContext): void => this.dropConnection(ctx.connection);
    c.on('connection_close', gone);
    c.on('disconnected', gone);
    c.on('error', (e: unknown) => this.log.debug('amqp error', { reason: errorMessage(e) }));
  }

  // ------------------------------------------------------------------ client senders (messages in)

  private onClientSender(ctx: EventContext): void {
    const link = ctx.receiver as Receiver;
    const target = link.target as { address?: string } | undefined;
    const address = target?.address ?? null;
    if (address !== null && !this.admits(address)) {
      this.refuse(link, address);
      return;
    }
    // the anonymous relay answers with a target without address, as the client asked
    link.set_target({ address: address ?? (undefined as unknown as string) });
    this.senders.set(link, { address, inflight: 0, connection: ctx.connection });
    this.counters.senders++;
    this.log.debug('sender attached', { address: address ?? '(anonymous relay)', link: link.name });
    this.topUp(link);
  }

  private refuse(link: Receiver | Sender, address: string): void {
    this.log.info('link refused: address outside the listener', {
      address,
      routingKey: this.spec.routingKey,
    });
    link.close({
      condition: 'amqp:unauthorized-access',
      description: `address '${address}' is outside this listener's routing key '${this.spec.routingKey}' (use '${this.spec.routingKey}' or '${this.spec.routingKey}.<name>')`,
    });
  }

  /** give a client sender credit up to SENDER_CREDIT while its address is reachable */
  private topUp(link: Receiver): void {
    const s = this.senders.get(link);
    if (!s || !link.is_open()) return;
    if (
      s.address !== null &&
      !this.host.reachable(addressKey(s.address)) &&
      !this.host.reachable(queueKey(s.address))
    )
      return;
    const want = SENDER_CREDIT - (link as unknown as { credit: number }).credit - s.inflight;
    if (want > 0) link.add_credit(want);
  }

  private topUpAll(): void {
    for (const link of this.senders.keys()) this.topUp(link);
  }

  private onMessage(ctx: EventContext): void {
    const link = ctx.receiver as Receiver;
    const s = this.senders.get(link);
    const delivery = ctx.delivery as Delivery;
    if (!s || !ctx.message) return;
    this.counters.messagesIn++;
    const msg = ctx.message;
    const address = s.address ?? (typeof msg.to === 'string' ? msg.to : undefined);
    const presettled = delivery.remote_settled === true;
    const settle = (o: Outcome): void => {
      s.inflight--;
      this.count(o);
      if (!presettled) settleDelivery(delivery, o);
      this.topUp(link);
    };
    s.inflight++;
    if (address === undefined || !this.admits(address)) {
      return settle({
        o: 'rejected',
        c: 'amqp:not-found',
        d:
          address === undefined
            ? "no address: an anonymous sender's message needs 'to'"
            : `address '${address}' is outside this listener's routing key '${this.spec.routingKey}'`,
      });
    }
    const encoded = Buffer.from((this.amqp as Rhea).encode(msg));
    if (encoded.length > MAX_MESSAGE_BYTES - 2)
      return settle({
        o: 'rejected',
        c: 'amqp:link:message-size-exceeded',
        d: `message of ${encoded.length} bytes; at most ${MAX_MESSAGE_BYTES - 2}`,
      });
    if (this.isMulticast(address)) {
      const key = addressKey(address);
      const dests = this.host.destinations(key);
      if (dests.length === 0) return settle(RELEASED);
      const payload = encodeMessageFlow(FLAG_MULTICAST | FLAG_PRESETTLED, encoded);
      for (const d of dests)
        void forwardMessage(this.host, this.forwardRequest(key, payload, s.connection, d), this.log).catch(
          () => undefined,
        );
      return settle({ o: 'accepted' });
    }
    // a broker queue that is the address's waypoint takes the message while it is reachable (broker.ts)
    const queue = queueKey(address);
    const key = this.host.reachable(queue) ? queue : addressKey(address);
    const payload = encodeMessageFlow(presettled ? FLAG_PRESETTLED : 0, encoded);
    forwardMessage(this.host, this.forwardRequest(key, payload, s.connection), this.log).then(
      settle,
      (e: unknown) => {
        this.log.debug('message released: no flow', { address, reason: errorMessage(e) });
        settle(RELEASED);
      },
    );
  }

  private forwardRequest(key: string, payload: Buffer, conn: Connection, only?: string): ForwardRequest {
    return {
      key,
      payload,
      source: this.spec.name,
      client: clientOf(conn),
      distribution: this.spec.distribution,
      ...(only !== undefined ? { only } : {}),
    };
  }

  private count(o: Outcome): void {
    this.counters[o.o]++;
  }

  // ------------------------------------------------------------------ client receivers (messages out)

  private onClientReceiver(ctx: EventContext): void {
    const link = ctx.sender as Sender;
    const source = link.source as { address?: string; dynamic?: boolean } | undefined;
    // A dynamic source (a reply queue) gets a new address of its own, under this listener's routing key so that
    // whoever answers through a listener with the same key may send to it.
    const address = source?.dynamic ? this.temporaryAddress() : source?.address;
    if (address === undefined || !this.admits(address)) {
      this.refuse(link, address ?? '(none)');
      return;
    }
    link.set_source(source?.dynamic ? { address, dynamic: true } : { address });
    const r = new LocalReceiver(link, address);
    this.receivers.set(link, r);
    this.registry.add(r);
    this.counters.receivers++;
    this.log.debug('receiver attached', { address, link: link.name });
  }

  /** `<routing key>/tmp/<router>/<n>.<random>`: unique in the network, not guessable */
  private temporaryAddress(): string {
    this.temporaries++;
    return `${this.spec.routingKey}/tmp/${this.host.routerId}/${this.temporaries}.${randomBytes(6).toString('hex')}`;
  }

  private onOutcome(ctx: EventContext): void {
    const r = ctx.sender && this.receivers.get(ctx.sender);
    const d = ctx.delivery;
    if (!r || !d) return;
    const respond = r.unsettled.get(d);
    const o = outcomeOf(d);
    if (!respond || !o) return;
    r.unsettled.delete(d);
    respond(o);
  }

  // ------------------------------------------------------------------ clean-up

  private dropSender(link: Receiver): void {
    this.senders.delete(link);
  }

  private dropReceiver(link: Sender): void {
    const r = this.receivers.get(link);
    if (!r) return;
    this.receivers.delete(link);
    this.registry.remove(r);
  }

  private dropConnection(conn: Connection): void {
    for (const [link, s] of this.senders) if (s.connection === conn) this.senders.delete(link);
    for (const [link] of this.receivers) if (link.connection === conn) this.dropReceiver(link);
  }
}

interface Rhea {
  /** one container per listener: its events are this listener's */
  container: Container;
  Connection: typeof import('rhea/lib/connection.js').default;
  encode: (m: import('rhea').Message) => Buffer;
}

async function loadRhea(): Promise<Rhea> {
  const [{ default: rhea }, { default: Connection }] = await Promise.all([
    import('rhea'),
    import('rhea/lib/connection.js'),
  ]);
  return { container: rhea.create_container(), Connection, encode: (m) => rhea.message.encode(m) };
}

function clientOf(conn: Connection): string {
  const sock = (conn as unknown as { socket?: net.Socket }).socket;
  return sock?.remoteAddress !== undefined ? `${sock.remoteAddress}:${sock.remotePort}` : 'amqp';
}
