import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that is free now, for a test to hand to something that binds it later.
 *
 * Ports come from 20000–32767, below Linux's ephemeral range (32768–60999): a router that binds port 0 (a grant
 * server, a link acceptor) or a client's outgoing connection can never be handed a port a test reserved here
 * and has not bound yet. Ports handed out are not handed out again by this process.
 */
const handedOut = new Set<number>();
const LOW = 20000;
const HIGH = 32767;

function tryBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    if (await tryBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${LOW}-${HIGH}`);
}
