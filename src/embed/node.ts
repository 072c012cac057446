/**
 * A Node program as a site of the network, in-process: the same router as `caravan-router` (links, routing,
 * listeners and connectors from the site directory, admin socket, metrics), plus two calls that need no port at
 * all: `connect(routingKey)` opens a flow to a connector anywhere in the network and `serve(routingKey, handler)`
 * receives the flows of every listener for that key.
 */
import { join } from 'node:path';
import type { StatusSnapshot } from '../admin/types.js';
import { ROUTING_KEY_PATTERN } from '../api/index.js';
import { SiteRuntime } from '../daemon/runtime.js';
import { CaravanError, ErrorCodes } from '../errors.js';
import { createLogger, rotatingFileSink, type Logger, type LogLevel } from '../observe/log.js';
import type { FlowAccept, OpenedFlow } from '../router/contract.js';
import { FlowSocket } from './flow-socket.js';
import { EmbeddedService, type ServeOptions, type ServiceHandler } from './service.js';

export interface StartOptions {
  /** the site directory (made with `caravan site create`; links with `caravan token redeem`) */
  dir: string;
  /** where log lines go; default: `<dir>/logs/router.log` (rotated) at `logLevel`, nothing on stderr */
  logger?: Logger;
  /** default `info` */
  logLevel?: LogLevel;
  /** the admin socket (`caravan status` and the console use it); default `<dir>/runtime/admin.sock` */
  adminSocket?: string;
}

export interface ConnectOptions {
  /** `balanced` (default) or `closest`, as for a listener */
  distribution?: 'balanced' | 'closest';
  /** what the flow records show as the client (default `in-process`) */
  client?: string;
  /** name shown as the flow's listener (default `embed`) */
  name?: string;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || !ROUTING_KEY_PATTERN.test(key))
    throw new CaravanError(ErrorCodes.USAGE, `not a routing key: ${JSON.stringify(key)}`);
}

export class CaravanNode {
  private readonly services = new Map<string, EmbeddedService>();
  private stopped = false;

  private constructor(
    private readonly runtime: SiteRuntime,
    private readonly closeLog: () => void,
  ) {}

  /** Start the site's router in this process. Rejects with a CaravanError (bad site directory, port taken, …). */
  static async start(opts: StartOptions): Promise<CaravanNode> {
    let closeLog = (): void => undefined;
    let logger = opts.logger;
    if (!logger) {
      const file = rotatingFileSink(join(opts.dir, 'logs', 'router.log'));
      closeLog = () => file.close();
      logger = createLogger({ level: opts.logLevel ?? 'info', sinks: [file] });
    }
    try {
      const runtime = await SiteRuntime.start(opts.dir, {
        logger,
        ...(opts.adminSocket !== undefined ? { adminSocket: opts.adminSocket } : {}),
      });
      return new CaravanNode(runtime, closeLog);
    } catch (e) {
      closeLog();
      throw e;
    }
  }

  /** this router's id (derived from the site identity key: `<site>-<fingerprint>`) */
  get routerId(): string {
    return this.runtime.router.id;
  }

  /** some connector (or in-process service) for `routingKey` is reachable now */
  reachable(routingKey: string): boolean {
    return this.runtime.router.reachable(routingKey);
  }

  /** Resolves once `routingKey` is reachable; rejects with NO_CONNECTOR after `timeoutMs` (default 30 s). */
  waitFor(routingKey: string, timeoutMs = 30_000): Promise<void> {
    checkKey(routingKey);
    const router = this.runtime.router;
    if (router.reachable(routingKey)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!router.reachable(routingKey)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new CaravanError(
            ErrorCodes.NO_CONNECTOR,
            `routing key '${routingKey}' not reachable after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        router.removeListener('routes-changed', check);
      };
      router.on('routes-changed', check);
    });
  }

  /**
   * Open a connection to the service `routingKey`: resolves with a Duplex once a connector took the flow and
   * reached its target (so a refused target fails here, after the router tried every other destination). Rejects
   * with a CaravanError: NO_CONNECTOR when nobody serves the key, TARGET_REFUSED, PATH_LOST, …
   */
  async connect(routingKey: string, opts: ConnectOptions = {}): Promise<FlowSocket> {
    checkKey(routingKey);
    if (this.stopped) throw new CaravanError(ErrorCodes.LINK_CLOSED, 'the node is stopped');
    let socket: FlowSocket | undefined;
    await this.runtime.router.openFlow(
      {
        routingKey,
        listener: opts.name ?? 'embed',
        client: opts.client ?? 'in-process',
        distribution: opts.distribution ?? 'balanced',
        proto: 'tcp',
      },
      ({ stream, header, accept }: OpenedFlow) => {
        socket = new FlowSocket(stream, {
          id: header.fid,
          routingKey,
          client: header.client,
          ...describeAccept(accept),
        });
      },
    );
    if (!socket) throw new CaravanError(ErrorCodes.FLOW_RESET, `flow to '${routingKey}' was not established`);
    return socket;
  }

  /**
   * Serve `routingKey` from this process: every flow for it (from tcp listeners anywhere in the network, or
   * `connect()` of other embedded nodes) reaches `handler` as a Duplex. The key is advertised until
   * `service.close()`. An `http.Server` can take the sockets as they are: `(s) => server.emit('connection', s)`.
   */
  serve(routingKey: string, handler: ServiceHandler, opts: ServeOptions = {}): EmbeddedService {
    checkKey(routingKey);
    if (this.stopped) throw new CaravanError(ErrorCodes.LINK_CLOSED, 'the node is stopped');
    const name = `embed-${opts.name ?? routingKey}`;
    if (this.services.has(name))
      throw new CaravanError(
        ErrorCodes.INVALID_RESOURCE,
        `this node already serves '${opts.name ?? routingKey}'`,
      );
    const router = this.runtime.router;
    const service = new EmbeddedService(name, routingKey, router.id, handler, () => {
      this.services.delete(name);
      router.removeConnector(name);
    });
    this.services.set(name, service);
    router.addConnector(service);
    return service;
  }

  /** the same snapshot as `caravan status -o json` */
  status(): StatusSnapshot {
    return this.runtime.status();
  }

  /** Withdraw every service, close every flow and link, stop the router. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of [...this.services.values()]) s.close();
    await this.runtime.stop();
    this.closeLog();
  }
}

function describeAccept(a: FlowAccept): { router: string; connector?: string; target?: string } {
  return { router: a.router, connector: a.connector, target: a.target };
}
