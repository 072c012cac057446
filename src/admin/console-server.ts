/**
 * The console HTTP server a router serves (read-only): the web console's static files, the console API
 * (`/api/network`, `/api/flows`, `/api/traffic`, `/api/events` as Server-Sent Events) and `/metrics` (Prometheus).
 * Bound to 127.0.0.1 by default. Bound anywhere else it requires HTTP Basic credentials: configured ones, or a
 * generated password (user `admin`) written to runtime/console-credentials (0600) and logged once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { publicError } from '../observe/public-error.js';
import { AcceptGuard } from '../net/accept-guard.js';
import { closeServer } from '../net/server.js';
import { writeFileAtomic } from '../site/atomic.js';
import type { Logger } from '../observe/log.js';
import { consoleHosts, hostOfHeader, originHost, SECURITY_HEADERS } from './console-hosts.js';
import type { FlowRecord, NetworkModel, TrafficSample } from '../observe/model.js';

export interface ConsoleData {
  network(): Promise<NetworkModel>;
  flows(q: { service?: string; site?: string; limit?: number }): Promise<{ flows: FlowRecord[] }>;
  traffic(since?: number): Promise<{ samples: TrafficSample[] }>;
  metrics(): string;
  /** subscribe to local flow records as they start and end; returns unsubscribe */
  watchFlows(fn: (r: FlowRecord) => void): () => void;
  /** subscribe to routing changes (topology, addresses); returns unsubscribe */
  watchNetwork(fn: () => void): () => void;
}

export interface ConsoleServerOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** where the built console lives (index.html, assets/) */
  staticDir: string;
  /** where a generated password is written (runtime/console-credentials) */
  credentialsFile: string;
  data: ConsoleData;
  logger: Logger;
  /** SSE tick (network + traffic), default 2000 */
  tickMs?: number;
  /**
   * Host names (or addresses) the console also answers to besides its bound address and the localhost names,
   * e.g. the name of a reverse proxy in front of it (Site spec.console.hosts).
   */
  hosts?: string[];
  /** the guard in front of the port (first-request deadline, caps, accept errors); default: default limits */
  guard?: AcceptGuard;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

interface SseClient {
  res: http.ServerResponse;
}

export class ConsoleServer {
  private server: http.Server | undefined;
  private readonly log: Logger;
  private auth: { user: string; pass: string } | undefined;
  private readonly clients = new Set<SseClient>();
  private tickTimer: NodeJS.Timeout | undefined;
  private unwatch: Array<() => void> = [];
  private lastSampleT = 0;
  private networkDirty = false;
  private changeTimer: NodeJS.Timeout | undefined;
  private pendingFlows = new Map<string, FlowRecord>();
  private flowTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  readonly guard: AcceptGuard;
  private readonly ownGuard: boolean;
  private allowedHosts = new Set<string>();

  constructor(private readonly opts: ConsoleServerOptions) {
    this.log = opts.logger.child({ subsystem: 'console' });
    this.ownGuard = opts.guard === undefined;
    this.guard =
      opts.guard ??
      new AcceptGuard({ server: 'console', logger: this.log, refusedMessage: 'console request refused' });
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  get url(): string | undefined {
    const p = this.port;
    if (p === undefined) return undefined;
    const h = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${h}:${p}/`;
  }

  get requiresAuth(): boolean {
    return this.auth !== undefined;
  }

  async start(): Promise<void> {
    const { username, password, host } = this.opts;
    if (password !== undefined && password !== '') {
      this.auth = { user: username ?? 'admin', pass: password };
    } else if (!isLoopback(host)) {
      const pass = randomBytes(18).toString('base64url');
      this.auth = { user: username ?? 'admin', pass };
      await writeFileAtomic(this.opts.credentialsFile, `${this.auth.user}:${pass}\n`, 0o600);
      this.log.warn('console bound to a non-loopback address: generated credentials (shown once)', {
        username: this.auth.user,
        password: pass,
        file: this.opts.credentialsFile,
      });
    }
    this.allowedHosts = consoleHosts(host, this.opts.hosts ?? [], networkInterfaces());
    const server = http.createServer((req, res) => this.handle(req, res));
    this.guard.attach(server, 'http');
    this.server = server;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new CaravanError(
            err.code === 'EADDRINUSE' ? ErrorCodes.PORT_IN_USE : ErrorCodes.CONFIG_IO,
            `console ${host}:${this.opts.port}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen({ host, port: this.opts.port }, () => resolveListen());
    });
    this.log.info('console listening', {
      url: this.url,
      auth: this.requiresAuth,
      hosts: [...this.allowedHosts].join(','),
    });
  }

  private authorized(req: http.IncomingMessage): boolean {
    const a = this.auth;
    if (!a) return true;
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Basic ')) return false;
    const got = Buffer.from(Buffer.from(h.slice(6), 'base64').toString('utf8'));
    const want = Buffer.from(`${a.user}:${a.pass}`);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /**
   * DNS rebinding: a page of another origin whose name resolves to this address must not read the console.
   * The Host header must name an address or name the console serves (421 otherwise), and an Origin header,
   * when a browser sends one, must be one of them too (403).
   */
  private misdirected(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const hostHeader = req.headers.host;
    const host = hostHeader === undefined ? undefined : hostOfHeader(hostHeader);
    if (hostHeader !== undefined && (host === undefined || !this.allowedHosts.has(host))) {
      this.guard.refuse('bad_host', { peer, host: hostHeader.slice(0, 100) });
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(
        `421 Misdirected Request: this console answers to ${[...this.allowedHosts].join(', ')}, ` +
          `not to the host "${hostHeader.slice(0, 100)}". Add the name to the Site's spec.console.hosts ` +
          `to reach the console under it.\n`,
      );
      return true;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const oh = originHost(origin);
      if (oh === undefined || !this.allowedHosts.has(oh)) {
        this.guard.refuse('bad_origin', { peer, origin: origin.slice(0, 100) });
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(
          `403 Forbidden: requests from pages of origin "${origin.slice(0, 100)}" are refused; ` +
            `the console serves only its own pages.\n`,
        );
        return true;
      }
    }
    return false;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (this.misdirected(req, res)) return;
    if (!this.authorized(req)) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="caravan console"',
        'content-type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('the console is read-only\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console');
    } catch {
      return this.json(res, 400, { error: { code: ErrorCodes.USAGE, message: 'bad URL' } });
    }
    const p = url.pathname;
    const fail = (e: unknown): void => this.json(res, 500, { error: publicError(e, this.log, { path: p }) });
    if (p === '/metrics') {
      const text = this.opts.data.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return;
    }
    if (p === '/api/network') {
      this.opts.data.network().then((m) => this.json(res, 200, m), fail);
      return;
    }
    if (p === '/api/flows') {
      this.opts.data.flows(flowParams(url)).then((f) => this.json(res, 200, f.flows), fail);
      return;
    }
    if (p === '/api/traffic') {
      const since = Number(url.searchParams.get('since') ?? '');
      this.opts.data
        .traffic(Number.isFinite(since) && since > 0 ? since : undefined)
        .then((t) => this.json(res, 200, t.samples), fail);
      return;
    }
    if (p === '/api/events') return this.events(req, res);
    if (p.startsWith('/api/'))
      return this.json(res, 404, { error: { code: ErrorCodes.NOT_FOUND, message: `no route ${p}` } });
    void this.serveStatic(p, req, res);
  }

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    const data = JSON.stringify(body);
    res.writeHead(code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
      'cache-control': 'no-store',
    });
    res.end(data);
  }

  private async serveStatic(
    pathname: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const root = resolve(this.opts.staticDir);
    const notFound = (): void => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    };
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return notFound();
    }
    if (rel.includes('\0') || rel.split(/[\\/]/).includes('..')) return notFound();
    let file = resolve(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) return notFound();
    let st = await stat(file).catch(() => undefined);
    if (st?.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file).catch(() => undefined);
    }
    if (!st && extname(rel) === '') {
      // a client-side route of the single-page console
      file = join(root, 'index.html');
      st = await stat(file).catch(() => undefined);
    }
    if (!st || !st.isFile()) {
      if (pathname === '/') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`the console is not built (no ${join(root, 'index.html')}); the API is at /api/network\n`);
        return;
      }
      return notFound();
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'content-type': type,
      'content-length': st.size,
      'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const s = createReadStream(file);
    s.on('error', () => res.destroy());
    s.pipe(res);
  }

  // ------------------------------------------------------------------ Server-Sent Events

  private events(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    const client: SseClient = { res };
    this.clients.add(client);
    req.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopTicking();
    });
    // the first network event at once, for this client
    this.opts.data.network().then(
      (m) => this.send(client, 'network', m),
      () => undefined,
    );
    this.startTicking();
  }

  private send(c: SseClient, event: string, data: unknown): void {
    if (c.res.destroyed) return;
    c.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) this.send(c, event, data);
  }

  private startTicking(): void {
    if (this.tickTimer) return;
    this.lastSampleT = Date.now() - 2 * (this.opts.tickMs ?? 2000);
    this.tickTimer = setInterval(() => void this.tick(), this.opts.tickMs ?? 2000);
    this.tickTimer.unref?.();
    this.unwatch.push(
      this.opts.data.watchNetwork(() => {
        // a routing change: send the network soon rather than at the next tick
        if (this.networkDirty) return;
        this.networkDirty = true;
        this.changeTimer = setTimeout(() => {
          this.changeTimer = undefined;
          if (this.networkDirty) void this.tick();
        }, 200);
      }),
      this.opts.data.watchFlows((r) => {
        this.pendingFlows.set(r.id, { ...r });
        this.flowTimer ??= setTimeout(() => {
          this.flowTimer = undefined;
          const batch = [...this.pendingFlows.values()];
          this.pendingFlows.clear();
          if (batch.length) this.broadcast('flows', batch);
        }, 250);
      }),
    );
  }

  private stopTicking(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    if (this.flowTimer) clearTimeout(this.flowTimer);
    this.flowTimer = undefined;
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = undefined;
    this.networkDirty = false;
    this.pendingFlows.clear();
    for (const u of this.unwatch) u();
    this.unwatch = [];
  }

  /** Every tick (and soon after a routing change): the network model, then the new traffic samples. */
  private async tick(): Promise<void> {
    if (this.ticking || this.clients.size === 0) return;
    this.ticking = true;
    try {
      this.networkDirty = false;
      this.broadcast('network', await this.opts.data.network());
      // Routers sample at slightly different moments: re-send the last sample too, completed (the console
      // replaces a sample with the same `t`).
      const { samples } = await this.opts.data.traffic(this.lastSampleT - (this.opts.tickMs ?? 2000));
      for (const s of samples) {
        this.broadcast('traffic', s);
        this.lastSampleT = Math.max(this.lastSampleT, s.t);
      }
    } catch (e) {
      this.log.debug('console tick failed', { error: errorMessage(e) });
    } finally {
      this.ticking = false;
    }
  }

  async stop(): Promise<void> {
    this.stopTicking();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await closeServer(s, () => {
      s.closeAllConnections();
      this.guard.serverStopped(this.ownGuard);
    });
  }
}

export function flowParams(url: URL): { service?: string; site?: string; limit?: number } {
  const q: { service?: string; site?: string; limit?: number } = {};
  const service = url.searchParams.get('service');
  const site = url.searchParams.get('site');
  const limit = Number(url.searchParams.get('limit') ?? '');
  if (service) q.service = service;
  if (site) q.site = site;
  if (Number.isFinite(limit) && limit > 0) q.limit = Math.floor(limit);
  return q;
}
