/**
 * gRPC through the network: a real @grpc/grpc-js client and server with two router processes between them (http2
 * listener at one site, http2 connector at the other). Generic service definitions with Buffer messages (no
 * proto files): unary, server streaming, client streaming, bidirectional streaming, cancellation, deadlines,
 * error statuses with trailing metadata, UNAVAILABLE when the target is down, and gRPC over a TLS listener.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { createCa, issueCertificate } from '../../src/site/certs/index.js';
import { freePort } from '../support/ports.js';

/** Links are not under test here: generous liveness timers keep a busy shared machine from dropping them. */
const TIMERS = { helloIntervalMs: 500, deadIntervalMs: 5000 };

const same = (b: Buffer): Buffer => b;
function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/caravan.test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  };
}

const service = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
  slow: method('Slow', false, false),
  fail: method('Fail', false, false),
} satisfies grpc.ServiceDefinition;

type Unary = (
  req: Buffer,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
) => grpc.ClientUnaryCall;
interface EchoClient extends grpc.Client {
  unary: Unary;
  slow: Unary;
  fail: Unary;
  serverStream(req: Buffer): grpc.ClientReadableStream<Buffer>;
  clientStream(cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientWritableStream<Buffer>;
  bidi(): grpc.ClientDuplexStream<Buffer, Buffer>;
}
const EchoClientCtor = grpc.makeGenericClientConstructor(service, 'Echo') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => EchoClient;

/** What the server saw of calls to Slow, by request id. */
const slowCalls = new Map<string, { cancelled: boolean }>();

const implementation: grpc.UntypedServiceImplementation = {
  unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    const md = new grpc.Metadata();
    md.set('x-trailer', 'ok');
    md.set('x-got-header', String(call.metadata.get('x-header')[0] ?? 'none'));
    cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), md);
  },
  serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    const n = Number(call.request.toString());
    let i = 0;
    const next = (): void => {
      while (i < n) {
        const ok = call.write(Buffer.alloc(32 * 1024, i % 256));
        i++;
        if (!ok) {
          call.once('drain', next);
          return;
        }
      }
      call.end();
    };
    next();
  },
  clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    let count = 0;
    let bytes = 0;
    call.on('data', (d: Buffer) => {
      count++;
      bytes += d.length;
    });
    call.on('end', () => cb(null, Buffer.from(`${count}:${bytes}`)));
  },
  bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (d: Buffer) => call.write(Buffer.from(d.toString().toUpperCase())));
    call.on('end', () => call.end());
  },
  slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
    const rec = { cancelled: false };
    slowCalls.set(call.request.toString(), rec);
    call.on('cancelled', () => (rec.cancelled = true));
    // never answers
  },
  fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    const md = new grpc.Metadata();
    md.set('x-reason', 'because');
    cb({ code: grpc.status.NOT_FOUND, details: 'no such thing', metadata: md });
  },
};

function unary(
  c: EchoClient,
  m: 'unary' | 'slow' | 'fail',
  req: Buffer,
  opts: grpc.CallOptions = {},
  md = new grpc.Metadata(),
) {
  return new Promise<{ err: grpc.ServiceError | null; res?: Buffer; status?: grpc.StatusObject }>(
    (resolve) => {
      let out: { err: grpc.ServiceError | null; res?: Buffer } | undefined;
      let status: grpc.StatusObject | undefined;
      const done = (): void => {
        if (out && status) resolve({ ...out, status });
      };
      const call = c[m](req, md, opts, (err, res) => {
        out = res ? { err, res } : { err };
        done();
      });
      call.on('status', (s: grpc.StatusObject) => {
        status = s;
        done();
      });
    },
  );
}

describe('gRPC through two routers', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let west: TestSite;
  let server: grpc.Server;
  let port: number;
  let tlsPort: number;
  let downPort: number;
  let caPem: string;
  const clients: grpc.Client[] = [];
  const client = (p: number, creds = grpc.credentials.createInsecure(), opts: grpc.ChannelOptions = {}) => {
    const c = new EchoClientCtor(`127.0.0.1:${p}`, creds, opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    root = await makeTempRoot('grpc');
    server = new grpc.Server();
    server.addService(service, implementation);
    const backendPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const ca = await createCa({ commonName: 'grpc test CA' });
    caPem = ca.certPem;
    const leaf = await issueCertificate(ca, {
      commonName: 'localhost',
      usage: 'server',
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
    });

    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: 0 },
      ...TIMERS,
    });
    await hub.writeResource('Connector', 'echo', { type: 'http2', host: '127.0.0.1', port: backendPort });
    await hub.writeResource('Connector', 'down', {
      type: 'http2',
      host: '127.0.0.1',
      port: await freePort(),
    });
    hub.start();
    const hs = await hub.ready();
    const linkPort = hs.router.linkAccess?.port;
    assert.ok(linkPort);

    west = await TestSite.create(root.dir, { name: 'west', ...TIMERS });
    await west.linkTo(hub, { endpoints: [{ host: '127.0.0.1', port: linkPort }] });
    await mkdir(join(west.dir, 'certs'), { recursive: true });
    await writeFile(join(west.dir, 'certs', 'grpc.crt'), leaf.certPem);
    await writeFile(join(west.dir, 'certs', 'grpc.key'), leaf.keyPem, { mode: 0o600 });
    [port, tlsPort, downPort] = await Promise.all([freePort(), freePort(), freePort()]);
    await west.writeResource('Listener', 'echo', { type: 'http2', host: '127.0.0.1', port });
    await west.writeResource('Listener', 'echo-tls', {
      type: 'http2',
      host: '127.0.0.1',
      port: tlsPort,
      routingKey: 'echo',
      tls: { cert: 'certs/grpc.crt', key: 'certs/grpc.key' },
    });
    await west.writeResource('Listener', 'down', { type: 'http2', host: '127.0.0.1', port: downPort });
    west.start();
    await west.ready();
    await west.seesKey('echo');
  });

  after(async () => {
    for (const c of clients) c.close();
    server?.forceShutdown();
    await stopAllProcesses();
    await root?.remove();
  });

  test('unary: request, response, request metadata and trailing metadata', async () => {
    const c = client(port);
    const md = new grpc.Metadata();
    md.set('x-header', 'hi');
    const r = await unary(c, 'unary', Buffer.from('ping'), {}, md);
    assert.equal(r.err, null);
    assert.equal(r.res?.toString(), 'echo:ping');
    assert.equal(r.status?.code, grpc.status.OK);
    assert.deepEqual(r.status?.metadata.get('x-trailer'), ['ok']);
    assert.deepEqual(r.status?.metadata.get('x-got-header'), ['hi'], 'request metadata reached the server');

    // many concurrent calls on one channel (one HTTP/2 connection, one flow per call)
    const calls = await Promise.all(
      Array.from({ length: 50 }, (_, i) => unary(c, 'unary', Buffer.from(`m${i}`))),
    );
    calls.forEach((x, i) => assert.equal(x.res?.toString(), `echo:m${i}`));
  });

  test('server streaming: many messages in order, with flow control', async () => {
    const c = client(port);
    const call = c.serverStream(Buffer.from('300'));
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      call.on('data', (d: Buffer) => got.push(d));
      call.on('end', () => resolve());
      call.on('error', reject);
    });
    assert.equal(got.length, 300);
    got.forEach((d, i) => {
      assert.equal(d.length, 32 * 1024);
      assert.equal(d[0], i % 256);
    });
  });

  test('client streaming: the server sees every message', async () => {
    const c = client(port);
    const res = await new Promise<string>((resolve, reject) => {
      const call = c.clientStream((e, r) => (e ? reject(e) : resolve(String(r))));
      for (let i = 0; i < 200; i++) call.write(randomBytes(1000));
      call.end();
    });
    assert.equal(res, '200:200000');
  });

  test('bidirectional streaming: answers interleave with requests', async () => {
    const c = client(port);
    const call = c.bidi();
    const next = (): Promise<string> =>
      new Promise((resolve) => call.once('data', (d: Buffer) => resolve(d.toString())));
    for (const w of ['one', 'two', 'three']) {
      const p = next();
      call.write(Buffer.from(w));
      assert.equal(await p, w.toUpperCase());
    }
    const ended = new Promise<void>((resolve) => call.on('end', () => resolve()));
    call.on('data', () => undefined);
    call.end();
    await ended;
  });

  test('a cancelled call is cancelled at the server', async () => {
    const c = client(port);
    const id = `cancel-${randomBytes(4).toString('hex')}`;
    let err: grpc.ServiceError | null = null;
    const call = c.slow(Buffer.from(id), new grpc.Metadata(), {}, (e) => (err = e));
    await waitFor(() => slowCalls.get(id), { what: 'the server to receive the call', timeoutMs: 10_000 });
    call.cancel();
    await waitFor(() => slowCalls.get(id)?.cancelled, {
      what: 'the server to see the cancellation',
      timeoutMs: 10_000,
    });
    await waitFor(() => err, { what: 'the client call to fail' });
    assert.equal((err as grpc.ServiceError | null)?.code, grpc.status.CANCELLED);
  });

  test('a deadline exceeded at the client cancels the call upstream', async () => {
    const c = client(port);
    const id = `deadline-${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    const r = await unary(c, 'slow', Buffer.from(id), { deadline: Date.now() + 500 });
    assert.equal(r.err?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 5000);
    await waitFor(() => slowCalls.get(id)?.cancelled, {
      what: 'the server call to be cancelled',
      timeoutMs: 10_000,
    });
  });

  test('an error status crosses with its message and trailing metadata', async () => {
    const c = client(port);
    const r = await unary(c, 'fail', Buffer.from('x'));
    assert.equal(r.err?.code, grpc.status.NOT_FOUND);
    assert.equal(r.err?.details, 'no such thing');
    assert.deepEqual(r.err?.metadata.get('x-reason'), ['because']);
  });

  test('a target that is down answers UNAVAILABLE', async () => {
    const c = client(downPort);
    const r = await unary(c, 'unary', Buffer.from('x'), { deadline: Date.now() + 10_000 });
    assert.equal(r.err?.code, grpc.status.UNAVAILABLE, `got ${r.err?.code}: ${r.err?.details}`);
  });

  test('gRPC over a TLS listener (ALPN h2)', async () => {
    const c = client(tlsPort, grpc.credentials.createSsl(Buffer.from(caPem)), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const r = await unary(c, 'unary', Buffer.from('secure'));
    assert.equal(r.err, null);
    assert.equal(r.res?.toString(), 'echo:secure');
  });

  test('grpc-status counts and latency are in the listener metrics', async () => {
    const st = await west.status();
    const s = st.listeners.find((l) => l.name === 'echo')?.stats as Record<string, number>;
    assert.ok((s['grpcStatus0'] ?? 0) >= 50, `grpc OK counted: ${s['grpcStatus0']}`);
    assert.ok((s['grpcStatus5'] ?? 0) >= 1, 'NOT_FOUND counted');
    assert.ok((s['latencyCount'] ?? 0) >= 50);
    assert.ok((s['resets'] ?? 0) >= 1, 'cancellations counted');
  });
});
