/**
 * The http1 adapter through real router processes on 127.0.0.1 (mTLS links):
 *
 *      west (listeners) ──► hub  (connector `web` → backend A)
 *                     └───► east (connector `web` → backend B)
 *
 * curl GET/POST, per-request balancing over one keep-alive client connection, a large streamed upload and
 * download checked by hash while the routers' RSS stays bounded (200 MB each way by default to keep CI short;
 * set CARAVAN_HTTP_BIG=1 for 1 GiB each way), WebSocket upgrade echo, 400 / 431 / 503 from the listener.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const execFileP = promisify(execFile);
/** generous liveness timers: bulk transfers on a shared, busy machine must not look like dead links */
const timers = { helloIntervalMs: 500, deadIntervalMs: 10_000 };
const BIG = process.env['CARAVAN_HTTP_BIG'] === '1';
const BULK_BYTES = BIG ? 1024 * 1024 * 1024 : 200 * 1024 * 1024;
/** peak RSS allowed for a router process while it streams BULK_BYTES (it must not buffer bodies) */
const RSS_LIMIT = 400 * 1024 * 1024;

/** A deterministic byte pattern: 1 MiB blocks of random bytes, each stamped with its index. */
const BLOCK = randomBytes(1024 * 1024);
function block(i: number): Buffer {
  const b = Buffer.from(BLOCK);
  b.writeUInt32BE(i, 0);
  return b;
}
function patternHash(bytes: number): string {
  const h = createHash('sha256');
  for (let i = 0; i * BLOCK.length < bytes; i++)
    h.update(block(i).subarray(0, Math.min(BLOCK.length, bytes - i * BLOCK.length)));
  return h.digest('hex');
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One backend: echoes request details, hashes uploads, streams downloads, echoes WebSocket frames. */
function backend(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/upload') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        n += d.length;
        h.update(d);
      });
      req.on('end', () => res.end(JSON.stringify({ backend: name, bytes: n, sha256: h.digest('hex') })));
      return;
    }
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes'));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
      let i = 0;
      const pump = (): void => {
        while (i * BLOCK.length < total) {
          const b = block(i).subarray(0, Math.min(BLOCK.length, total - i * BLOCK.length));
          i++;
          if (!res.write(b)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      res.setHeader('X-Backend', name);
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          backend: name,
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const f = parseFrame(buf);
        if (!f) break;
        buf = buf.subarray(f.size);
        if (f.opcode === 8) {
          socket.end(encodeFrame(8, Buffer.alloc(0), false));
          return;
        }
        socket.write(encodeFrame(f.opcode, Buffer.from(`${name}:${f.payload.toString('utf8')}`), false));
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    ),
  );
}

/** Minimal WebSocket framing (RFC 6455): FIN set, payloads < 64 KiB. */
function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const head = Buffer.alloc(len < 126 ? 2 : 4);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

function parseFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    off = 4;
  }
  const keyOff = off;
  if (masked) off += 4;
  if (buf.length < off + len) return undefined;
  let payload = buf.subarray(off, off + len);
  if (masked) payload = Buffer.from(payload.map((b, i) => b ^ buf[keyOff + (i % 4)]!));
  return { opcode, payload, size: off + len };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Sends raw bytes on a new connection and returns everything received until the server closes. */
function rawExchange(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
    s.setTimeout(15_000, () => s.destroy(new Error('raw exchange timed out')));
  });
}

/**
 * A keep-alive HTTP/1.1 target that drops a connection instead of answering its second request: what a server
 * whose idle timeout closed a pooled connection just as a request was sent on it looks like to the connector.
 */
function droppingServer(): Promise<{ server: net.Server; port: number; connections: () => number }> {
  let connections = 0;
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      connections++;
      let seen = '';
      let requests = 0;
      s.on('data', (d) => {
        seen += d.toString('latin1');
        while (seen.includes('\r\n\r\n')) {
          seen = seen.slice(seen.indexOf('\r\n\r\n') + 4);
          requests++;
          if (requests > 1) {
            s.resetAndDestroy();
            return;
          }
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        }
      });
      s.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port, connections: () => connections }),
    );
  });
}

describe('http1 adapter through three routers', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let east: TestSite;
  let west: TestSite;
  const procs: Record<string, ManagedProcess> = {};
  let a: Awaited<ReturnType<typeof backend>>;
  let b: Awaited<ReturnType<typeof backend>>;
  let webPort: number;
  let nothingPort: number;
  let stalePort: number;
  let dropping: Awaited<ReturnType<typeof droppingServer>>;

  before(async () => {
    root = await makeTempRoot('http1');
    a = await backend('A');
    b = await backend('B');
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
      ...timers,
    });
    east = await TestSite.create(root.dir, {
      name: 'east',
      linkAccess: { host: '127.0.0.1', port: 0 },
      ...timers,
    });
    await hub.writeResource('Connector', 'web', { type: 'http1', routingKey: 'web', port: a.port });
    await east.writeResource('Connector', 'web', { type: 'http1', routingKey: 'web', port: b.port });
    dropping = await droppingServer();
    await hub.writeResource('Connector', 'stale', {
      type: 'http1',
      routingKey: 'stale',
      port: dropping.port,
    });
    procs['hub'] = hub.start();
    procs['east'] = east.start();
    const hs = await hub.ready();
    const es = await east.ready();
    west = await TestSite.create(root.dir, { name: 'west', ...timers });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: hs.router.linkAccess!.port }] });
    await west.linkTo(east, { endpoints: [{ host: '127.0.0.1', port: es.router.linkAccess!.port }] });
    webPort = await freePort();
    nothingPort = await freePort();
    stalePort = await freePort();
    await west.writeResource('Listener', 'stale', {
      type: 'http1',
      routingKey: 'stale',
      host: '127.0.0.1',
      port: stalePort,
    });
    await west.writeResource('Listener', 'web', {
      type: 'http1',
      routingKey: 'web',
      host: '127.0.0.1',
      port: webPort,
      forwardedFor: true,
    });
    await west.writeResource('Listener', 'nothing', {
      type: 'http1',
      routingKey: 'nothing-here',
      host: '127.0.0.1',
      port: nothingPort,
    });
    procs['west'] = west.start();
    await west.ready();
    await west.seesKey('web', 2);
    await west.seesKey('stale');
  });

  after(async () => {
    await stopAllProcesses();
    a?.server.close();
    b?.server.close();
    dropping?.server.close();
    await root?.remove();
  });

  test('curl GET and POST cross the network; Host is kept, hop-by-hop fields are not forwarded', async () => {
    const get = await execFileP('curl', [
      '-sS',
      '--max-time',
      '20',
      '-H',
      'Connection: keep-alive, X-Hop',
      '-H',
      'X-Hop: secret',
      '-H',
      'X-End: visible',
      `http://127.0.0.1:${webPort}/hello?x=1`,
    ]);
    const g = JSON.parse(get.stdout) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(g.method, 'GET');
    assert.equal(g.url, '/hello?x=1');
    assert.equal(g.headers['host'], `127.0.0.1:${webPort}`, 'Host travels end to end');
    assert.equal(g.headers['x-end'], 'visible');
    assert.equal(g.headers['x-hop'], undefined, 'a field named in Connection is hop-by-hop');
    assert.match(g.headers['via'] ?? '', /1\.1 caravan/);
    assert.equal(g.headers['x-forwarded-for'], '127.0.0.1');

    const post = await execFileP('curl', [
      '-sS',
      '--max-time',
      '20',
      '-i',
      '--data-binary',
      'payload-123',
      `http://127.0.0.1:${webPort}/submit`,
    ]);
    const [head, body] = post.stdout.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 200 OK/);
    assert.match(head ?? '', /\r\nVia: 1\.1 caravan/i);
    const p = JSON.parse(body ?? '') as { method: string; body: string };
    assert.equal(p.method, 'POST');
    assert.equal(p.body, 'payload-123');

    // chunked upload (no Content-Length)
    const chunked = await execFileP('curl', [
      '-sS',
      '--max-time',
      '20',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'chunky',
      `http://127.0.0.1:${webPort}/chunked`,
    ]);
    assert.equal((JSON.parse(chunked.stdout) as { body: string }).body, 'chunky');
  });

  test('every request picks a connector: 20 requests over one keep-alive connection reach both backends', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new Map<string, number>();
    const localPorts = new Set<number>();
    try {
      for (let i = 0; i < 20; i++) {
        const r = await new Promise<{ backend: string; port: number }>((resolve, reject) => {
          const req = http.get({ agent, host: '127.0.0.1', port: webPort, path: `/r${i}` }, (res) => {
            const port = res.socket.localPort ?? 0;
            let d = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (d += c));
            res.on('end', () => resolve({ backend: (JSON.parse(d) as { backend: string }).backend, port }));
          });
          req.on('error', reject);
        });
        seen.set(r.backend, (seen.get(r.backend) ?? 0) + 1);
        localPorts.add(r.port);
      }
    } finally {
      agent.destroy();
    }
    assert.equal(localPorts.size, 1, 'all 20 requests used one client connection');
    assert.ok(
      (seen.get('A') ?? 0) > 0 && (seen.get('B') ?? 0) > 0,
      `both backends answered: ${JSON.stringify([...seen])}`,
    );
    const st = await west.status();
    const l = st.listeners.find((x) => x.name === 'web');
    assert.ok((l?.stats['method_GET'] ?? 0) >= 20, 'requests are counted by method');
    assert.ok((l?.stats['status_2xx'] ?? 0) >= 20, 'responses are counted by status class');
    assert.ok((l?.stats['latency_ms_count'] ?? 0) >= 20, 'latencies are recorded');
  });

  test(
    `a ${BULK_BYTES / 2 ** 20} MiB upload and download stream through without buffering`,
    { timeout: BIG ? 900_000 : 300_000 },
    async () => {
      const pids = await Promise.all([west, hub, east].map(async (s) => (await s.status()).router.pid));
      let peak = 0;
      const sampler = setInterval(() => {
        for (const pid of pids) peak = Math.max(peak, rssOf(pid));
      }, 200);
      try {
        // upload: streamed from a generator, hashed by the backend
        const up = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port: webPort,
              path: '/upload',
              method: 'POST',
              headers: { 'Content-Length': String(BULK_BYTES) },
            },
            (res) => {
              let d = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (d += c));
              res.on('end', () => resolve(JSON.parse(d) as { bytes: number; sha256: string }));
            },
          );
          req.on('error', reject);
          let i = 0;
          const pump = (): void => {
            while (i * BLOCK.length < BULK_BYTES) {
              const blk = block(i).subarray(0, Math.min(BLOCK.length, BULK_BYTES - i * BLOCK.length));
              i++;
              if (!req.write(blk)) return void req.once('drain', pump);
            }
            req.end();
          };
          pump();
        });
        const expected = patternHash(BULK_BYTES);
        assert.equal(up.bytes, BULK_BYTES);
        assert.equal(up.sha256, expected, 'the backend received exactly the uploaded bytes');

        // download: streamed by the backend, hashed by the client
        const down = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: webPort, path: `/download?bytes=${BULK_BYTES}` }, (res) => {
              const h = createHash('sha256');
              let n = 0;
              res.on('data', (d: Buffer) => {
                n += d.length;
                h.update(d);
              });
              res.on('end', () => resolve({ bytes: n, sha256: h.digest('hex') }));
              res.on('error', reject);
            })
            .on('error', reject);
        });
        assert.equal(down.bytes, BULK_BYTES);
        assert.equal(down.sha256, expected, 'the client received exactly the bytes the backend sent');
      } finally {
        clearInterval(sampler);
      }
      assert.ok(
        peak > 0 && peak < RSS_LIMIT,
        `router peak RSS ${Math.round(peak / 2 ** 20)} MiB < ${RSS_LIMIT / 2 ** 20} MiB`,
      );
    },
  );

  test('a pooled connection the target dropped: the request is sent again on a new one, not answered 502', async () => {
    const get = (): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: stalePort, path: '/', agent: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    assert.deepEqual(await get(), { status: 200, body: 'ok' });
    // the connector reuses its pooled connection; the target drops it; the connector retries on a new one
    assert.deepEqual(await get(), { status: 200, body: 'ok' });
    assert.equal(
      dropping.connections(),
      2,
      'the second request went out on the pooled connection, then a new one',
    );
    await procs['hub']!.waitForOutput(/pooled connection closed by the target; request sent again/);
  });

  test('a WebSocket upgrade continues as a byte stream to the same backend', async () => {
    const key = randomBytes(16).toString('base64');
    const s = net.connect(webPort, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const waitData = (pred: () => boolean): Promise<void> =>
      waitFor(() => pred(), { what: 'websocket data', timeoutMs: 15_000 }).then(() => undefined);
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    await new Promise<void>((resolve) => s.once('connect', resolve));
    s.write(
      `GET /chat HTTP/1.1\r\nHost: 127.0.0.1:${webPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await waitData(() => buf.includes('\r\n\r\n'));
    const end = buf.indexOf('\r\n\r\n');
    const head = buf.subarray(0, end).toString('latin1');
    buf = buf.subarray(end + 4);
    assert.match(head, /^HTTP\/1\.1 101 /);
    const expectAccept = createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${expectAccept.replace(/[+/]/g, '\\$&')}`, 'i'));
    const backendName = /X-Backend: (\w)/i.exec(head)?.[1];
    assert.ok(backendName);
    const replies: string[] = [];
    for (const msg of ['hello', 'world', 'x'.repeat(3000)]) {
      s.write(encodeFrame(1, Buffer.from(msg), true));
      await waitData(() => parseFrame(buf) !== undefined);
      const f = parseFrame(buf)!;
      buf = buf.subarray(f.size);
      replies.push(f.payload.toString('utf8'));
    }
    assert.deepEqual(replies, [
      `${backendName}:hello`,
      `${backendName}:world`,
      `${backendName}:${'x'.repeat(3000)}`,
    ]);
    s.write(encodeFrame(8, Buffer.alloc(0), true));
    await new Promise<void>((resolve) => s.once('close', () => resolve()));
  });

  test('malformed request → 400, oversize headers → 431, no connector → 503 naming the key', async () => {
    const bad = await rawExchange(webPort, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400 /);
    const big = await rawExchange(
      webPort,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1\.1 431 /);
    const none = await execFileP('curl', [
      '-sS',
      '--max-time',
      '20',
      '-i',
      `http://127.0.0.1:${nothingPort}/`,
    ]);
    assert.match(none.stdout, /^HTTP\/1\.1 503 /);
    assert.match(none.stdout, /nothing-here/);
    // the listener keeps serving others
    const ok = await execFileP('curl', ['-sS', '--max-time', '20', `http://127.0.0.1:${webPort}/still`]);
    assert.equal((JSON.parse(ok.stdout) as { url: string }).url, '/still');
    const st = await west.status();
    const l = st.listeners.find((x) => x.name === 'web');
    assert.ok((l?.stats['badRequests'] ?? 0) >= 1);
    assert.ok((l?.stats['headerTooLarge'] ?? 0) >= 1);
  });
});
