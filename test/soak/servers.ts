/**
 * The soak's target servers, run inside a site's namespace behind a connector: a checked-stream server (protocol.ts)
 * and an HTTP/1.1 server whose POST /rr/<id>/<down> checks the request body and answers with `down` keyed bytes.
 * What one of them finds wrong (a corrupted or silently shortened up direction) is printed as an anomaly. On
 * SIGTERM every open connection is reset (not closed) before the process exits, so a restarted target shows up
 * at the clients as resets, never as clean ends.
 */
import http from 'node:http';
import net from 'node:net';
import { ByteStream, StreamVerifier } from './prng.js';
import { HEADER_BYTES, Verdict, decodeHeader, emit, resetBehindEnd } from './protocol.js';

const CHUNK = 64 * 1024;

function anomaly(
  site: string,
  key: string,
  id: string,
  start: number,
  kind: 'corrupted' | 'truncated',
  detail: string,
) {
  emit({ ev: 'anomaly', site, side: 'server', kind, key, id, start, end: Date.now(), detail });
}

/** Writes `n` bytes of `src` to `sock` with backpressure, then calls `done`. */
function pump(sock: net.Socket, src: ByteStream, n: number, done: () => void): void {
  const step = (): void => {
    while (src.offset < n) {
      if (sock.destroyed) return;
      const ok = sock.write(src.next(Math.min(CHUNK, n - src.offset)));
      if (!ok) {
        sock.once('drain', step);
        return;
      }
    }
    done();
  };
  step();
}

function serveStream(sock: net.Socket, site: string, key: string): void {
  const start = Date.now();
  let head = Buffer.alloc(0);
  let verifier: StreamVerifier | undefined;
  let id = '';
  let bad: number = Verdict.OK;
  let downDone = false;
  let upEnded = false;
  const finish = (): void => {
    if (!downDone || !upEnded || sock.destroyed) return;
    sock.end(Buffer.from([bad]));
  };
  sock.on('error', () => undefined);
  sock.on('data', (chunk: Buffer) => {
    if (!verifier) {
      head = Buffer.concat([head, chunk]);
      if (head.length < HEADER_BYTES) return;
      const h = decodeHeader(head);
      if (!h) {
        sock.resetAndDestroy();
        return;
      }
      id = h.id;
      verifier = new StreamVerifier(h.id, 'up', h.up);
      pump(sock, new ByteStream(h.id, 'down'), h.down, () => {
        downDone = true;
        finish();
      });
      chunk = head.subarray(HEADER_BYTES);
    }
    if (bad !== Verdict.OK || chunk.length === 0) return;
    const wrong = verifier.push(chunk);
    if (wrong >= 0) {
      bad = wrong >= verifier.length ? Verdict.UP_LONG : Verdict.UP_CORRUPTED;
      anomaly(site, key, id, start, 'corrupted', `up byte ${wrong} of ${verifier.length} wrong`);
    }
  });
  sock.on('end', () => {
    upEnded = true;
    if (!verifier) {
      sock.end();
      return;
    }
    if (bad === Verdict.OK && !verifier.complete) {
      bad = Verdict.UP_SHORT;
      const v = verifier;
      // a reset that libuv reported as an end is what the router should send: no anomaly
      resetBehindEnd(sock, (code) => {
        if (code === undefined)
          anomaly(site, key, id, start, 'truncated', `clean end after ${v.received} of ${v.length} up bytes`);
        finish();
      });
      return;
    }
    finish();
  });
}

function serveHttp(req: http.IncomingMessage, res: http.ServerResponse, site: string, key: string): void {
  const start = Date.now();
  const m = /^\/rr\/([0-9a-f]{32})\/(\d+)$/.exec(req.url ?? '');
  const len = Number(req.headers['content-length'] ?? -1);
  if (!m || req.method !== 'POST' || !(len >= 0)) {
    res.writeHead(400).end();
    return;
  }
  const id = m[1] as string;
  const down = Number(m[2]);
  const verifier = new StreamVerifier(id, 'up', len);
  let wrong = -1;
  req.on('data', (chunk: Buffer) => {
    if (wrong < 0) wrong = verifier.push(chunk);
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (wrong >= 0 || !verifier.complete) {
      // Node ends a request only after content-length bytes, so a short body here is a wrong count
      anomaly(
        site,
        key,
        id,
        start,
        'corrupted',
        `request body byte ${wrong} of ${len} wrong (${verifier.received} came)`,
      );
      res.writeHead(422).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(down), 'content-type': 'application/octet-stream' });
    const src = new ByteStream(id, 'down');
    const step = (): void => {
      while (src.offset < down) {
        if (!res.write(src.next(Math.min(CHUNK, down - src.offset)))) {
          res.once('drain', step);
          return;
        }
      }
      res.end();
    };
    step();
  });
}

/** Runs a server of `kind` on host:port until SIGTERM; resolves never. */
export function runServer(
  kind: 'stream' | 'http',
  host: string,
  port: number,
  site: string,
  key: string,
): void {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  let server: net.Server;
  if (kind === 'stream') {
    server = net.createServer({ allowHalfOpen: true }, (s) => {
      track(s);
      serveStream(s, site, key);
    });
  } else {
    const h = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => serveHttp(req, res, site, key));
    h.on('connection', track);
    h.on('clientError', (_e, s) => s.destroy());
    server = h;
  }
  server.listen(port, host, () => emit({ ev: 'ready', role: `${kind}-server` }));
  process.on('SIGTERM', () => {
    server.close();
    for (const s of sockets) s.resetAndDestroy();
    setImmediate(() => process.exit(0));
  });
}
