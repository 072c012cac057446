/**
 * A hand-driven mux peer for unit tests: a real TCP socket pair, the session under test on one end and, on the
 * other, raw frames written with the project's own codec and the frames received decoded (or left unread).
 */
import net from 'node:net';
import { once } from 'node:events';
import {
  FrameDecoder,
  PrefaceDecoder,
  encodeFrame,
  encodePreface,
  type Frame,
  type MuxSettings,
} from '../../src/links/mux/frame.js';

export class RawMuxPeer {
  readonly frames: Frame[] = [];
  peerSettings: MuxSettings | undefined;
  private readonly pre = new PrefaceDecoder();
  private readonly dec = new FrameDecoder();

  private constructor(
    /** the raw end, driven by the test */
    readonly socket: net.Socket,
    /** the end the session under test runs on */
    readonly sessionSocket: net.Socket,
    private readonly server: net.Server,
    read: boolean,
  ) {
    if (read) socket.on('data', (c: Buffer) => this.onData(c));
    else socket.pause();
    socket.on('error', () => undefined);
  }

  /** `read: false` leaves everything the session sends unread (a peer that does not read). */
  static async connect(opts: { read?: boolean } = {}): Promise<RawMuxPeer> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const [srv] = await accepted;
    return new RawMuxPeer(socket, srv, server, opts.read ?? true);
  }

  preface(settings: MuxSettings = { initialWindow: 65536, maxFrameSize: 16384 }): void {
    this.socket.write(encodePreface(settings));
  }

  /** Writes frames in one write; resolves once the socket took them (backpressure respected). */
  async send(frames: Frame[]): Promise<void> {
    const buf = Buffer.concat(frames.map((f) => encodeFrame(f)));
    if (!this.socket.write(buf)) await once(this.socket, 'drain');
  }

  of(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  async close(): Promise<void> {
    this.socket.destroy();
    this.sessionSocket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private onData(c: Buffer): void {
    let d = c;
    if (this.peerSettings === undefined) {
      const r = this.pre.push(c);
      if (!r) return;
      this.peerSettings = r.settings;
      d = r.rest;
    }
    this.dec.push(d, (f) => {
      this.frames.push(f);
    });
  }
}
