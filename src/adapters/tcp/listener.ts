import net from 'node:net';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type {
  AdapterHost,
  EarlyData,
  ListenerAdapter,
  OpenedFlow,
  OpenFlowRequest,
} from '../../router/contract.js';
import { pipeSocketFlow, type EarlyRead } from './pipe.js';
import { AllowList } from '../common/allow.js';
import { ServerListener } from '../common/server-listener.js';
import type { ListenerBaseSpec } from '../common/spec-adapter.js';

export interface TcpListenerSpec extends ListenerBaseSpec {
  /** `client`: connections from one client address keep going to the same connector while it stays reachable */
  affinity?: 'client';
  /** send the client's first bytes right behind OPEN, before the far end accepted (docs/adr/0004-early-data.md) */
  earlyData?: boolean;
}

/** At most this much early data per connection; the socket is paused beyond it until the flow is established. */
export const EARLY_DATA_LIMIT = 64 * 1024;

export interface TcpListenerStats {
  accepted: number;
  active: number;
  refused: number;
  bytesIn: number;
  bytesOut: number;
}

/** A TCP listener: every accepted connection becomes a flow to the listener's routing key. */
export class TcpListener extends ServerListener<TcpListenerSpec> implements ListenerAdapter {
  readonly counters: TcpListenerStats = { accepted: 0, active: 0, refused: 0, bytesIn: 0, bytesOut: 0 };
  private readonly sockets = new Set<net.Socket>();
  constructor(host: AdapterHost, spec: TcpListenerSpec, logger: Logger) {
    super(host, spec, logger, 'tcp');
  }

  stats(): Record<string, number> {
    return { ...this.counters, ...this.deniedStats() };
  }

  start(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (s) =>
      this.onConnection(s),
    );
    if (this.spec.allow)
      this.log.info('only clients in the allow list may connect', {
        allow: this.spec.allow.join(', ') || '(none)',
      });
    AllowList.guardWith(server, () => this.allow);
    return this.listen(server, 'tcp');
  }

  /** A new spec on the same host and port (routing key(s), distribution, allow list, affinity, early data). */
  update(spec: TcpListenerSpec): void {
    this.reconfigure(spec);
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
    const early = this.spec.earlyData ? this.readEarly(socket) : undefined;
    const established = ({ stream, header, accept, earlySent }: OpenedFlow): void => {
      socket.removeListener('close', onEarlyClose);
      const read = early?.stop(earlySent === true);
      if (clientGone || socket.destroyed) {
        stream.reset(wireCode(ErrorCodes.FLOW_RESET), 'client closed before the flow was established');
        return;
      }
      if (this.log.enabled('debug'))
        this.log.debug('flow established', {
          flow: header.fid,
          client,
          dst: accept.router,
          connector: accept.connector,
          target: accept.target,
        });
      pipeSocketFlow(
        socket,
        stream,
        { id: header.fid, log: this.log },
        (o) => {
          this.counters.bytesIn += o.bytesFromSocket;
          this.counters.bytesOut += o.bytesToSocket;
          if (o.outcome === 'ok' && !this.log.enabled('debug')) return;
          const fields = { flow: header.fid, client, in: o.bytesFromSocket, out: o.bytesToSocket };
          if (o.outcome === 'ok') this.log.debug('flow closed', fields);
          else this.log.info('flow ended abnormally', { ...fields, outcome: o.outcome, reason: o.reason });
        },
        read,
      );
    };
    const request = (routingKey: string): OpenFlowRequest => ({
      routingKey,
      listener: this.spec.name,
      client,
      distribution: this.spec.distribution,
      proto: 'tcp',
      ...(this.spec.affinity === 'client' && socket.remoteAddress
        ? { affinityKey: socket.remoteAddress }
        : {}),
      ...(early ? { early: early.data } : {}),
    });
    this.openFor(request, established, () => clientGone || socket.destroyed).catch((err: unknown) => {
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

  /**
   * Early data: read the client while the flow is being set up, up to EARLY_DATA_LIMIT, handing each chunk to the
   * router. `stop` ends this when the flow is established and says what the pipe still has to do.
   */
  private readEarly(socket: net.Socket): { data: EarlyData; stop: (sent: boolean) => EarlyRead } {
    const data: EarlyData = { chunks: [], onChunk: undefined };
    let bytes = 0;
    let ended = false;
    const onData = (chunk: Buffer): void => {
      data.chunks.push(chunk);
      bytes += chunk.length;
      data.onChunk?.(chunk);
      if (bytes >= EARLY_DATA_LIMIT) socket.pause();
    };
    const onEnd = (): void => {
      ended = true;
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
    return {
      data,
      stop: (sent) => {
        socket.pause();
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
        return { unsent: sent ? [] : data.chunks, bytes, ended };
      },
    };
  }

  protected cutConnections(): void {
    // reset, not close: a client must not read a clean end-of-stream from a flow that was cut short
    for (const s of this.sockets) if (!s.destroyed) s.resetAndDestroy();
  }
}
