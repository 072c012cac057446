/**
 * The soak's traffic: inside a site's namespace, for each routing key the site listens on, `concurrency` loops
 * that run one checked stream (or one HTTP request) after another through the listener. Every outcome is
 * counted; what breaks an invariant (a wrong byte, a clean end with bytes missing, no progress and no error) is
 * printed at once as an anomaly with its times, and every visible failure with its error code. Reads JSON
 * commands on stdin: `probe` (one small stream, answered with its outcome) and `stop`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { AmqpSender } from './amqp.js';
import { UdpExchanger } from './dgram.js';
import { ByteStream, Rng, StreamVerifier } from './prng.js';
import { Verdict, emit, emptyStats, encodeHeader, resetBehindEnd, type KeyStats } from './protocol.js';
import { RpcClient } from './rpc.js';

export type TrafficKind = 'stream' | 'http' | 'grpc' | 'udp' | 'amqp';

export interface ClientTarget {
  key: string;
  kind: TrafficKind;
  port: number;
  concurrency: number;
}

export interface ClientConfig {
  site: string;
  seed: number;
  targets: ClientTarget[];
  /** a stream or request with no progress for this long counts as stalled */
  stallMs: number;
  /** largest stream, each direction (sizes are log-uniform from 1 KiB) */
  maxBytes: number;
}

type Outcome =
  | { ok: true; bytes: number }
  | { ok: false; kind: 'failed'; code: string }
  | { ok: false; kind: 'corrupted' | 'truncated' | 'stalled' | 'verdict'; detail: string };

const CHUNK = 64 * 1024;

/** One checked stream to 127.0.0.1:port; resolves with its outcome, never rejects. */
export function checkedStream(port: number, up: number, down: number, stallMs: number): Promise<Outcome> {
  const id = randomBytes(16).toString('hex');
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const verifier = new StreamVerifier(id, 'down', down);
    const src = new ByteStream(id, 'up');
    let verdict: number | undefined;
    let settled = false;
    let ended = false;
    let connected = false;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      if (!sock.destroyed) sock.destroy();
      resolve(o);
    };
    let progress = Date.now();
    const watch = setInterval(() => {
      if (Date.now() - progress > stallMs)
        done({
          ok: false,
          kind: 'stalled',
          detail: `no progress for ${stallMs} ms (up ${src.offset}/${up}, down ${verifier.received}/${down})`,
        });
    }, 1000);
    const pump = (): void => {
      while (src.offset < up) {
        const ok = sock.write(src.next(Math.min(CHUNK, up - src.offset)), () => (progress = Date.now()));
        if (!ok) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    sock.on('connect', () => {
      connected = true;
      progress = Date.now();
      sock.write(encodeHeader({ id, up, down }));
      pump();
    });
    sock.on('data', (chunk: Buffer) => {
      progress = Date.now();
      if (verdict !== undefined) {
        done({ ok: false, kind: 'corrupted', detail: `${chunk.length} byte(s) after the verdict` });
        return;
      }
      const room = down - verifier.received;
      const body = chunk.subarray(0, room);
      const wrong = verifier.push(body);
      if (wrong >= 0) {
        done({ ok: false, kind: 'corrupted', detail: `down byte ${wrong} of ${down} wrong` });
        return;
      }
      if (chunk.length > room) {
        verdict = chunk[room];
        if (chunk.length > room + 1)
          done({
            ok: false,
            kind: 'corrupted',
            detail: `${chunk.length - room - 1} byte(s) after the verdict`,
          });
      }
    });
    sock.on('end', () => {
      ended = true;
      if (verdict === undefined) {
        const received = verifier.received;
        // a reset that libuv reported as an end is a visible failure, not a truncation
        resetBehindEnd(sock, (code) =>
          done(
            code !== undefined
              ? { ok: false, kind: 'failed', code }
              : {
                  ok: false,
                  kind: 'truncated',
                  detail: `clean end after ${received} of ${down} down bytes, no verdict`,
                },
          ),
        );
      } else if (verdict !== Verdict.OK) {
        done({ ok: false, kind: 'verdict', detail: `server verdict ${verdict}` });
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      done({ ok: false, kind: 'failed', code: `${connected ? '' : 'connect:'}${e.code ?? e.message}` });
    });
    sock.on('close', () => {
      if (ended && verdict === Verdict.OK) done({ ok: true, bytes: up + down });
      else done({ ok: false, kind: 'failed', code: connected ? 'closed' : 'connect:closed' });
    });
  });
}

/** One checked HTTP/1.1 POST through the listener: the body is checked by the server, the answer here. */
export function checkedRequest(port: number, up: number, down: number, stallMs: number): Promise<Outcome> {
  const id = randomBytes(16).toString('hex');
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      resolve(o);
      req.destroy();
    };
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/rr/${id}/${down}`,
      agent: false,
      headers: { 'content-length': String(up) },
    });
    req.setTimeout(stallMs, () =>
      done({ ok: false, kind: 'stalled', detail: `no progress for ${stallMs} ms` }),
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ ok: false, kind: 'failed', code: e.code ?? e.message }),
    );
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        done({ ok: false, kind: 'failed', code: `http-${res.statusCode ?? '?'}` });
        return;
      }
      if (res.headers['content-length'] !== String(down)) {
        res.resume();
        done({
          ok: false,
          kind: 'corrupted',
          detail: `content-length ${res.headers['content-length']} for ${down}`,
        });
        return;
      }
      const verifier = new StreamVerifier(id, 'down', down);
      res.on('data', (chunk: Buffer) => {
        const wrong = verifier.push(chunk);
        if (wrong >= 0)
          done({ ok: false, kind: 'corrupted', detail: `response byte ${wrong} of ${down} wrong` });
      });
      res.on('error', (e: NodeJS.ErrnoException) =>
        done({ ok: false, kind: 'failed', code: e.code ?? e.message }),
      );
      res.on('end', () => {
        if (verifier.complete) done({ ok: true, bytes: up + down });
        else
          done({
            ok: false,
            kind: 'truncated',
            detail: `response ended after ${verifier.received} of ${down} bytes`,
          });
      });
      res.on('close', () => {
        if (!res.complete) done({ ok: false, kind: 'failed', code: 'aborted' });
      });
    });
    const src = new ByteStream(id, 'up');
    const pump = (): void => {
      while (src.offset < up) {
        if (!req.write(src.next(Math.min(CHUNK, up - src.offset)))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the client loops until `stop` arrives on stdin, then prints the last stats and exits. */
export async function runClient(cfg: ClientConfig): Promise<void> {
  const rng = new Rng(cfg.seed);
  const stats = new Map<string, KeyStats>(cfg.targets.map((t) => [t.key, emptyStats()]));
  let stopping = false;
  const flush = (): void => {
    const keys: Record<string, KeyStats> = {};
    for (const [k, s] of stats) {
      keys[k] = { ...s };
      Object.assign(s, emptyStats());
    }
    emit({ ev: 'stats', site: cfg.site, t: Date.now(), keys });
  };
  const ticker = setInterval(flush, 1000);

  const one = (t: ClientTarget, up: number, down: number, stallMs = cfg.stallMs): Promise<Outcome> =>
    t.kind === 'stream'
      ? checkedStream(t.port, up, down, stallMs)
      : checkedRequest(t.port, up, down, stallMs);

  const anomalyOf = (t: ClientTarget, kind: 'corrupted' | 'misdelivered', start: number, detail: string) =>
    emit({
      ev: 'anomaly',
      site: cfg.site,
      side: 'client',
      kind,
      key: t.key,
      id: '',
      start,
      end: Date.now(),
      detail,
    });

  /** gRPC: one channel per loop, one checked unary call after another */
  const rpcLoop = async (t: ClientTarget): Promise<void> => {
    const s = stats.get(t.key) as KeyStats;
    const client = new RpcClient(t.port);
    while (!stopping) {
      const start = Date.now();
      const o = await client.call(rng.logInt(16, 64 * 1024), 15_000);
      if (o.ok) {
        s.ok++;
        s.bytes += o.bytes;
        await delay(rng.range(5, 30));
        continue;
      }
      if (o.kind === 'failed') {
        s.failed++;
        emit({ ev: 'fail', site: cfg.site, key: t.key, start, end: Date.now(), code: o.code });
      } else {
        s.corrupted++;
        anomalyOf(t, 'corrupted', start, o.detail);
      }
      await delay(200);
    }
    client.close();
  };

  /** UDP: one socket per loop, one request at a time, lost ones counted */
  const udpLoop = async (t: ClientTarget): Promise<void> => {
    const s = stats.get(t.key) as KeyStats;
    const ex = new UdpExchanger(t.port, s, (kind, detail) => anomalyOf(t, kind, Date.now(), detail));
    while (!stopping) {
      const ok = await ex.exchange(rng.logInt(16, 1200), 1000);
      await delay(ok ? rng.range(5, 30) : 50);
    }
    ex.close();
  };

  /** AMQP: one sender per loop, one message at a time until accepted */
  const amqpLoop = async (t: ClientTarget): Promise<void> => {
    const s = stats.get(t.key) as KeyStats;
    const sender = await AmqpSender.open(t.port, cfg.site);
    const counts = { attempts: 0, ok: 0, failed: 0 };
    const flushTimer = setInterval(() => sender.flush(), 500);
    while (!stopping) {
      const before = { ...counts };
      await sender.sendOne(
        counts,
        10_000,
        () => stopping,
        async (code, start) => {
          emit({ ev: 'fail', site: cfg.site, key: t.key, start, end: Date.now(), code });
          await delay(200);
        },
      );
      s.ok += counts.ok - before.ok;
      s.failed += counts.failed - before.failed;
      await delay(rng.range(5, 30));
    }
    clearInterval(flushTimer);
    sender.close();
  };

  const loop = async (t: ClientTarget): Promise<void> => {
    if (t.kind === 'grpc') return rpcLoop(t);
    if (t.kind === 'udp') return udpLoop(t);
    if (t.kind === 'amqp') return amqpLoop(t);
    const s = stats.get(t.key) as KeyStats;
    while (!stopping) {
      const max = t.kind === 'stream' ? cfg.maxBytes : Math.min(cfg.maxBytes, 64 * 1024);
      const up = rng.logInt(1024, max);
      const down = rng.logInt(1024, max);
      const start = Date.now();
      const o = await one(t, up, down);
      const end = Date.now();
      if (o.ok) {
        s.ok++;
        s.bytes += o.bytes;
        // requests open a new connection every few ms; streams leave the CPU some room
        await delay(t.kind === 'http' ? rng.range(2, 10) : rng.range(10, 100));
        continue;
      }
      if (o.kind === 'failed') {
        s.failed++;
        emit({ ev: 'fail', site: cfg.site, key: t.key, start, end, code: o.code });
      } else {
        s[o.kind === 'verdict' ? 'corrupted' : o.kind]++;
        emit({
          ev: 'anomaly',
          site: cfg.site,
          side: 'client',
          kind: o.kind,
          key: t.key,
          id: '',
          start,
          end,
          detail: o.detail,
        });
      }
      await delay(200); // a failed path is not hammered
    }
  };
  const loops = cfg.targets.flatMap((t) => Array.from({ length: t.concurrency }, () => loop(t)));

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: { cmd?: string; id?: number; key?: string; timeoutMs?: number };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      return;
    }
    if (cmd.cmd === 'stop') {
      stopping = true;
      rl.close();
      return;
    }
    if (cmd.cmd === 'probe') {
      const t = cfg.targets.find((x) => x.key === cmd.key && (x.kind === 'stream' || x.kind === 'http'));
      const id = cmd.id ?? 0;
      if (!t) {
        emit({ ev: 'probe', id, ok: false, ms: 0, error: `no target ${cmd.key}` });
        return;
      }
      const start = Date.now();
      void one(t, 16 * 1024, 16 * 1024, cmd.timeoutMs ?? 5000).then((o) =>
        emit({
          ev: 'probe',
          id,
          ok: o.ok,
          ms: Date.now() - start,
          ...(o.ok ? {} : { error: o.kind === 'failed' ? o.code : `${o.kind}: ${o.detail}` }),
        }),
      );
    }
  });
  emit({ ev: 'ready', role: 'client' });
  await Promise.all(loops);
  clearInterval(ticker);
  flush();
  emit({ ev: 'stopped', site: cfg.site });
}
