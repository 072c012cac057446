// Free loopback TCP ports for servers the benchmark starts (benchmarks only ever use 127.0.0.1).
import net from 'node:net';

export const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `port` (polling), or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect({ port, host: HOST });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${HOST}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once some process listens on `port`, found by failing to bind it (EADDRINUSE) — unlike a probe
 * connection this never reaches the server behind (an iperf3 server would count a bare connection as a test).
 */
export async function waitForListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE'));
      s.listen(port, HOST, () => s.close(() => resolve(false)));
    });
    if (taken) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${HOST}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
