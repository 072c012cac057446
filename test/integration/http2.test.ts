/**
 * The http2 adapter between two real router processes on 127.0.0.1: each HTTP/2 stream is its own flow. Node
 * http2 clients and servers at both ends: request/response, streaming both ways, trailers, RST_STREAM both
 * ways, large bodies with end-to-end backpressure, per-stream balancing, TLS (ALPN h2, and HTTP/1.1 clients by
 * curl and Node's https) on the listener and to the target, refused targets, and h2load for load.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import tls from 'node:tls';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { run, stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { createCa, issueCertificate } from '../../src/site/certs/index.js';
import { freePort } from '../support/ports.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Links are not under test here: generous liveness timers keep a busy shared machine from dropping them. */
const TIMERS = { helloIntervalMs: 500, deadIntervalMs: 5000 };

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Backend {
  server: http2.Http2Server | http2.Http2SecureServer;
  port: number;
  name: string;
  hits: number;
  /** paths of streams the backend saw close, with their RST code */
  closed: Array<{ path: string; rstCode: number }>;
  /** bytes /big has written so far */
  bigWritten: number;
  /** request headers by path */
  seen: Map<string, http2.IncomingHttpHeaders>;
}

/** A target with one behaviour per path. */
async function backend(name: string, tls?: { cert: string; key: string }, port = 0): Promise<Backend> {
  const b: Backend = {
    server: tls ? http2.createSecureServer({ ...tls, allowHTTP1: false }) : http2.createServer(),
    port: 0,
    name,
    hits: 0,
    closed: [],
    bigWritten: 0,
    seen: new Map(),
  };
  b.server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    b.hits++;
    const path = String(headers[':path']);
    b.seen.set(path, headers);
    stream.once('close', () => b.closed.push({ path, rstCode: stream.rstCode ?? 0 }));
    const route = path.split('?')[0];
    if (route === '/echo' || route === '/') {
      const chunks: Buffer[] = [];
      let reqTrailers: http2.IncomingHttpHeaders = {};
      stream.on('trailers', (t) => (reqTrailers = t));
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        stream.respond(
          {
            ':status': 200,
            'x-backend': name,
            'x-method': String(headers[':method']),
            'x-scheme': String(headers[':scheme']),
            'x-request-header': String(headers['x-request-header'] ?? ''),
            'set-cookie': ['a=1', 'b=2'],
          },
          { waitForTrailers: true },
        );
        stream.once('wantTrailers', () =>
          stream.sendTrailers({
            'x-sha256': sha256(body),
            'x-length': String(body.length),
            'x-got-trailer': String(reqTrailers['x-client-trailer'] ?? 'none'),
          }),
        );
        stream.end(body);
      });
    } else if (route === '/stream') {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      let i = 0;
      const t = setInterval(() => {
        if (stream.closed) return clearInterval(t);
        stream.write(`chunk-${i}\n`);
        if (++i === 5) {
          clearInterval(t);
          stream.once('wantTrailers', () => stream.sendTrailers({ 'x-count': '5' }));
          stream.end();
        }
      }, 20);
    } else if (route === '/duplex') {
      stream.respond({ ':status': 200 });
      stream.on('data', (d: Buffer) => stream.write(d.toString().toUpperCase()));
      stream.on('end', () => stream.end('BYE'));
    } else if (route === '/silent') {
      stream.resume(); // never answers
    } else if (route === '/hang') {
      stream.respond({ ':status': 200 });
      stream.resume();
    } else if (route === '/rst') {
      // waitForTrailers: else Node's close() sends END_STREAM before RST_STREAM and the client sees a clean end
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.write('partial', () => setTimeout(() => stream.close(NGHTTP2_ENHANCE_YOUR_CALM), 50));
    } else if (route === '/trailers-only') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' },
        { endStream: true },
      );
    } else if (route === '/big') {
      stream.respond({ ':status': 200 });
      const chunk = randomBytes(64 * 1024);
      const pump = (): void => {
        while (!stream.closed && b.bigWritten < 256 * 1024 * 1024 && stream.write(chunk))
          b.bigWritten += chunk.length;
      };
      stream.on('drain', () => {
        b.bigWritten += chunk.length;
        pump();
      });
      pump();
    } else if (route === '/stall') {
      stream.respond({ ':status': 200 });
      stream.pause(); // never reads the request body
    } else {
      stream.respond({ ':status': 404 });
      stream.end();
    }
  });
  await new Promise<void>((r) => b.server.listen(port, '127.0.0.1', () => r()));
  b.port = (b.server.address() as net.AddressInfo).port;
  return b;
}

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  responseFlags: number;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
  rstCode: number;
}

function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | null,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, {
      endStream: body === null,
      ...(trailers ? { waitForTrailers: true } : {}),
    });
    const out: Reply = {
      status: 0,
      headers: {},
      responseFlags: 0,
      body: Buffer.alloc(0),
      trailers: {},
      rstCode: 0,
    };
    const chunks: Buffer[] = [];
    req.on('response', (h, flags) => {
      out.headers = h;
      out.status = Number(h[':status']);
      out.responseFlags = flags;
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('trailers', (t) => (out.trailers = t));
    if (trailers) req.once('wantTrailers', () => req.sendTrailers(trailers));
    req.on('error', () => undefined);
    req.on('close', () => {
      out.body = Buffer.concat(chunks);
      out.rstCode = req.rstCode ?? 0;
      resolve(out);
    });
    req.on('timeout', () => reject(new Error('request timed out')));
    if (body !== null) req.end(body ?? undefined);
  });
}

describe('http2 adapter between two routers', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let west: TestSite;
  let hubProc: ManagedProcess;
  let be: Backend;
  let beTls: Backend;
  let poolA: Backend;
  let poolB: Backend;
  let port: number; // h2c listener
  let tlsPort: number; // TLS listener
  let securePort: number; // h2c listener → connector speaking TLS to its target
  let poolPort: number;
  let nothingPort: number;
  let deadPort: number;
  let multiPort: number;
  let caPem: string;
  let mtlsPort: number; // TLS listener that requires client certificates
  let client: { certPem: string; keyPem: string };
  const sessions: http2.ClientHttp2Session[] = [];

  const connect = (url: string, opts: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session => {
    const s = http2.connect(url, opts);
    s.on('error', () => undefined);
    sessions.push(s);
    return s;
  };

  before(async () => {
    root = await makeTempRoot('h2');
    const ca = await createCa({ commonName: 'h2 test CA' });
    caPem = ca.certPem;
    client = await issueCertificate(ca, { commonName: 'a client', usage: 'client' });
    const leaf = await issueCertificate(ca, {
      commonName: 'localhost',
      usage: 'server',
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
    });
    be = await backend('plain');
    beTls = await backend('tls', { cert: leaf.certPem, key: leaf.keyPem });
    poolA = await backend('pool-a');
    poolB = await backend('pool-b');

    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
      ...TIMERS,
    });
    await mkdir(join(hub.dir, 'certs'), { recursive: true });
    await writeFile(join(hub.dir, 'certs', 'ca.crt'), ca.certPem);
    await hub.writeResource('Connector', 'echo', { type: 'http2', host: '127.0.0.1', port: be.port });
    await hub.writeResource('Connector', 'secure', {
      type: 'http2',
      host: '127.0.0.1',
      port: beTls.port,
      tls: { ca: 'certs/ca.crt', servername: 'localhost' },
    });
    await hub.writeResource('Connector', 'multi', {
      type: 'http2',
      targets: [
        { host: '127.0.0.1', port: await freePort() }, // refuses
        { host: '127.0.0.1', port: be.port },
      ],
    });
    await hub.writeResource('Connector', 'pool-a', { type: 'http2', routingKey: 'pool', port: poolA.port });
    await hub.writeResource('Connector', 'pool-b', { type: 'http2', routingKey: 'pool', port: poolB.port });
    deadPort = await freePort(); // nothing listens here (until a test starts a server there)
    await hub.writeResource('Connector', 'nothing', { type: 'http2', port: deadPort });
    hubProc = hub.start();
    const hs = await hub.ready();
    const linkPort = hs.router.linkAccess?.port;
    assert.ok(linkPort, 'hub reports its link access port');

    west = await TestSite.create(root.dir, { name: 'west', ...TIMERS });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    await mkdir(join(west.dir, 'certs'), { recursive: true });
    await writeFile(join(west.dir, 'certs', 'listener.crt'), leaf.certPem);
    await writeFile(join(west.dir, 'certs', 'listener.key'), leaf.keyPem, { mode: 0o600 });
    [port, tlsPort, securePort, poolPort, nothingPort, multiPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const lis = (name: string, p: number, extra: Record<string, unknown> = {}): Promise<void> =>
      west.writeResource('Listener', name, { type: 'http2', host: '127.0.0.1', port: p, ...extra });
    await lis('echo', port);
    await lis('echo-tls', tlsPort, {
      routingKey: 'echo',
      tls: { cert: 'certs/listener.crt', key: 'certs/listener.key' },
    });
    mtlsPort = await freePort();
    await writeFile(join(west.dir, 'certs', 'clients-ca.crt'), ca.certPem);
    await lis('echo-mtls', mtlsPort, {
      routingKey: 'echo',
      tls: { cert: 'certs/listener.crt', key: 'certs/listener.key', clientCa: 'certs/clients-ca.crt' },
    });
    await lis('secure', securePort);
    await lis('pool', poolPort);
    await lis('nothing', nothingPort);
    await lis('multi', multiPort);
    west.start();
    await west.ready();
    await west.seesKey('echo');
    await west.seesKey('secure');
    await west.seesKey('pool');
  });

  after(async () => {
    for (const s of sessions) s.destroy();
    await stopAllProcesses();
    for (const b of [be, beTls, poolA, poolB]) b?.server.close();
    await root?.remove();
  });

  test('request and response cross with headers, body and trailers both ways', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const body = randomBytes(200_000);
    const r = await request(s, { ':method': 'POST', ':path': '/echo', 'x-request-header': 'hello' }, body, {
      'x-client-trailer': 'from-client',
    });
    assert.equal(r.status, 200);
    assert.equal(r.rstCode, 0);
    assert.equal(r.headers['x-backend'], 'plain');
    assert.equal(r.headers['x-request-header'], 'hello');
    assert.equal(r.headers['x-scheme'], 'http');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.ok(r.body.equals(body), 'response body is the request body');
    assert.equal(r.trailers['x-sha256'], sha256(body), 'response trailers arrive');
    assert.equal(r.trailers['x-got-trailer'], 'from-client', 'request trailers reached the server');

    const g = await request(s, { ':method': 'GET', ':path': '/echo' }, null);
    assert.equal(g.status, 200);
    assert.equal(g.headers['x-method'], 'GET');
    assert.equal(g.trailers['x-length'], '0');
  });

  test('a trailers-only response stays trailers-only', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const r = await request(s, { ':method': 'POST', ':path': '/trailers-only' }, Buffer.from('x'));
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], '5');
    assert.ok(r.responseFlags & NGHTTP2_FLAG_END_STREAM, 'the response head ended the stream');
  });

  test('large bodies cross byte-exact both ways, many streams on one connection', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const big = randomBytes(24 * 1024 * 1024);
    const r = await request(s, { ':method': 'POST', ':path': '/echo' }, big);
    assert.equal(r.trailers['x-sha256'], sha256(big));
    assert.equal(sha256(r.body), sha256(big));
    const bodies = Array.from({ length: 30 }, (_, i) => randomBytes(32 * 1024 + i * 1013));
    const rs = await Promise.all(bodies.map((b) => request(s, { ':method': 'POST', ':path': '/echo' }, b)));
    rs.forEach((x, i) => {
      assert.equal(x.status, 200);
      assert.ok(x.body.equals(bodies[i]!));
    });
  });

  test('server streaming and interleaved bidirectional streaming', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const r = await request(s, { ':method': 'GET', ':path': '/stream' }, null);
    assert.equal(r.body.toString(), [0, 1, 2, 3, 4].map((i) => `chunk-${i}\n`).join(''));
    assert.equal(r.trailers['x-count'], '5');

    // ping-pong: each message is answered before the next is sent, so nothing waits for the end of the request
    const req = s.request({ ':method': 'POST', ':path': '/duplex' });
    req.on('error', () => undefined);
    const got: string[] = [];
    let waiting: ((s: string) => void) | undefined;
    req.on('data', (d: Buffer) => {
      got.push(d.toString());
      waiting?.(d.toString());
    });
    for (const word of ['alpha', 'beta', 'gamma']) {
      const answer = new Promise<string>((resolve) => (waiting = resolve));
      req.write(word);
      assert.equal(await answer, word.toUpperCase());
    }
    const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
    req.end();
    await closed;
    assert.equal(got.join(''), 'ALPHABETAGAMMABYE');
  });

  test('RST_STREAM from the client reaches the server with its code', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const path = `/hang?id=${randomBytes(4).toString('hex')}`;
    const req = s.request({ ':method': 'POST', ':path': path });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => req.once('response', () => resolve()));
    req.close(NGHTTP2_CANCEL);
    const c = await waitFor(() => be.closed.find((x) => x.path === path), {
      what: 'the server to see the stream closed',
      timeoutMs: 10_000,
    });
    assert.equal(c.rstCode, NGHTTP2_CANCEL);
  });

  test('RST_STREAM from the server reaches the client with its code', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const r = await request(s, { ':method': 'GET', ':path': '/rst' }, null);
    assert.equal(r.body.toString(), 'partial');
    assert.equal(r.rstCode, NGHTTP2_ENHANCE_YOUR_CALM);
  });

  test('a grpc-timeout passes through, and when it expires the listener cancels upstream', async () => {
    const s = connect(`http://127.0.0.1:${port}`);
    const path = `/hang?deadline=${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    // a client that never cancels by itself: the listener enforces the deadline
    const r = await request(
      s,
      { ':method': 'POST', ':path': path, 'grpc-timeout': '300m' },
      Buffer.from('x'),
    );
    assert.equal(r.rstCode, NGHTTP2_CANCEL, 'the client stream was cancelled');
    assert.ok(Date.now() - started >= 250, 'not before the deadline');
    const c = await waitFor(() => be.closed.find((x) => x.path === path), {
      what: 'the server to see the stream cancelled',
      timeoutMs: 10_000,
    });
    assert.equal(c.rstCode, NGHTTP2_CANCEL);
    assert.equal(be.seen.get(path)?.['grpc-timeout'], '300m', 'the deadline reached the server');

    // a gRPC request whose server has not answered yet gets DEADLINE_EXCEEDED from the listener
    const path2 = `/silent?deadline=${randomBytes(4).toString('hex')}`;
    const g = await request(
      s,
      { ':method': 'POST', ':path': path2, 'content-type': 'application/grpc', 'grpc-timeout': '200m' },
      Buffer.from('x'),
    );
    assert.equal(g.headers['grpc-status'], '4');
    const c2 = await waitFor(() => be.closed.find((x) => x.path === path2), {
      what: 'the server to see the gRPC stream cancelled',
      timeoutMs: 10_000,
    });
    assert.equal(c2.rstCode, NGHTTP2_CANCEL);
  });

  test('a client that does not read makes nobody buffer without bound (download)', async (t) => {
    const s = connect(`http://127.0.0.1:${port}`);
    const req = s.request({ ':method': 'GET', ':path': '/big' }, { endStream: true });
    req.on('error', () => undefined);
    req.pause();
    await waitForStable(() => be.bigWritten, 'the stalled download to stop taking data');
    t.diagnostic(`stalled download: the server could write ${(be.bigWritten / 1048576).toFixed(2)} MiB`);
    assert.ok(
      be.bigWritten < 8 * 1024 * 1024,
      `a stalled stream took only ${(be.bigWritten / 1048576).toFixed(1)} MiB`,
    );
    // the stalled stream blocks nobody else: not this connection, not the connector's shared session
    const other = await request(s, { ':method': 'POST', ':path': '/echo' }, randomBytes(300_000));
    assert.equal(other.status, 200);
    assert.equal(other.body.length, 300_000);
    // and it still works when the client reads again
    const before = be.bigWritten;
    req.resume();
    await waitFor(() => be.bigWritten > before + 8 * 1024 * 1024, { what: 'the download to resume' });
    req.close(NGHTTP2_CANCEL);
  });

  test('a server that does not read makes nobody buffer without bound (upload)', async (t) => {
    const s = connect(`http://127.0.0.1:${port}`);
    const req = s.request({ ':method': 'POST', ':path': '/stall' });
    req.on('error', () => undefined);
    let sent = 0;
    const chunk = randomBytes(64 * 1024);
    const pump = (): void => {
      while (!req.closed && sent < 256 * 1024 * 1024 && req.write(chunk)) sent += chunk.length;
    };
    req.on('drain', () => {
      sent += chunk.length;
      pump();
    });
    pump();
    await waitForStable(() => sent, 'the stalled upload to stop taking data');
    t.diagnostic(`stalled upload: the client could write ${(sent / 1048576).toFixed(2)} MiB`);
    assert.ok(sent < 8 * 1024 * 1024, `a stalled upload took only ${(sent / 1048576).toFixed(1)} MiB`);
    const other = await request(s, { ':method': 'POST', ':path': '/echo' }, randomBytes(300_000));
    assert.equal(other.status, 200);
    assert.equal(other.body.length, 300_000);
    req.close(NGHTTP2_CANCEL);
  });

  test('streams of one connection are balanced across connectors', async () => {
    const s = connect(`http://127.0.0.1:${poolPort}`);
    const rs = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(s, { ':method': 'POST', ':path': '/echo' }, randomBytes(1000)),
      ),
    );
    const by = new Map<string, number>();
    for (const r of rs)
      by.set(String(r.headers['x-backend']), (by.get(String(r.headers['x-backend'])) ?? 0) + 1);
    assert.ok((by.get('pool-a') ?? 0) > 0 && (by.get('pool-b') ?? 0) > 0, `both backends served: ${[...by]}`);
  });

  test('a connector with several targets skips one that refuses', async () => {
    const s = connect(`http://127.0.0.1:${multiPort}`);
    const rs = await Promise.all(
      Array.from({ length: 10 }, () => request(s, { ':method': 'GET', ':path': '/echo' }, null)),
    );
    for (const r of rs) assert.equal(r.status, 200);
    const c = (await hub.status()).connectors.find((x) => x.name === 'multi');
    assert.equal(c?.healthy, true, 'still healthy: one target answers');
  });

  test('TLS with ALPN h2 on the listener, and TLS from the connector to its target', async () => {
    const s = connect(`https://localhost:${tlsPort}`, { ca: caPem });
    const body = randomBytes(50_000);
    const r = await request(s, { ':method': 'POST', ':path': '/echo' }, body);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body));
    assert.equal((s.socket as unknown as { alpnProtocol?: string }).alpnProtocol, 'h2');

    const s2 = connect(`http://127.0.0.1:${securePort}`);
    const r2 = await request(s2, { ':method': 'POST', ':path': '/echo' }, body);
    assert.equal(r2.headers['x-backend'], 'tls');
    assert.equal(r2.headers['x-scheme'], 'https');
    assert.equal(r2.trailers['x-sha256'], sha256(body));
  });

  test('a TLS listener with clientCa admits clients with a certificate from that CA, and only them', async () => {
    const ok = connect(`https://localhost:${mtlsPort}`, {
      ca: caPem,
      cert: client.certPem,
      key: client.keyPem,
    });
    const r = await request(ok, { ':method': 'POST', ':path': '/echo' }, Buffer.from('with a certificate'));
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'with a certificate');
    // without a certificate the server ends the handshake with an alert (TLS 1.3: right after the client's part)
    const outcome = await new Promise<string>((resolve) => {
      const sock = tls.connect({
        host: '127.0.0.1',
        port: mtlsPort,
        servername: 'localhost',
        ca: caPem,
        ALPNProtocols: ['h2'],
      });
      const timer = setTimeout(() => {
        sock.destroy();
        resolve('still open after 5 s');
      }, 5000);
      sock.on('error', (e) => {
        clearTimeout(timer);
        resolve(e.message);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve('closed');
      });
      sock.resume();
    });
    assert.match(outcome, /certificate required/i);
  });

  test('HTTP/1.1 clients on the TLS listener (no ALPN h2) reach the HTTP/2 target', async () => {
    // curl, forced to HTTP/1.1: request line and headers become HTTP/2 pseudo-headers at the target
    const caFile = join(root.dir, 'h1-ca.pem');
    await writeFile(caFile, caPem);
    const bodyFile = join(root.dir, 'h1-body.bin');
    const body = randomBytes(300_000);
    await writeFile(bodyFile, body);
    const out = join(root.dir, 'h1-out.bin');
    const c = await run(
      'curl',
      [
        '-sS',
        '--http1.1',
        '--cacert',
        caFile,
        '-D',
        '-',
        '-o',
        out,
        '-H',
        'x-request-header: from-curl',
        '--data-binary',
        `@${bodyFile}`,
        `https://localhost:${tlsPort}/echo`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^HTTP\/1\.1 200/);
    assert.match(c.stdout, /x-backend: plain/i);
    assert.match(c.stdout, /x-method: POST/i);
    assert.match(c.stdout, /x-request-header: from-curl/i);
    assert.match(
      c.stdout,
      /\r\n\r\nx-sha256: [0-9a-f]{64}\r\n/,
      "the target's trailers after the chunked body",
    );
    assert.equal((c.stdout.match(/set-cookie: [ab]=[12]/gi) ?? []).length, 2, 'both set-cookie values');
    assert.ok((await readFile(out)).equals(body), 'body echoed byte for byte');
    const seen = be.seen.get('/echo');
    assert.equal(seen?.[':authority'], `localhost:${tlsPort}`, 'Host became :authority');
    assert.equal(seen?.['connection'], undefined, 'hop-by-hop headers stop at the listener');

    // Node's https client (HTTP/1.1 without ALPN): a chunked body with request trailers, response trailers back,
    // several requests over one kept-alive connection
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
    const h1 = (
      path: string,
      payload: Buffer | null,
    ): Promise<{ status: number; body: Buffer; trailers: Record<string, string | undefined> }> =>
      new Promise((resolve, reject) => {
        const req = https.request(
          {
            host: 'localhost',
            port: tlsPort,
            path,
            method: payload ? 'POST' : 'GET',
            agent,
            headers: payload ? { trailer: 'x-client-trailer' } : {},
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), trailers: res.trailers }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        if (payload) {
          req.write(payload.subarray(0, 1000));
          req.write(payload.subarray(1000));
          req.addTrailers({ 'x-client-trailer': 'yes' });
        }
        req.end();
      });
    const payload = randomBytes(100_000);
    const r = await h1('/echo', payload);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(payload));
    assert.equal(r.trailers['x-sha256'], sha256(payload), 'response trailers reach the HTTP/1.1 client');
    assert.equal(r.trailers['x-got-trailer'], 'yes', 'request trailers reach the target');
    const before = (await west.status()).listeners.find((l) => l.name === 'echo-tls')?.stats as Record<
      string,
      number
    >;
    for (let i = 0; i < 5; i++) {
      const g = await h1('/stream', null);
      assert.equal(g.status, 200);
      assert.equal(g.body.toString(), [0, 1, 2, 3, 4].map((n) => `chunk-${n}\n`).join(''));
      assert.equal(g.trailers['x-count'], '5');
    }
    const stats = (await west.status()).listeners.find((l) => l.name === 'echo-tls')?.stats as Record<
      string,
      number
    >;
    assert.equal((stats['http1Requests'] ?? 0) - (before['http1Requests'] ?? 0), 5);
    assert.equal(stats['http1Connections'], 1, 'the five requests shared one kept-alive connection');
    agent.destroy();
  });

  test('a refused target answers 503, logs why and withdraws the connector', async () => {
    const s = connect(`http://127.0.0.1:${nothingPort}`);
    const r = await request(s, { ':method': 'GET', ':path': '/' }, null);
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-caravan-error'], 'CARAVAN_TARGET_REFUSED');
    await hubProc.waitForOutput(/target connection failed .*connector=nothing.*ECONNREFUSED/);
    await waitFor(
      async () => (await hub.status()).connectors.find((c) => c.name === 'nothing')?.healthy === false,
      { what: 'the dead connector to be marked unhealthy' },
    );
    await waitFor(
      async () => (await west.status()).listeners.find((l) => l.name === 'nothing')?.matched === false,
      { what: 'the listener to be unmatched once the connector is withdrawn' },
    );

    // the target comes up: a probe session connects, the connector is advertised again and serves
    const late = await backend('late', undefined, deadPort);
    try {
      await waitFor(
        async () => (await hub.status()).connectors.find((c) => c.name === 'nothing')?.healthy === true,
        { what: 'the connector to be healthy again', timeoutMs: 15_000 },
      );
      await west.seesKey('nothing');
      const ok = await request(s, { ':method': 'GET', ':path': '/echo' }, null);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-backend'], 'late');
    } finally {
      late.server.close();
    }
  });

  test('request metrics are reported per listener and connector', async () => {
    const st = await west.status();
    const l = st.listeners.find((x) => x.name === 'echo');
    assert.ok(l && l.stats, 'listener stats');
    const stats = l.stats as Record<string, number>;
    assert.ok((stats['streams'] ?? 0) >= 10, `streams counted: ${stats['streams']}`);
    assert.ok((stats['status2xx'] ?? 0) >= 5);
    assert.ok((stats['latencyCount'] ?? 0) > 0);
    assert.ok((stats['resets'] ?? 0) >= 1, 'resets counted');
    const hs = await hub.status();
    const c = hs.connectors.find((x) => x.name === 'echo')?.stats as Record<string, number> | undefined;
    assert.ok(c && (c['streams'] ?? 0) >= 10);
    assert.equal(c['sessionsOpened'], 1, 'one session to the target, reused by every stream');
    assert.equal(c['grpcStatus5'], 1, 'grpc-status of a trailers-only response counted');
  });

  test('h2load: 2000 requests over 4 connections all succeed', async () => {
    const r = await run('h2load', ['-n', '2000', '-c', '4', '-m', '10', `http://127.0.0.1:${port}/echo`], {
      timeoutMs: 120_000,
    });
    const m =
      /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
        r.stdout,
      );
    assert.ok(m, `h2load output:\n${r.stdout}\n${r.stderr}`);
    assert.equal(Number(m[4]), 2000, `all succeeded:\n${r.stdout}`);
    assert.match(r.stdout, /status codes: 2000 2xx/);

    const t = await run('h2load', ['-n', '200', '-c', '2', '-m', '5', `https://127.0.0.1:${tlsPort}/echo`], {
      timeoutMs: 60_000,
    });
    assert.match(t.stdout, /200 succeeded/, `h2load over TLS:\n${t.stdout}\n${t.stderr}`);
    assert.match(t.stdout, /Application protocol: h2/);
  });
});

/** Wait until `value()` stops growing for 1.5 s (and is > 0); returns it. */
async function waitForStable(value: () => number, what: string): Promise<number> {
  let last = -1;
  let since = Date.now();
  await waitFor(
    () => {
      const v = value();
      if (v !== last) {
        last = v;
        since = Date.now();
        return false;
      }
      return v > 0 && Date.now() - since > 1500;
    },
    { timeoutMs: 60_000, intervalMs: 100, what },
  );
  return last;
}
