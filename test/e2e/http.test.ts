/**
 * The http1 and http2 adapters (and gRPC over http2) across real separate networks (Linux network namespaces):
 *
 *   westapp(10.10.0.2) ── west(10.10.0.1) ══ 100.64.1.0/30 ══ hub ══ 100.64.2.0/30 ══ east(10.10.0.1) ── eastapp(10.10.0.2)
 *   clients + decoys       http1/http2 listeners                           http1/http2 connectors   HTTP/1.1, h2c, gRPC
 *
 * west and east use the SAME private CIDR (10.10.0.0/24) and drop every inbound connection on their uplinks
 * (nftables): they can only dial out to the hub. westapp runs decoy servers with the same address and ports as
 * the real ones at eastapp; every server answers with its identity, so a wrong path would be visible.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NetLab, type Host } from '../support/netns.js';
import { repoRoot, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';

const LINK_PORT = 55671;
const HTTP1_PORT = 8080;
const H2_PORT = 8081;
const GRPC_PORT = 50051;
/** Links are not under test here: generous liveness timers keep a busy 2-core machine from dropping them. */
const TIMERS = { helloIntervalMs: 500, deadIntervalMs: 10_000 };
const UPLOAD_BYTES = 50 * 1024 * 1024;
const STREAM_MESSAGES = 100;

/**
 * HTTP/1.1, h2c and gRPC servers bound to one address, each answering with `identity`. `require('@grpc/grpc-js')`
 * resolves because the process runs with the repository as its working directory. Prints `ready` once all three
 * listen; prints `slow-cancelled:<id>` when a call to Slow is cancelled by the client side.
 */
const SERVERS_JS = `
const http = require('node:http');
const http2 = require('node:http2');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const [host, identity, p1, p2, pg] = process.argv.slice(1);

const h1 = http.createServer((req, res) => {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  req.on('data', (d) => { bytes += d.length; h.update(d); });
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Server', identity);
    res.end(JSON.stringify({
      identity, method: req.method, url: req.url, bytes, sha256: h.digest('hex'),
      te: req.headers['transfer-encoding'] || null, cl: req.headers['content-length'] || null,
      via: req.headers['via'] || null,
    }));
  });
});

const h2 = http2.createServer();
h2.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-server': identity });
    stream.end(JSON.stringify({ identity, path: headers[':path'], method: headers[':method'] }));
  });
});

const same = (b) => b;
const m = (name, responseStream) => ({ path: '/caravan.e2e.Echo/' + name, requestStream: false, responseStream,
  requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same });
const service = { unary: m('Unary', false), serverStream: m('ServerStream', true), slow: m('Slow', false) };
const g = new grpc.Server();
g.addService(service, {
  unary: (call, cb) => cb(null, Buffer.from(identity + ':echo:' + call.request.toString())),
  serverStream: (call) => {
    const n = Number(call.request.toString());
    let i = 0;
    const next = () => {
      while (i < n) {
        const ok = call.write(Buffer.from(identity + ':' + i + ':' + 'x'.repeat(8000)));
        i++;
        if (!ok) return void call.once('drain', next);
      }
      call.end();
    };
    next();
  },
  slow: (call, cb) => {
    const [id, ms] = call.request.toString().split(':');
    const t = setTimeout(() => cb(null, Buffer.from(identity + ':slow:' + id)), Number(ms));
    call.on('cancelled', () => { clearTimeout(t); console.log('slow-cancelled:' + id); });
  },
});

let pending = 3;
const up = () => { if (--pending === 0) console.log('ready ' + identity); };
h1.listen(Number(p1), host, up);
h2.listen(Number(p2), host, up);
g.bindAsync(host + ':' + pg, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) { console.error(err); process.exit(1); }
  up();
});
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * A gRPC client (generic service, Buffer messages): a unary call, a server-streaming call and a call whose deadline
 * is shorter than the server's delay. Prints one JSON line.
 */
const GRPC_CLIENT_JS = `
const grpc = require('@grpc/grpc-js');
const [target, slowId] = process.argv.slice(1);
const same = (b) => b;
const m = (name, responseStream) => ({ path: '/caravan.e2e.Echo/' + name, requestStream: false, responseStream,
  requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same });
const Client = grpc.makeGenericClientConstructor(
  { unary: m('Unary', false), serverStream: m('ServerStream', true), slow: m('Slow', false) }, 'Echo');
const c = new Client(target, grpc.credentials.createInsecure(), { 'grpc.enable_http_proxy': 0 });
const unary = (method, req, deadlineMs) => new Promise((resolve) => {
  const started = Date.now();
  c[method](Buffer.from(req), new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
    resolve(err ? { code: err.code, details: err.details, ms: Date.now() - started }
                : { code: 0, value: res.toString(), ms: Date.now() - started }));
});
(async () => {
  const out = {};
  out.unary = await unary('unary', 'hello', 20000);
  out.stream = await new Promise((resolve) => {
    const call = c.serverStream(Buffer.from('${STREAM_MESSAGES}'), new grpc.Metadata(),
      { deadline: Date.now() + 30000 });
    let count = 0, inOrder = true, identity = null, bytes = 0;
    call.on('data', (d) => {
      const [id, i] = d.toString().split(':');
      identity = identity || id;
      if (Number(i) !== count || id !== identity) inOrder = false;
      count++; bytes += d.length;
    });
    call.on('end', () => resolve({ code: 0, count, inOrder, identity, bytes }));
    call.on('error', (e) => resolve({ code: e.code, details: e.details, count }));
  });
  out.deadline = await unary('slow', slowId + ':5000', 500);
  out.after = await unary('unary', 'again', 20000);
  console.log(JSON.stringify(out));
  c.close();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('http1, http2 and gRPC across real networks: hub, two private sites with the same CIDR', () => {
  let lab: NetLab;
  let root: { dir: string; remove: () => Promise<void> };
  const h: Record<string, Host> = {};
  const s: Record<string, TestSite> = {};
  const servers: Record<string, ManagedProcess> = {};

  /** curl inside westapp; never through a proxy. */
  const curl = (args: string[], timeoutMs = 30_000) =>
    lab.execOk(
      h.westapp!,
      'curl',
      ['-sS', '--noproxy', '*', '--max-time', String(timeoutMs / 1000), ...args],
      {
        timeoutMs: timeoutMs + 10_000,
      },
    );

  before(async () => {
    lab = await NetLab.create('http');
    root = await makeTempRoot('http');
    for (const n of ['hub', 'west', 'east', 'westapp', 'eastapp']) h[n] = await lab.addHost(n);
    const up = await lab.connect(h.hub!, h.west!, '100.64.1.1/30', '100.64.1.2/30', {
      ifNames: ['to-west', 'uplink'],
    });
    const up2 = await lab.connect(h.hub!, h.east!, '100.64.2.1/30', '100.64.2.2/30', {
      ifNames: ['to-east', 'uplink'],
    });
    await lab.connect(h.west!, h.westapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.connect(h.east!, h.eastapp!, '10.10.0.1/24', '10.10.0.2/24', { ifNames: ['lan', 'eth0'] });
    await lab.dropInbound(h.west!, up.bIf);
    await lab.dropInbound(h.east!, up2.bIf);

    // the real servers at eastapp; decoys with the very same address and ports at westapp
    for (const [host, identity] of [
      ['eastapp', 'real-at-east'],
      ['westapp', 'decoy-at-west'],
    ] as const) {
      servers[host] = lab.spawn(
        h[host]!,
        process.execPath,
        ['-e', SERVERS_JS, '10.10.0.2', identity, String(HTTP1_PORT), String(H2_PORT), String(GRPC_PORT)],
        { label: `${host}-servers`, cwd: repoRoot },
      );
    }
    await Promise.all(Object.values(servers).map((p) => p.waitForOutput(/^ready /m, { timeoutMs: 30_000 })));

    s.hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '0.0.0.0', port: LINK_PORT },
      ...TIMERS,
    });
    s.west = await TestSite.create(root.dir, { name: 'west', ...TIMERS });
    s.east = await TestSite.create(root.dir, { name: 'east', ...TIMERS });
    await s.west.linkTo(s.hub, { endpoints: [{ host: '100.64.1.1', port: LINK_PORT }] });
    await s.east.linkTo(s.hub, { endpoints: [{ host: '100.64.2.1', port: LINK_PORT }] });
    for (const [name, type, port] of [
      ['web', 'http1', HTTP1_PORT],
      ['h2', 'http2', H2_PORT],
      ['grpc', 'http2', GRPC_PORT],
    ] as const) {
      await s.east.writeResource('Connector', name, { type, routingKey: name, host: '10.10.0.2', port });
      await s.west.writeResource('Listener', name, { type, routingKey: name, host: '10.10.0.1', port });
    }
    for (const n of ['hub', 'west', 'east']) {
      lab.spawn(h[n]!, process.execPath, s[n]!.routerArgs(), { label: `router-${n}` });
    }
    for (const key of ['web', 'h2', 'grpc']) await s.west.seesKey(key, 1, 60_000);
  });

  after(async () => {
    await lab?.destroy();
    await root?.remove();
  });

  test('the sites are private and share a CIDR: westapp reaches only its decoys directly', async () => {
    const probe = await lab.exec(h.hub!, process.execPath, [
      '-e',
      `const s=require('net').connect(${LINK_PORT},'100.64.1.2');s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),1500)`,
    ]);
    assert.notEqual(probe.code, 0, 'the hub cannot open a connection to west');
    const local = await curl([`http://10.10.0.2:${HTTP1_PORT}/whoami`]);
    assert.equal((JSON.parse(local.stdout) as { identity: string }).identity, 'decoy-at-west');
  });

  test(
    'curl GET and POST through the http1 listener reach the server at east',
    { timeout: 120_000 },
    async () => {
      const get = await curl(['-i', `http://10.10.0.1:${HTTP1_PORT}/hello?x=1`]);
      const [head, body] = get.stdout.split('\r\n\r\n');
      assert.match(head ?? '', /^HTTP\/1\.1 200 /);
      assert.match(head ?? '', /\r\nX-Server: real-at-east/i);
      assert.match(head ?? '', /\r\nVia: 1\.1 caravan/i, 'the response crossed the connector');
      const g = JSON.parse(body ?? '') as {
        identity: string;
        method: string;
        url: string;
        via: string | null;
      };
      assert.deepEqual(
        { identity: g.identity, method: g.method, url: g.url },
        { identity: 'real-at-east', method: 'GET', url: '/hello?x=1' },
      );
      assert.match(g.via ?? '', /1\.1 caravan/, 'the request crossed the listener');

      const payload = `payload-${randomBytes(16).toString('hex')}`;
      const post = await curl(['--data-binary', payload, `http://10.10.0.1:${HTTP1_PORT}/submit`]);
      const p = JSON.parse(post.stdout) as {
        identity: string;
        method: string;
        bytes: number;
        sha256: string;
      };
      assert.equal(p.identity, 'real-at-east');
      assert.equal(p.method, 'POST');
      assert.equal(p.bytes, payload.length);
      assert.equal(p.sha256, sha256(payload), 'the server received exactly the posted body');
    },
  );

  test(
    `a ${UPLOAD_BYTES / 2 ** 20} MiB chunked upload streams through, checked by hash at the server`,
    { timeout: 300_000 },
    async () => {
      const file = join(root.dir, 'upload.bin');
      const hash = createHash('sha256');
      const fh = await open(file, 'w');
      try {
        for (let off = 0; off < UPLOAD_BYTES; off += 1024 * 1024) {
          const chunk = randomBytes(Math.min(1024 * 1024, UPLOAD_BYTES - off));
          hash.update(chunk);
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      const expected = hash.digest('hex');
      const r = await curl(
        [
          '-v',
          '-X',
          'POST',
          '-H',
          'Transfer-Encoding: chunked',
          '-H',
          'Content-Type: application/octet-stream',
          '-T',
          file,
          `http://10.10.0.1:${HTTP1_PORT}/upload`,
        ],
        240_000,
      );
      assert.match(r.stderr, /^> Transfer-Encoding: chunked/im, 'curl sent the body chunked');
      const u = JSON.parse(r.stdout) as {
        identity: string;
        bytes: number;
        sha256: string;
        te: string | null;
        cl: string | null;
      };
      assert.equal(u.identity, 'real-at-east');
      assert.equal(u.bytes, UPLOAD_BYTES);
      assert.equal(u.sha256, expected, 'the server at east received exactly the uploaded bytes');
      assert.equal(u.te, 'chunked', 'the body arrived chunked (its length unknown on the way)');
      assert.equal(u.cl, null);
    },
  );

  test(
    'h2c through the http2 listener: the server at east answers, h2load completes 1000 requests',
    {
      timeout: 180_000,
    },
    async () => {
      const one = await curl(['--http2-prior-knowledge', '-i', `http://10.10.0.1:${H2_PORT}/whoami`]);
      assert.match(one.stdout, /^HTTP\/2 200/);
      const [, body] = one.stdout.split('\r\n\r\n');
      assert.deepEqual(JSON.parse(body ?? ''), { identity: 'real-at-east', path: '/whoami', method: 'GET' });

      const r = await lab.exec(
        h.westapp!,
        'h2load',
        ['-n', '1000', '-c', '4', '-m', '10', `http://10.10.0.1:${H2_PORT}/`],
        { timeoutMs: 150_000 },
      );
      const m =
        /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
          r.stdout,
        );
      assert.ok(m, `h2load output:\n${r.stdout}\n${r.stderr}`);
      assert.equal(Number(m[4]), 1000, `all 1000 succeeded:\n${r.stdout}`);
      assert.equal(Number(m[5]) + Number(m[6]), 0, `none failed or errored:\n${r.stdout}`);
      assert.match(r.stdout, /status codes: 1000 2xx/);
      const st = await s.east!.status();
      const c = st.connectors.find((x) => x.name === 'h2')?.stats as Record<string, number> | undefined;
      assert.ok(
        (c?.['streams'] ?? 0) >= 1001,
        `the connector at east carried the streams: ${c?.['streams']}`,
      );
    },
  );

  test(
    'gRPC through the network: unary, server streaming, and a deadline shorter than the server',
    {
      timeout: 180_000,
    },
    async () => {
      const slowId = `slow-${randomBytes(4).toString('hex')}`;
      const r = await lab.exec(
        h.westapp!,
        process.execPath,
        ['-e', GRPC_CLIENT_JS, `10.10.0.1:${GRPC_PORT}`, slowId],
        { cwd: repoRoot, timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, `grpc client failed:\n${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
        unary: { code: number; value?: string };
        stream: { code: number; count: number; inOrder?: boolean; identity?: string; bytes?: number };
        deadline: { code: number; ms: number; details?: string };
        after: { code: number; value?: string };
      };
      assert.equal(out.unary.code, 0, `unary: ${JSON.stringify(out.unary)}`);
      assert.equal(out.unary.value, 'real-at-east:echo:hello');
      assert.equal(out.stream.code, 0, `server streaming: ${JSON.stringify(out.stream)}`);
      assert.equal(out.stream.count, STREAM_MESSAGES);
      assert.equal(out.stream.inOrder, true, 'messages arrived in order');
      assert.equal(out.stream.identity, 'real-at-east');
      assert.equal(out.deadline.code, 4, `DEADLINE_EXCEEDED expected: ${JSON.stringify(out.deadline)}`);
      assert.ok(
        out.deadline.ms < 4000,
        `the call failed at its deadline, not the server's delay (${out.deadline.ms} ms)`,
      );
      assert.equal(out.after.value, 'real-at-east:echo:again', 'the channel still works after the deadline');
      // the expired call was cancelled upstream, at the real server
      await servers.eastapp!.waitForOutput(new RegExp(`^slow-cancelled:${slowId}$`, 'm'), {
        timeoutMs: 15_000,
      });
      assert.doesNotMatch(servers.westapp!.output, /slow-cancelled/, 'the decoy never saw a call');
      const st = await s.west!.status();
      const l = st.listeners.find((x) => x.name === 'grpc')?.stats as Record<string, number> | undefined;
      assert.ok((l?.['grpcStatus0'] ?? 0) >= 3, `grpc OK counted at the listener: ${l?.['grpcStatus0']}`);
    },
  );
});
