/**
 * A stand-in for a router's console HTTP server: serves the built console (dist/console/) and the read-only API
 * (`/api/network`, `/api/flows`, `/api/traffic`, `/api/events` as Server-Sent Events) from canned, deterministic
 * data that a test can change and push. Same contract as the router's server (src/observe/model.ts).
 *
 * Also runnable for console development (serves a live, changing 300-site network):
 *   npm run build && node dist/test/support/fake-console-api.js --port 8090 --sites 300
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  FlowRecord,
  LinkModel,
  NetworkModel,
  ServiceModel,
  SiteModel,
  SitePairTraffic,
  TrafficSample,
} from '../../src/observe/model.js';
import { repoRoot } from './proc.js';

export const consoleDistDir = resolve(repoRoot, 'dist', 'console');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

// ---------------------------------------------------------------------------------------------------------------
// Deterministic canned data

/** mulberry32: a tiny seeded PRNG so every run builds the same network. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CannedData {
  network: NetworkModel;
  traffic: TrafficSample[];
  flows: FlowRecord[];
}

export interface MakeNetworkOptions {
  /** number of sites (default 300) */
  sites?: number;
  /** number of interior routers (default max(3, sites/10)) */
  interiors?: number;
  /** number of routing keys (default 40) */
  services?: number;
  /** number of flow records (default 200) */
  flows?: number;
  /** the "current" time (default Date.now()) */
  now?: number;
  seed?: number;
}

const NAMED_KEYS = ['db', 'payments', 'web', 'orders', 'auth', 'search', 'cache', 'metrics'];

export function linkId(a: string, b: string): string {
  return a < b ? `${a}--${b}` : `${b}--${a}`;
}

/** A deterministic network: interiors in a ring with chords, edges attached to interiors, services, traffic, flows. */
export function makeNetwork(opts: MakeNetworkOptions = {}): CannedData {
  const n = opts.sites ?? 300;
  const interiors = Math.min(n, opts.interiors ?? Math.max(3, Math.round(n / 10)));
  const now = opts.now ?? Date.now();
  const rand = rng(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

  const sites: SiteModel[] = [];
  for (let i = 0; i < n; i++) {
    const interior = i < interiors;
    const id = interior
      ? `hub-${String(i).padStart(2, '0')}`
      : `edge-${String(i - interiors).padStart(3, '0')}`;
    sites.push({
      id,
      name: interior ? `hub ${i}` : `site ${i - interiors}`,
      mode: interior ? 'interior' : 'edge',
      platform: pick(['linux/x64 node v20.20.2', 'linux/arm64 node v20.20.2', 'darwin/arm64 node v22.3.0']),
      version: '0.1.0',
      reachable: true,
    });
  }
  const links = new Map<string, LinkModel>();
  const addLink = (a: string, b: string, cost: number): void => {
    if (a === b) return;
    const id = linkId(a, b);
    if (links.has(id)) return;
    const [from, to] = a < b ? [a, b] : [b, a];
    links.set(id, { id, from, to, cost, state: 'up', rttMs: Math.round(rand() * 400) / 10 + 0.2 });
  };
  for (let i = 0; i < interiors && interiors > 1; i++) {
    addLink(sites[i]!.id, sites[(i + 1) % interiors]!.id, 1);
    if (interiors > 4 && i % 3 === 0) addLink(sites[i]!.id, sites[(i + 2) % interiors]!.id, pick([2, 5, 10]));
  }
  for (let i = interiors; i < n; i++) {
    const hub = sites[(i - interiors) % interiors]!.id;
    addLink(sites[i]!.id, hub, 1);
    if (i % 17 === 0) addLink(sites[i]!.id, sites[(i + 1) % interiors]!.id, 5);
  }

  const services: ServiceModel[] = [];
  const nServices = opts.services ?? 40;
  for (let k = 0; k < nServices; k++) {
    const key = k < NAMED_KEYS.length ? NAMED_KEYS[k]! : `svc-${String(k).padStart(2, '0')}`;
    const listenerSites = new Set<string>();
    const connectorSites = new Set<string>();
    const nl = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < nl; j++) listenerSites.add(pick(sites).id);
    // every seventh key has no connector: unmatched
    const nc = k % 7 === 6 ? 0 : 1 + Math.floor(rand() * 2);
    for (let j = 0; j < nc; j++) connectorSites.add(pick(sites).id);
    services.push({
      routingKey: key,
      protocol: pick(['tcp', 'tcp', 'http1', 'http2']),
      listeners: [...listenerSites].map((site) => ({ site, names: [key], count: 1 })),
      connectors: [...connectorSites].map((site) => ({
        site,
        names: [key],
        count: 1 + Math.floor(rand() * 2),
      })),
      matched: nc > 0,
      bytesPerSec: nc > 0 ? Math.round(rand() * 5_000_000) : 0,
      flowsPerSec: nc > 0 ? Math.round(rand() * 500) / 10 : 0,
    });
  }

  const traffic: SitePairTraffic[] = [];
  for (const s of services) {
    if (!s.matched) continue;
    for (const l of s.listeners) {
      const c = s.connectors[0]!;
      if (l.site === c.site) continue;
      traffic.push({
        from: l.site,
        to: c.site,
        bytesPerSec: Math.round((s.bytesPerSec ?? 0) / s.listeners.length),
        flowsPerSec: (s.flowsPerSec ?? 0) / s.listeners.length,
      });
    }
  }

  const network: NetworkModel = {
    generatedAt: new Date(now).toISOString(),
    observedBy: sites[0]?.id ?? 'none',
    sites,
    links: [...links.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    services,
    traffic,
  };

  const samples: TrafficSample[] = [];
  for (let i = 299; i >= 0; i--) samples.push(trafficSample(network, now - i * 2000));

  const flows: FlowRecord[] = [];
  const matched = services.filter((s) => s.matched);
  const nFlows = opts.flows ?? 200;
  for (let i = 0; i < nFlows && matched.length > 0; i++) {
    const s = pick(matched);
    const started = now - Math.floor(rand() * 9 * 60_000);
    const active = i % 9 === 0;
    const failed = !active && i % 13 === 0;
    flows.push({
      id: `flow-${String(i).padStart(4, '0')}`,
      routingKey: s.routingKey,
      protocol: s.protocol ?? 'tcp',
      sourceSite: s.listeners[0]!.site,
      listener: s.routingKey,
      clientAddress: `127.0.0.1:${40000 + i}`,
      destSite: failed ? undefined : s.connectors[0]!.site,
      connector: failed ? undefined : s.routingKey,
      targetAddress: failed ? undefined : `10.0.0.${(i % 250) + 1}:5432`,
      startedAt: new Date(started).toISOString(),
      endedAt: active ? undefined : new Date(started + Math.floor(rand() * 30_000)).toISOString(),
      bytesOut: failed ? 0 : Math.floor(rand() * 2_000_000),
      bytesIn: failed ? 0 : Math.floor(rand() * 20_000_000),
      outcome: active ? 'active' : failed ? 'CARAVAN_TARGET_REFUSED' : 'ok',
    });
  }
  flows.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  return { network, traffic: samples, flows };
}

/** A traffic sample at time `t` derived from the model's rates (a smooth, deterministic wobble). */
export function trafficSample(network: NetworkModel, t: number): TrafficSample {
  const wobble = (key: string): number => {
    let h = 0;
    for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return 0.6 + 0.4 * Math.sin(t / 40_000 + (h % 628) / 100);
  };
  const services: Record<string, number> = {};
  for (const s of network.services)
    if (s.matched) services[s.routingKey] = Math.round((s.bytesPerSec ?? 0) * wobble(s.routingKey));
  const sitePairs: Record<string, number> = {};
  for (const p of network.traffic) {
    const k = `${p.from}->${p.to}`;
    sitePairs[k] = (sitePairs[k] ?? 0) + Math.round(p.bytesPerSec * wobble(k));
  }
  return { t, services, sitePairs };
}

// ---------------------------------------------------------------------------------------------------------------
// The server

export interface FakeConsoleApiOptions {
  data?: CannedData;
  /** directory with the built console (default dist/console) */
  staticDir?: string;
  host?: string;
  port?: number;
  /** require HTTP Basic auth on everything */
  auth?: { username: string; password: string };
  /** SSE `retry:` hint sent to browsers, ms (default 500: fast reconnects in tests) */
  retryMs?: number;
  /** push a traffic sample and a few flows every 2 s, flap a link now and then (console development) */
  live?: boolean;
}

export class FakeConsoleApi {
  network: NetworkModel;
  traffic: TrafficSample[];
  flows: FlowRecord[];
  /** every request's method and URL, for assertions */
  readonly requests: string[] = [];
  private readonly clients = new Set<http.ServerResponse>();
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly opts: FakeConsoleApiOptions,
    data: CannedData,
  ) {
    this.network = data.network;
    this.traffic = data.traffic;
    this.flows = data.flows;
  }

  static async start(opts: FakeConsoleApiOptions = {}): Promise<FakeConsoleApi> {
    const data = opts.data ?? makeNetwork();
    const server = http.createServer();
    const api = new FakeConsoleApi(server, opts, data);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => api.handle(req, res));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
    });
    const keepalive = setInterval(() => {
      for (const c of api.clients) c.write(': keepalive\n\n');
    }, 15_000);
    keepalive.unref();
    api.timers.push(keepalive);
    if (opts.live) api.startLive();
    return api;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.address}:${a.port}/`;
  }

  /** open `/api/events` streams */
  get eventClients(): number {
    return this.clients.size;
  }

  setNetwork(network: NetworkModel): void {
    this.network = network;
    this.broadcast('network', network);
  }

  /** Changes a link's state (and the reachability that follows for edges behind it) and pushes the model. */
  setLinkState(id: string, state: 'up' | 'down'): void {
    const links = this.network.links.map((l) => (l.id === id ? { ...l, state } : l));
    if (!links.some((l) => l.id === id)) throw new Error(`no link ${id}`);
    this.setNetwork({ ...this.network, links, generatedAt: new Date().toISOString() });
  }

  pushTraffic(sample: TrafficSample): void {
    this.traffic = [...this.traffic.filter((s) => s.t >= sample.t - 10 * 60_000), sample];
    this.broadcast('traffic', sample);
  }

  pushFlows(flows: FlowRecord[]): void {
    const ids = new Set(flows.map((f) => f.id));
    this.flows = [...flows, ...this.flows.filter((f) => !ids.has(f.id))].sort(
      (a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt),
    );
    this.broadcast('flows', flows);
  }

  /** Cuts every open event stream (the browser should reconnect by itself). */
  dropEventClients(): void {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.dropEventClients();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private broadcast(event: string, data: unknown): void {
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) c.write(msg);
  }

  private startLive(): void {
    let tick = 0;
    const t = setInterval(() => {
      tick++;
      const now = Date.now();
      this.pushTraffic(trafficSample(this.network, now));
      const s = this.network.services.filter((x) => x.matched)[tick % 7];
      if (s) {
        this.pushFlows([
          {
            id: `live-${tick}`,
            routingKey: s.routingKey,
            protocol: s.protocol ?? 'tcp',
            sourceSite: s.listeners[0]!.site,
            listener: s.routingKey,
            clientAddress: `127.0.0.1:${50000 + (tick % 10000)}`,
            destSite: s.connectors[0]!.site,
            connector: s.routingKey,
            targetAddress: '10.0.0.7:5432',
            startedAt: new Date(now - 1500).toISOString(),
            endedAt: new Date(now).toISOString(),
            bytesOut: 1000 * tick,
            bytesIn: 50_000 * tick,
            outcome: 'ok',
          },
        ]);
      }
      if (tick % 5 === 0) {
        const link = this.network.links[(tick / 5) % this.network.links.length];
        if (link) this.setLinkState(link.id, link.state === 'up' ? 'down' : 'up');
      }
    }, 2000);
    this.timers.push(t);
  }

  private authorized(req: http.IncomingMessage): boolean {
    const auth = this.opts.auth;
    if (!auth) return true;
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(h);
    if (!m) return false;
    const [user, ...rest] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
    return user === auth.username && rest.join(':') === auth.password;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    if (!this.authorized(req)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="caravan"', 'content-type': 'text/plain' });
      res.end('unauthorized\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/api/network':
        return json(res, this.network);
      case '/api/traffic':
        return json(res, this.traffic);
      case '/api/flows': {
        const service = url.searchParams.get('service');
        const site = url.searchParams.get('site');
        const limit = Number(url.searchParams.get('limit') ?? 500) || 500;
        const out = this.flows
          .filter(
            (f) =>
              (!service || f.routingKey === service) &&
              (!site || f.sourceSite === site || f.destSite === site),
          )
          .slice(0, limit);
        return json(res, out);
      }
      case '/api/events': {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        res.write(`retry: ${this.opts.retryMs ?? 500}\n\n`);
        res.write(`event: network\ndata: ${JSON.stringify(this.network)}\n\n`);
        this.clients.add(res);
        req.on('close', () => this.clients.delete(res));
        return;
      }
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(`caravan_console_fake 1\n`);
        return;
      default:
        return this.serveStatic(url.pathname, res);
    }
  }

  private serveStatic(pathname: string, res: http.ServerResponse): void {
    const root = this.opts.staticDir ?? consoleDistDir;
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': rel === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
    });
    createReadStream(file).pipe(res);
  }
}

function json(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

// ---------------------------------------------------------------------------------------------------------------
// Run directly: a live fake for console development

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? def) : def;
  };
  const api = await FakeConsoleApi.start({
    port: Number(arg('port', '8090')),
    host: arg('host', '127.0.0.1'),
    data: makeNetwork({ sites: Number(arg('sites', '300')) }),
    live: true,
  });
  process.stdout.write(`fake console API (and dist/console) at ${api.url}\n`);
}
