/**
 * The health endpoint of a router process, for kubelet probes and service managers: plain HTTP, no credentials,
 * two paths and nothing else.
 *
 * - `GET /healthz`: 200 `ok` while the process runs and its event loop turns. A timer notes every turn; when the
 *   last one is older than `stallMs` (default 10 s) the answer is 503 `event loop stalled` (a loop blocked for
 *   good answers nothing at all, and the probe's own timeout fails it).
 * - `GET /readyz`: 200 `ready` when `ready()` says so, else 503 `not ready: <reason>` with the short reason the
 *   callback gives (`starting`, `stopping`, `no Site`). The callback is the runtime's or controller's business.
 * - Any other path: 404; another method on the two paths: 405. Answers carry no version, id, address or count.
 *
 * The server sits behind an AcceptGuard like the other public ports (handshake deadline and limits, accept
 * errors never reach the process), answers each request with `Connection: close`, and reads no body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { CaravanError, ErrorCodes } from '../errors.js';
import { AcceptGuard } from '../net/accept-guard.js';
import { closeServer } from '../net/server.js';
import type { Logger } from '../observe/log.js';

export interface Readiness {
  ready: boolean;
  /** Why not (a few words, shown to the prober); ignored when ready. */
  reason?: string;
}

export interface HealthServerOptions {
  /** 0 = any free port. */
  port: number;
  /** Default: every address (`::`, or 0.0.0.0 without IPv6). */
  host?: string;
  ready: () => Readiness;
  logger: Logger;
  clock?: Clock;
  /** `/healthz` fails when the event loop has not turned for this long (default 10 s). */
  stallMs?: number;
  guard?: AcceptGuard;
}

const TICK_MS = 1000;
const MAX_REASON = 80;

/** A readiness a process sets as it goes: not ready with a reason until `ready()`, again not ready at stop. */
export class ReadinessFlag {
  private value: Readiness;
  constructor(reason: string) {
    this.value = { ready: false, reason };
  }
  setReady(): void {
    this.value = { ready: true };
  }
  setNotReady(reason: string): void {
    this.value = { ready: false, reason };
  }
  get(): Readiness {
    return this.value;
  }
}

/** A reason safe to send: one line of printable ASCII, at most 80 characters. */
export function cleanReason(reason: string | undefined): string {
  const r = (reason ?? '')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, MAX_REASON);
  return r || 'unknown';
}

export class HealthServer {
  private readonly server: http.Server;
  private readonly guard: AcceptGuard;
  private readonly ownGuard: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private lastTurn: number;
  private ticker: Timer | undefined;

  private constructor(private readonly opts: HealthServerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ subsystem: 'health' });
    this.lastTurn = this.clock.monotonic();
    this.ownGuard = opts.guard === undefined;
    this.guard =
      opts.guard ??
      new AcceptGuard({ server: 'health', logger: this.log, refusedMessage: 'health request refused' });
    this.server = http.createServer({ maxHeaderSize: 8192 }, (req, res) => this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
    this.server.keepAliveTimeout = 1000;
    this.server.maxHeadersCount = 50;
    this.guard.attach(this.server, 'http');
  }

  /** Binds the port; fails with PORT_IN_USE (or the bind error) when it cannot. */
  static async start(opts: HealthServerOptions): Promise<HealthServer> {
    const h = new HealthServer(opts);
    try {
      await h.listen();
    } catch (e) {
      if (h.ownGuard) h.guard.close();
      throw e;
    }
    return h;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new CaravanError(ErrorCodes.PORT_IN_USE, `health port ${this.opts.port} is in use`, {
                cause: err,
              })
            : err,
        ),
      );
      const done = (): void => resolve();
      if (this.opts.host !== undefined) this.server.listen(this.opts.port, this.opts.host, done);
      else this.server.listen(this.opts.port, done);
    });
    this.server.on('error', (err) => this.log.warn('health server error', { error: err.message }));
    this.lastTurn = this.clock.monotonic();
    this.ticker = this.clock
      .setInterval(() => {
        this.lastTurn = this.clock.monotonic();
      }, TICK_MS)
      .unref();
    this.log.info('health endpoint listening', { port: this.port });
  }

  /** What a request gets: status and one line of text (exported through `answer` for unit tests). */
  answer(method: string, path: string): { status: number; body: string } {
    if (path !== '/healthz' && path !== '/readyz') return { status: 404, body: 'not found' };
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: 'method not allowed' };
    if (path === '/healthz') {
      const stalled = this.clock.monotonic() - this.lastTurn > (this.opts.stallMs ?? 10_000);
      return stalled ? { status: 503, body: 'event loop stalled' } : { status: 200, body: 'ok' };
    }
    let r: Readiness;
    try {
      r = this.opts.ready();
    } catch {
      r = { ready: false, reason: 'readiness check failed' };
    }
    return r.ready
      ? { status: 200, body: 'ready' }
      : { status: 503, body: `not ready: ${cleanReason(r.reason)}` };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const method = req.method ?? '';
    const a = this.answer(method, path);
    const body = `${a.body}\n`;
    res.writeHead(a.status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      Connection: 'close',
      ...(a.status === 405 ? { Allow: 'GET, HEAD' } : {}),
    });
    res.end(method === 'HEAD' ? undefined : body);
    req.resume();
  }

  async close(): Promise<void> {
    this.ticker?.cancel();
    this.ticker = undefined;
    await closeServer(this.server, () => this.server.closeAllConnections());
    if (this.ownGuard) this.guard.close();
  }
}
