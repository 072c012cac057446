import { chmod, unlink } from 'node:fs/promises';
import http from 'node:http';
import { CaravanError, ErrorCodes } from '../errors.js';
import { publicError } from '../observe/public-error.js';
import type { Logger } from '../observe/log.js';
import type { NetworkModel } from '../observe/model.js';
import { flowParams } from './console-server.js';
import type { FlowsResult, ReloadResult, RevokeResult, StatusSnapshot } from './types.js';

export interface AdminHandlers {
  status(): StatusSnapshot;
  reload(): Promise<ReloadResult>;
  /** cut and refuse the links issued to a site (or link/grant name) */
  revokeLink?(target: string): Promise<RevokeResult>;
  /** the network model, built network-wide */
  network?(): Promise<NetworkModel>;
  /** flow records network-wide, newest first */
  flows?(q: { service?: string; site?: string; limit?: number }): Promise<FlowsResult>;
  /** Prometheus text exposition of this router's metrics */
  metrics?(): string;
}

/**
 * The admin API: HTTP/1.1 with JSON bodies on a Unix socket that only the site's owner can open (mode 0600).
 * Routes: GET /v1/status, POST /v1/reload (re-read the site directory now), POST /v1/links/revoke {target}
 * (cut and refuse the links issued to a site; 404 CARAVAN_LINK_NOT_FOUND when it has none), GET /v1/network (the
 * network model), GET /v1/flows?service=&site=&limit= (flow records network-wide, newest first), GET /v1/metrics
 * (Prometheus text).
 */
export class AdminServer {
  private server: http.Server | undefined;
  private readonly log: Logger;

  constructor(
    private readonly socketPath: string,
    private readonly handlers: AdminHandlers,
    logger: Logger,
  ) {
    this.log = logger.child({ subsystem: 'admin' });
  }

  async start(): Promise<void> {
    await unlink(this.socketPath).catch(() => undefined); // a stale socket from a crashed run
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new CaravanError(ErrorCodes.CONFIG_IO, `admin socket ${this.socketPath}: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      server.listen(this.socketPath, () => resolve());
    });
    // later errors (EMFILE from accept when the process is out of file descriptors) must not end the router
    server.on('error', (err) => this.log.debug('admin socket error', { error: err.message }));
    await chmod(this.socketPath, 0o600);
    this.log.info('admin API listening', { socket: this.socketPath });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (code: number, body: unknown): void => {
      const data = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      res.end(data);
    };
    try {
      if (req.method === 'GET' && req.url === '/v1/status') return send(200, this.handlers.status());
      const url = new URL(req.url ?? '/', 'http://admin');
      const fail = (e: unknown): void => {
        const err = publicError(e, this.log, { url: req.url });
        send(err.code === ErrorCodes.INTERNAL ? 500 : 422, { error: err });
      };
      const h = this.handlers;
      if (req.method === 'GET' && url.pathname === '/v1/network' && h.network) {
        h.network().then((m) => send(200, m), fail);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/v1/flows' && h.flows) {
        h.flows(flowParams(url)).then((f) => send(200, f), fail);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/v1/metrics' && h.metrics) {
        const text = h.metrics();
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/reload') {
        this.handlers.reload().then(
          (r) => send(r.applied ? 200 : 422, r),
          (e: unknown) => send(500, { error: publicError(e, this.log, { url: req.url }) }),
        );
        return;
      }
      const revoke = this.handlers.revokeLink?.bind(this.handlers);
      if (req.method === 'POST' && req.url === '/v1/links/revoke' && revoke) {
        readJsonBody(req)
          .then((body) => {
            const target = (body as { target?: unknown } | null)?.target;
            if (typeof target !== 'string' || target === '') {
              throw new CaravanError(ErrorCodes.USAGE, 'expected {"target": "<site-or-link>"}');
            }
            return revoke(target);
          })
          .then(
            (r) => send(200, r),
            (e: unknown) => {
              const err = publicError(e, this.log, { url: req.url });
              const code = err.code;
              const status =
                code === ErrorCodes.LINK_NOT_FOUND
                  ? 404
                  : code === ErrorCodes.USAGE || code === ErrorCodes.BAD_REQUEST
                    ? 400
                    : 500;
              send(status, { error: err });
            },
          );
        return;
      }
      send(404, { error: { code: ErrorCodes.NOT_FOUND, message: `no route ${req.method} ${req.url}` } });
    } catch (e) {
      send(500, { error: publicError(e, this.log, { url: req.url }) });
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    await unlink(this.socketPath).catch(() => undefined);
  }
}

function readJsonBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new CaravanError(ErrorCodes.USAGE, `request body larger than ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
      } catch {
        reject(new CaravanError(ErrorCodes.USAGE, 'the request body is not JSON'));
      }
    });
  });
}
