import net from 'node:net';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, ListenerAdapter, OpenedFlow } from '../../router/contract.js';
import { pipeSocketFlow } from './pipe.js';
import { listenServer } from '../common/listen.js';

export interface TcpListenerSpec {
  name: string;
  routingKey: string;
  host: string;
  port: number;
  distribution: 'balanced' | 'closest';
  /** `client`: connections from one client address keep going to the same connector while it stays reachable */
  affinity?: 'client';
}

export interface TcpListenerStats {
  accepted: number;
  active: number;
  refused: number;
  bytesIn: number;
  bytesOut: number;
}

/** A TCP listener: every accepted connection becomes a flow to the listener's routing key. */
export class TcpListener implements ListenerAdapter {
  readonly counters: TcpListenerStats = { accepted: 0, active: 0, refused: 0, bytesIn: 0, bytesOut: 0 };
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly log: Logger;

  constructor(
    private readonly host: AdapterHost,
    readonly spec: TcpListenerSpec,
    logger: Logger,
  ) {
    this.log = logger.child({ subsystem: 'tcp', listener: spec.name, key: spec.routingKey });
  }

  get name(): string {
    return this.spec.name;
  }
  get routingKey(): string {
    return this.spec.routingKey;
  }
  stats(): Record<string, number> {
    return { ...this.counters };
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  start(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (s) =>
      this.onConnection(s),
    );
    this.server = server;
    return listenServer(server, this.spec, this.log, { protocol: 'tcp' }).catch((e: unknown) => {
      this.server = undefined;
      throw e;
    });
  }

  private onConnection(socket: net.Socket): void {
    this.counters.accepted++;
    this.counters.active++;
    this.sockets.add(socket);
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    let clientGone = false;
    const onEarlyClose = (): void => {
      clientGone = true;
    };
    socket.on('error', () => undefined); // reported through the pipe or below
    socket.once('close', onEarlyClose);
    socket.once('close', () => {
      this.counters.active--;
      this.sockets.delete(socket);
    });
    const established = ({ stream, header, accept }: OpenedFlow): void => {
      socket.removeListener('close', onEarlyClose);
      if (clientGone || socket.destroyed) {
        stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed before the flow was established');
        return;
      }
      this.log.debug('flow established', {
        flow: header.fid,
        client,
        dst: accept.router,
        connector: accept.connector,
        target: accept.target,
      });
      pipeSocketFlow(socket, stream, (o) => {
        this.counters.bytesIn += o.bytesFromSocket;
        this.counters.bytesOut += o.bytesToSocket;
        const fields = { flow: header.fid, client, in: o.bytesFromSocket, out: o.bytesToSocket };
        if (o.outcome === 'ok') this.log.debug('flow closed', fields);
        else this.log.info('flow ended abnormally', { ...fields, outcome: o.outcome, reason: o.reason });
      });
      socket.resume();
    };
    this.host
      .openFlow(
        {
          routingKey: this.spec.routingKey,
          listener: this.spec.name,
          client,
          distribution: this.spec.distribution,
          proto: 'tcp',
          ...(this.spec.affinity === 'client' && socket.remoteAddress
            ? { affinityKey: socket.remoteAddress }
            : {}),
        },
        established,
      )
      .catch((err: unknown) => {
        this.counters.refused++;
        const code = isCaravanError(err) ? err.code : ErrorCodes.FLOW_RESET;
        this.log.warn('connection refused: no flow could be established', {
          client,
          code,
          reason: errorMessage(err),
        });
        if (!socket.destroyed) socket.resetAndDestroy();
      });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}
