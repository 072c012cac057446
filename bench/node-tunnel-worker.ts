// The node-tls-worker reference path's program: the node-tls tunnel (node-tunnel.ts) with every TLS socket in a
// worker thread, so encryption and the TLS sockets' system calls run on a second core while the main thread
// keeps the plain sockets. It measures what a data path split over two threads gains or loses on each workload
// before a router is built that way (docs/adr/0008-data-threads.md). Bytes cross between the threads as
// transferred ArrayBuffers, the messages of one event-loop turn in one batch, with a byte budget per connection
// and direction, returned as the far side writes.
//   node node-tunnel-worker.js --role client|server --dir CERTS --map LISTEN:TARGET [--map …]
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { join } from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { HOST } from './ports.js';

const SERVER_NAME = 'node-tls-server';
/** bytes a side may have handed to the other thread and not yet seen written */
const BUDGET = 256 * 1024;

type Msg =
  | { t: 'open'; id: number; port: number }
  | { t: 'data'; id: number; buf: ArrayBuffer }
  | { t: 'ack'; id: number; n: number }
  | { t: 'end'; id: number }
  | { t: 'close'; id: number };

interface Conf {
  role: 'client' | 'server';
  dir: string;
  maps: Array<[number, number]>;
}

/** One thread's ends of the tunnel's connections, joined by id to the other thread's. */
class Bridge {
  private readonly conns = new Map<number, { s: Socket; unacked: number }>();
  /** messages of this event-loop turn, posted together: one wake-up of the other thread per turn, not per chunk */
  private out: Msg[] = [];
  private transfer: ArrayBuffer[] = [];
  private readonly flush = (): void => {
    const batch = this.out;
    const transfer = this.transfer;
    this.out = [];
    this.transfer = [];
    this.port.postMessage(batch, transfer);
  };

  constructor(private readonly port: MessagePort | Worker) {
    port.on('message', (batch: Msg[]) => {
      for (const m of batch) this.onMessage(m);
    });
  }

  post(m: Msg, buf?: ArrayBuffer): void {
    if (this.out.length === 0) setImmediate(this.flush);
    this.out.push(m);
    if (buf) this.transfer.push(buf);
  }

  /** Joins `s` to connection `id` of the other thread. */
  attach(id: number, s: Socket): void {
    const c = { s, unacked: 0 };
    this.conns.set(id, c);
    s.on('data', (chunk: Buffer) => {
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      // a socket's read buffer is its own ArrayBuffer (transferred); a slice of a shared one is copied
      const buf = (
        whole ? chunk.buffer : chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength)
      ) as ArrayBuffer;
      this.post({ t: 'data', id, buf }, buf);
      c.unacked += chunk.byteLength;
      if (c.unacked >= BUDGET) s.pause();
    });
    s.on('end', () => this.post({ t: 'end', id }));
    s.on('error', () => s.destroy());
    s.on('close', () => {
      if (this.conns.delete(id)) this.post({ t: 'close', id });
    });
  }

  onOpen: (id: number, port: number) => void = () => undefined;

  private onMessage(m: Msg): void {
    if (m.t === 'open') return this.onOpen(m.id, m.port);
    const c = this.conns.get(m.id);
    if (c === undefined) return;
    switch (m.t) {
      case 'data': {
        const n = m.buf.byteLength;
        c.s.write(Buffer.from(m.buf), () => this.post({ t: 'ack', id: m.id, n }));
        return;
      }
      case 'ack':
        c.unacked -= m.n;
        if (c.unacked < BUDGET && c.s.isPaused()) c.s.resume();
        return;
      case 'end':
        c.s.end();
        return;
      case 'close':
        this.conns.delete(m.id);
        c.s.destroy();
        return;
    }
  }
}

function checkServer(host: string, cert: PeerCertificate): Error | undefined {
  return cert.subject.CN === SERVER_NAME
    ? undefined
    : new Error(`unexpected server ${cert.subject.CN} at ${host}`);
}

/** The worker thread: every TLS socket of the process. */
function tlsThread(conf: Conf, port: MessagePort): void {
  const bridge = new Bridge(port);
  const file = (name: string): Buffer => readFileSync(join(conf.dir, name));
  const ca = file('ca.crt');
  const cert = file(`${conf.role}.crt`);
  const key = file(`${conf.role}.key`);
  if (conf.role === 'client') {
    const secureContext = tls.createSecureContext({ ca, cert, key });
    bridge.onOpen = (id, target) => {
      const t = tls.connect({
        host: HOST,
        port: target,
        secureContext,
        servername: SERVER_NAME,
        checkServerIdentity: checkServer,
      });
      t.setNoDelay(true);
      bridge.attach(id, t);
    };
    return;
  }
  let next = 0;
  for (const [listen, target] of conf.maps) {
    tls
      .createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, noDelay: true }, (t) => {
        const id = ++next;
        bridge.attach(id, t);
        bridge.post({ t: 'open', id, port: target });
      })
      .listen(listen, HOST);
  }
}

/** The main thread: the plain sockets. */
function plainThread(conf: Conf): void {
  const worker = new Worker(new URL(import.meta.url), { workerData: conf });
  worker.on('error', (e) => {
    process.stderr.write(`tls thread failed: ${String(e)}\n`);
    process.exit(1);
  });
  const bridge = new Bridge(worker);
  if (conf.role === 'client') {
    let next = 0;
    for (const [listen, target] of conf.maps) {
      net
        .createServer({ noDelay: true }, (c) => {
          const id = ++next;
          bridge.attach(id, c);
          bridge.post({ t: 'open', id, port: target });
        })
        .listen(listen, HOST);
    }
  } else {
    bridge.onOpen = (id, target) =>
      bridge.attach(id, net.connect({ host: HOST, port: target, noDelay: true }));
  }
  // exit (not die by the signal) so that --cpu-prof writes its profile
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
}

function parseConf(): Conf {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, dir: { type: 'string' }, map: { type: 'string', multiple: true } },
    strict: true,
  });
  const { role, dir } = values;
  if ((role !== 'client' && role !== 'server') || !dir || !values.map?.length) {
    throw new Error(
      'usage: node-tunnel-worker --role client|server --dir CERTS --map LISTEN:TARGET [--map …]',
    );
  }
  const maps = values.map.map((m): [number, number] => {
    const [listen, target] = m.split(':').map(Number);
    if (!listen || !target) throw new Error(`--map ${m}: expected LISTEN:TARGET ports`);
    return [listen, target];
  });
  return { role, dir, maps };
}

if (isMainThread) plainThread(parseConf());
else tlsThread(workerData as Conf, parentPort as MessagePort);
