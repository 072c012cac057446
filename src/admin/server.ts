import { chmod, unlink } from 'node:fs/promises';
import http from 'node:http';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { ReloadResult, StatusSnapshot } from './types.js';

export interface AdminHandlers {
  status(): StatusSnapshot;
  reload(): Promise<ReloadResult>;
}

/**
 * The admin API: HTTP/1.1 with JSON bodies on a Unix socket that only the site's owner can open (mode 0600).
 * Routes: GET /v1/status, POST /v1/reload (re-read the site directory now).
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
      if (req.method === 'POST' && req.url === '/v1/reload') {
        this.handlers.reload().then(
          (r) => send(r.applied ? 200 : 422, r),
          (e: unknown) => send(500, { error: { code: 'CARAVAN_INTERNAL', message: errorMessage(e) } }),
        );
        return;
      }
      send(404, { error: { code: 'CARAVAN_NOT_FOUND', message: `no route ${req.method} ${req.url}` } });
    } catch (e) {
      this.log.error('admin request failed', { url: req.url, error: errorMessage(e) });
      send(500, { error: { code: 'CARAVAN_INTERNAL', message: errorMessage(e) } });
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
