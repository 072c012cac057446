/**
 * A rogue linked peer for integration tests: it holds a valid link certificate (issued by the hub's CA, as a
 * redeemed token gives one), completes mutual TLS with a real router and then speaks the mux by hand, written with
 * the project's own frame codec, to do what a well-behaved router never does (floods, silence, oversized frames).
 */
import tls from 'node:tls';
import { once } from 'node:events';
import { issueCertificate } from '../../src/site/certs/index.js';
import { generateIdentity } from '../../src/identity.js';

/** The rogue's router identity: its certificate names this id, as a redeemed token's would. */
export const ROGUE = generateIdentity('rogue').identity;
import {
  FrameDecoder,
  FrameType,
  PrefaceDecoder,
  encodeFrame,
  encodePreface,
  type Frame,
  type MuxSettings,
} from '../../src/links/mux/frame.js';
import { encodeControl, encodeFlowHeader } from '../../src/router/messages.js';
import type { TestSite } from './sites.js';

export class RoguePeer {
  /** RESET frames received, by code */
  readonly resets = new Map<number, number>();
  readonly counts = new Map<number, number>();
  readonly closed: Promise<void>;
  private readonly pre = new PrefaceDecoder();
  private readonly dec = new FrameDecoder();
  private prefaceDone = false;

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /**
   * Links to `hub` at 127.0.0.1:`port` with a fresh client certificate from the hub's CA. `read: false` never reads
   * anything the router sends.
   */
  static async connect(hub: TestSite, port: number, opts: { read?: boolean } = {}): Promise<RoguePeer> {
    if (!hub.ca) throw new Error(`site ${hub.name} accepts no links`);
    const cert = await issueCertificate(hub.ca, {
      commonName: ROGUE.routerId,
      subject: { commonName: ROGUE.routerId, organization: 'rogue' },
      usage: 'client',
    });
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: hub.ca.certPem,
      cert: cert.certPem,
      key: cert.keyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    await once(socket, 'secureConnect');
    const peer = new RoguePeer(socket);
    if (opts.read ?? true) socket.on('data', (c: Buffer) => peer.onData(c));
    else socket.pause();
    return peer;
  }

  get open(): boolean {
    return !this.socket.destroyed;
  }

  preface(settings: MuxSettings = { initialWindow: 65536, maxFrameSize: 16384 }): void {
    this.socket.write(encodePreface(settings));
  }

  /** The router hello (`hi`), as a real router sends it first. */
  hello(id = ROGUE.routerId): Promise<void> {
    const payload = encodeControl({
      k: 'hi',
      id,
      mode: 'interior',
      site: 'rogue',
      cost: 1,
      hello: 1000,
      dead: 3000,
    });
    return this.send([{ type: FrameType.CONTROL, flags: 0, streamId: 0, payload }]);
  }

  /**
   * Routing HELLOs, one now and then every `everyMs` until destroyed, as a live router sends them, so the link stays
   * registered; `seen` names the router at the other end, `deadMs` the dead interval the link then uses (ADR 0005).
   */
  keepRouting(seen: string, opts: { everyMs?: number; deadMs?: number; id?: string } = {}): void {
    const { everyMs = 200, deadMs = 3000, id = ROGUE.routerId } = opts;
    const payload = encodeControl({
      k: 'rt',
      m: { t: 'hello', id, mode: 'interior', seen: [seen], dead: deadMs },
    });
    const frame = encodeFrame({ type: FrameType.CONTROL, flags: 0, streamId: 0, payload });
    this.socket.write(frame);
    const timer = setInterval(() => {
      if (this.open) this.socket.write(frame);
    }, everyMs);
    void this.closed.then(() => clearInterval(timer));
  }

  /** Writes frames in one write; resolves once the socket takes more (never rejects: the router may cut us off). */
  async send(frames: Frame[]): Promise<void> {
    if (!this.open) return;
    const buf = Buffer.concat(frames.map((f) => encodeFrame(f)));
    if (!this.socket.write(buf))
      await Promise.race([once(this.socket, 'drain').catch(() => undefined), this.closed]);
  }

  /** An OPEN for a flow to routing key `key` at router `dst`. */
  static open(streamId: number, dst: string, key: string): Frame {
    const payload = encodeFlowHeader({
      v: 1,
      fid: `rogue/${streamId}`,
      key,
      dst,
      src: ROGUE.routerId,
      lis: 'rogue',
      client: '127.0.0.1:1',
      proto: 'tcp',
      hops: 0,
    });
    return { type: FrameType.OPEN, flags: 0, streamId, payload };
  }

  static ping(n: number): Frame {
    const opaque = Buffer.alloc(8);
    opaque.writeUInt32BE(n >>> 0, 4);
    return { type: FrameType.PING, flags: 0, streamId: 0, opaque };
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(c: Buffer): void {
    let d = c;
    if (!this.prefaceDone) {
      const r = this.pre.push(c);
      if (!r) return;
      this.prefaceDone = true;
      d = r.rest;
    }
    this.dec.push(d, (f) => {
      this.counts.set(f.type, (this.counts.get(f.type) ?? 0) + 1);
      if (f.type === FrameType.RESET) this.resets.set(f.code, (this.resets.get(f.code) ?? 0) + 1);
    });
  }
}
