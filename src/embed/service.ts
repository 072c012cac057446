/** A routing key served by the program itself: a connector whose "target" is a handler function. */
import { ErrorCodes } from '../errors.js';
import { wireCode } from '../router/codes.js';
import type { ConnectorHandler, FlowHeader, FlowStream } from '../router/contract.js';
import { FlowSocket } from './flow-socket.js';

export type ServiceHandler = (socket: FlowSocket) => void;

export interface ServeOptions {
  /** distinguishes several services of one key in this process (default: the routing key) */
  name?: string;
}

export class EmbeddedService implements ConnectorHandler {
  private open = true;
  private readonly sockets = new Set<FlowSocket>();
  /** flows handed to the handler since the service started */
  delivered = 0;

  constructor(
    readonly name: string,
    readonly routingKey: string,
    private readonly routerId: string,
    private readonly handler: ServiceHandler,
    private readonly withdraw: () => void,
  ) {}

  get healthy(): boolean {
    return this.open;
  }

  /** flows open right now */
  get active(): number {
    return this.sockets.size;
  }

  deliver(stream: FlowStream, header: FlowHeader): void {
    if (!this.open) {
      stream.reset(wireCode(ErrorCodes.TARGET_REFUSED), `service ${this.name} at ${this.routerId} is closed`);
      return;
    }
    stream.accept(
      Buffer.from(JSON.stringify({ router: this.routerId, connector: this.name, target: 'in-process' })),
    );
    const socket = new FlowSocket(stream, {
      id: header.fid,
      routingKey: header.key,
      client: header.client,
      router: header.src,
    });
    this.delivered++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    try {
      this.handler(socket);
    } catch (e) {
      socket.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Stop advertising the key and reset the flows still open. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.withdraw();
    for (const s of this.sockets) s.destroy();
  }
}
