/**
 * A hostile peer for trust tests: a real mutual-TLS link to a real router, the project's own multiplexer, and
 * hand-made control and routing messages. It holds a link certificate issued by the target's CA (as any site
 * that redeemed one token does) and its own identity key, and sends whatever the test tells it to: a `hi` under
 * another router's id, HELLOs that switch ids, advertisements in another router's name.
 */
import tls from 'node:tls';
import { generateIdentity, type RouterIdentity } from '../../src/identity.js';
import { MuxSession } from '../../src/links/mux/session.js';
import { nullLogger } from '../../src/observe/log.js';
import { encodeControl } from '../../src/router/messages.js';
import { adSigningBytes } from '../../src/routing/messages.js';
import type { RouterAdvertisement } from '../../src/routing/types.js';
import { issueCertificate, type CertAndKey } from '../../src/site/certs/index.js';

export interface RogueOptions {
  /** the target router's link port */
  port: number;
  host?: string;
  /** the target site's CA: the rogue's client certificate is issued by it (one redeemed token's worth) */
  ca: CertAndKey;
  /** the rogue's site name (default mallory) */
  site?: string;
  /** CN of the client certificate (default the rogue's own router id) */
  commonName?: string;
}

export class RogueRouter {
  readonly identity: RouterIdentity;
  private session: MuxSession | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private closedWith: string | undefined;
  /** routing messages the target sent us */
  readonly received: unknown[] = [];

  private constructor(
    private readonly opts: RogueOptions,
    identity: RouterIdentity,
  ) {
    this.identity = identity;
  }

  static create(opts: RogueOptions): RogueRouter {
    return new RogueRouter(opts, generateIdentity(opts.site ?? 'mallory').identity);
  }

  get closed(): string | undefined {
    return this.closedWith;
  }

  /** Connects (TLS + mux preface) and resolves when the session is ready; nothing is sent yet. */
  async connect(): Promise<void> {
    const cn = this.opts.commonName ?? this.identity.routerId;
    const cert = await issueCertificate(this.opts.ca, {
      commonName: cn,
      subject: { commonName: cn, organization: this.identity.site },
      usage: 'client',
    });
    const socket = tls.connect({
      host: this.opts.host ?? '127.0.0.1',
      port: this.opts.port,
      ca: this.opts.ca.certPem,
      cert: cert.certPem,
      key: cert.keyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const session = new MuxSession(socket, { initiator: true, logger: nullLogger });
    this.session = session;
    session.on('control', (payload: Buffer) => {
      try {
        const m = JSON.parse(payload.toString('utf8')) as { k?: string; m?: unknown };
        if (m.k === 'rt') this.received.push(m.m);
      } catch {
        // not for us to judge
      }
    });
    session.once('close', (err?: Error) => {
      this.closedWith = err?.message ?? 'closed';
      this.stopHellos();
    });
    await new Promise<void>((resolve, reject) => {
      session.once('ready', () => resolve());
      session.once('close', (err?: Error) => reject(err ?? new Error('closed before ready')));
    });
  }

  sendControl(m: unknown): void {
    this.session?.sendControl(Buffer.from(JSON.stringify(m), 'utf8'));
  }

  /** `hi` claiming `id` (default our own) of `site`. */
  hi(id = this.identity.routerId, site = this.identity.site): void {
    this.session?.sendControl(
      encodeControl({ k: 'hi', id, mode: 'interior', site, cost: 1, hello: 100, dead: 1000 }),
    );
  }

  /** HELLOs every 100 ms as `id`, listing `peer` as seen (so the adjacency becomes two-way). */
  startHellos(peer: string, id = this.identity.routerId): void {
    this.stopHellos();
    const send = (): void =>
      this.sendControl({ k: 'rt', m: { t: 'hello', id, mode: 'interior', seen: [peer], dead: 1000 } });
    send();
    this.helloTimer = setInterval(send, 100);
  }

  stopHellos(): void {
    if (this.helloTimer) clearInterval(this.helloTimer);
    this.helloTimer = undefined;
  }

  /** An advertisement in the name of `ad.id`, signed with our own key (`key` defaults to ours too). */
  forge(ad: Omit<RouterAdvertisement, 'key' | 'sig'>, key = this.identity.publicKey): RouterAdvertisement {
    const unsigned = { ...ad, key };
    return { ...unsigned, sig: this.identity.sign(adSigningBytes(unsigned)) };
  }

  advertise(ad: unknown): void {
    this.sendControl({ k: 'rt', m: ad });
  }

  close(): void {
    this.stopHellos();
    this.session?.destroy();
  }
}
