import tls from 'node:tls';
import { AcceptGuard } from '../net/accept-guard.js';
import { bindServer, boundPort, closeServer, portError } from '../net/server.js';
import type { Logger } from '../observe/log.js';
import { MuxSession, type MuxSessionOptions } from './mux/session.js';
import { InboundLinkMachine } from './state.js';
import { describeTlsError, linkPeerIdentity, type TlsMaterial } from './tls.js';

export interface AcceptorOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  onSession: (
    session: MuxSession,
    info: { id: string; name: string; direction: 'in'; peerRouterId: string },
  ) => void;
  logger: Logger;
  mux?: Omit<MuxSessionOptions, 'initiator' | 'logger'>;
  /** optional extra check on a verified peer certificate (e.g. revocation); return a reason to refuse */
  refuse?: (cert: tls.PeerCertificate) => string | undefined;
  /**
   * The guard in front of the port (handshake deadline, caps, accept errors, refusal counts); the router passes
   * one that outlives restarts of the acceptor. Default: a guard with the default limits.
   */
  guard?: AcceptGuard;
}

/** Accepts links: mutual TLS 1.3, the peer's certificate must be issued by this site's CA. */
export class LinkAcceptor {
  private server: tls.Server | undefined;
  private counter = 0;
  private readonly log: Logger;
  private readonly sockets = new Set<tls.TLSSocket>();
  readonly guard: AcceptGuard;
  private readonly ownGuard: boolean;

  constructor(private readonly opts: AcceptorOptions) {
    this.log = opts.logger.child({ subsystem: 'link-access' });
    this.ownGuard = opts.guard === undefined;
    this.guard =
      opts.guard ??
      new AcceptGuard({
        server: 'link',
        logger: this.log,
        refusedMessage: 'link refused',
        describeError: describeTlsError,
      });
  }

  get port(): number | undefined {
    return boundPort(this.server);
  }

  /**
   * New TLS material (a renewed server certificate) for the handshakes from now on; sessions already up keep
   * theirs. The secure context is replaced whole, so it restates TLS 1.3 only.
   */
  setTls(material: TlsMaterial): void {
    this.opts.tls = material;
    this.server?.setSecureContext({ ...material, minVersion: 'TLSv1.3' });
  }

  async start(): Promise<void> {
    const server = tls.createServer({
      ca: this.opts.tls.ca,
      cert: this.opts.tls.cert,
      key: this.opts.tls.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      noDelay: true,
    });
    this.server = server;
    // refused handshakes are counted and logged (rate-limited) by the guard, which also destroys their sockets
    this.guard.attach(server, 'tls');
    server.on('secureConnection', (socket) => this.onSecure(socket));
    await bindServer(server, this.opts, (err) => {
      this.server = undefined;
      return portError(`link access ${this.opts.host}:${this.opts.port}`, err);
    });
    this.log.info('accepting links', { address: `${this.opts.host}:${this.port}` });
  }

  private onSecure(socket: tls.TLSSocket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const cert = socket.getPeerCertificate();
    const identity = linkPeerIdentity(cert, 'client');
    const refusal = 'refused' in identity ? identity.refused : this.opts.refuse?.(cert);
    if (refusal || !('routerId' in identity)) {
      this.guard.refuse('refused' in identity ? 'peer_identity' : 'certificate_refused', {
        peer,
        detail: refusal,
      });
      socket.destroy();
      return;
    }
    const id = `in-${++this.counter}`;
    const state = new InboundLinkMachine(id, this.log);
    this.sockets.add(socket);
    socket.setKeepAlive(true, 10_000);
    const session = new MuxSession(socket, {
      ...this.opts.mux,
      initiator: false,
      logger: this.log.child({ link: id }),
    });
    this.log.info('link accepted', { link: id, peer, subject: cert.subject?.CN });
    const peerRouterId = identity.routerId;
    // Whichever ends the link first (the socket, or the session on its own preface timeout or a fault) takes the
    // machine down; the other finds it down already.
    const down = (): void => {
      if (state.can('down')) state.transition('down');
    };
    socket.once('close', () => {
      this.sockets.delete(socket);
      down();
    });
    session.once('close', down);
    session.once('ready', () => {
      if (!state.can('up')) return; // closed while its preface was on the way
      state.transition('up');
      this.opts.onSession(session, { id, name: peer, direction: 'in', peerRouterId });
    });
  }

  /**
   * Cuts the accepted links whose peer certificate `match` names a reason for (e.g. a revoked certificate);
   * the others are not touched. Returns how many were cut.
   */
  disconnect(match: (cert: tls.PeerCertificate) => string | undefined): number {
    let n = 0;
    for (const socket of [...this.sockets]) {
      const reason = match(socket.getPeerCertificate());
      if (!reason) continue;
      n++;
      this.log.warn('link cut', {
        peer: socket.remoteAddress
          ? `${socket.remoteAddress}:${socket.remotePort}`
          : 'unknown (connection already closed)',
        reason,
      });
      socket.destroy();
    }
    return n;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server, () => {
      for (const s of this.sockets) s.destroy();
      this.guard.serverStopped(this.ownGuard);
    });
  }
}
