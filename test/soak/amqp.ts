/**
 * The soak's AMQP traffic, with rhea (the AMQP 1.0 engine the amqp listener is built on) as the client through
 * the sites' amqp listeners. Senders send one message at a time, unsettled, and wait for its disposition: only an
 * `accepted` settles it, anything else (rejected, released, modified, a lost connection, no outcome within the
 * timeout) sends the same message id again — at-least-once. The receiver records each message id before it
 * accepts the delivery and checks each body against the SHA-256 in its application properties. The driver then
 * checks that every id a sender saw accepted reached the receiver (none lost), and that an id arrived more than
 * once only when its sender had to send it more than once (the only duplicates at-least-once permits).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Connection, Delivery, EventContext, Receiver, Sender } from 'rhea';
import { emit } from './protocol.js';

export const AMQP_ADDRESS = 'bus.soak';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

async function connect(port: number, id: string): Promise<Connection> {
  const { default: rhea } = await import('rhea');
  const container = rhea.create_container({ id });
  container.on('error', () => undefined);
  return container.connect({
    host: '127.0.0.1',
    port,
    reconnect: true,
    initial_reconnect_delay: 100,
    max_reconnect_delay: 1000,
    reconnect_limit: 1_000_000,
  });
}

/** Runs the receiver of `bus.soak` through the amqp listener at 127.0.0.1:port until SIGTERM. */
export async function runAmqpReceiver(port: number, site: string): Promise<void> {
  const conn = await connect(port, `soak-recv-${site}`);
  let got: string[] = [];
  let receiver: Receiver | undefined;
  const open = (): void => {
    receiver = conn.open_receiver({
      source: { address: AMQP_ADDRESS },
      autoaccept: false,
      credit_window: 20,
    });
  };
  conn.on('receiver_close', () => setTimeout(open, 300));
  conn.on('receiver_error', () => undefined);
  conn.on('connection_error', () => undefined);
  conn.on('message', (ctx: EventContext) => {
    const m = ctx.message;
    const id = String(m?.message_id ?? '');
    const body = typeof m?.body === 'string' ? m.body : '';
    const want = String((m?.application_properties as Record<string, unknown> | undefined)?.sum ?? '');
    if (!id || sha(`${id}\0${body}`) !== want) {
      emit({
        ev: 'anomaly',
        site,
        side: 'server',
        kind: 'corrupted',
        key: `amqp:${AMQP_ADDRESS}`,
        id,
        start: Date.now(),
        end: Date.now(),
        detail: `message ${id || '(no id)'} does not match its sum`,
      });
      ctx.delivery?.reject({ condition: 'amqp:decode-error', description: 'sum mismatch' });
      return;
    }
    got.push(id); // recorded before it is accepted: an accepted id is never missing here
    ctx.delivery?.accept();
  });
  let opened = false;
  conn.on('receiver_open', () => {
    if (opened) return;
    opened = true;
    emit({ ev: 'ready', role: 'amqp-receiver' });
  });
  open();
  const flush = (): void => {
    if (got.length === 0) return;
    emit({ ev: 'amqp-got', site, ids: got });
    got = [];
  };
  setInterval(flush, 500);
  process.on('SIGTERM', () => {
    flush();
    receiver?.close();
    conn.close();
    setImmediate(() => process.exit(0));
  });
}

export interface AmqpCounts {
  /** deliveries tried (first sends and resends, and waits for credit that timed out) */
  attempts: number;
  ok: number;
  failed: number;
}

type Settlement =
  'accepted' | 'rejected' | 'released' | 'modified' | 'disconnected' | 'timeout' | 'no-credit';

/** One AMQP sender at the local amqp listener, sending one message at a time with at-least-once settlement. */
export class AmqpSender {
  private sender: Sender | undefined;
  private seq = 0;
  private settled: string[] = [];
  private resent: string[] = [];
  private readonly waiters = new Map<Delivery, (s: Settlement) => void>();
  private creditWaiter: (() => void) | undefined;

  private constructor(
    private readonly conn: Connection,
    private readonly site: string,
  ) {
    const open = (): void => {
      this.sender = conn.open_sender({ target: { address: AMQP_ADDRESS } });
    };
    conn.on('sender_close', () => setTimeout(open, 300));
    conn.on('sender_error', () => undefined);
    conn.on('connection_error', () => undefined);
    conn.on('sendable', () => {
      this.creditWaiter?.();
    });
    for (const ev of ['accepted', 'rejected', 'released', 'modified'] as const)
      conn.on(ev, (ctx: EventContext) => {
        const d = ctx.delivery;
        if (!d) return;
        this.waiters.get(d)?.(ev);
      });
    conn.on('disconnected', () => {
      for (const w of [...this.waiters.values()]) w('disconnected');
    });
    open();
  }

  static async open(port: number, site: string): Promise<AmqpSender> {
    return new AmqpSender(await connect(port, `soak-send-${site}`), site);
  }

  /** Sends the next message until it is accepted (or `stopping()`); counts every attempt. */
  async sendOne(
    counts: AmqpCounts,
    timeoutMs: number,
    stopping: () => boolean,
    onFail: (code: string, start: number) => Promise<void>,
  ): Promise<void> {
    const id = `${this.site}:${++this.seq}`;
    const body = randomBytes(16 + Math.floor(Math.random() * 2000)).toString('hex');
    const sum = sha(`${id}\0${body}`);
    let sends = 0;
    while (!stopping()) {
      const start = Date.now();
      const s = await this.attempt(id, body, sum, timeoutMs, () => {
        if (++sends === 2) this.resent.push(id);
      });
      counts.attempts++; // one without credit was never sent, but counts: the sender could not send
      if (s === 'accepted') {
        counts.ok++;
        this.settled.push(id);
        return;
      }
      counts.failed++;
      await onFail(`amqp-${s}`, start);
    }
  }

  private async attempt(
    id: string,
    body: string,
    sum: string,
    timeoutMs: number,
    onSend: () => void,
  ): Promise<Settlement> {
    const until = Date.now() + timeoutMs;
    while (!this.sender?.sendable()) {
      const left = until - Date.now();
      if (left <= 0) return 'no-credit';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.creditWaiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.creditWaiter = undefined;
    }
    const d = this.sender.send({ message_id: id, body, application_properties: { sum } });
    onSend();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(d);
        resolve('timeout');
      }, timeoutMs);
      this.waiters.set(d, (s) => {
        clearTimeout(t);
        this.waiters.delete(d);
        resolve(s);
      });
    });
  }

  /** Prints the ids settled and resent since the last call. */
  flush(): void {
    if (this.settled.length === 0 && this.resent.length === 0) return;
    emit({ ev: 'amqp-settled', site: this.site, ids: this.settled, resent: this.resent });
    this.settled = [];
    this.resent = [];
  }

  close(): void {
    this.flush();
    this.conn.close();
  }
}
