import type net from 'node:net';
import { boundPort, closeServer } from '../../net/server.js';
import { listenServer } from './listen.js';
import { ListenerBase, type ListenerBaseSpec } from './spec-adapter.js';

/**
 * A listener on a stream server (net, http, http2 or tls: tcp, http1, http2, amqp): it binds the server, reports
 * its port and, on stop, closes it and cuts what it accepted. A subclass builds the server and says how its
 * connections are cut; everything else about the server's life is here.
 */
export abstract class ServerListener<
  S extends ListenerBaseSpec,
  T extends net.Server = net.Server,
> extends ListenerBase<S> {
  protected server: T | undefined;

  /** the bound port once started */
  get port(): number | undefined {
    return boundPort(this.server);
  }

  /**
   * Binds `server` as this listener's (listenServer: typed error, rate-limited later errors, the 'listening'
   * log with `protocol`). When it cannot bind, the listener has no server again and `undo` runs.
   */
  protected async listen(server: T, protocol: string, undo?: () => void): Promise<void> {
    this.server = server;
    try {
      await listenServer(server, this.spec, this.log, this.host.clock, { protocol });
    } catch (e) {
      this.server = undefined;
      undo?.();
      throw e;
    }
  }

  /** Ends the connections the server accepted (they would keep it from closing). */
  protected abstract cutConnections(): void;

  /** Stops accepting, cuts every connection and resolves once the server has closed. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server, () => this.cutConnections());
  }
}
