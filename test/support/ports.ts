import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that is free now, for a test to hand to something that binds it later.
 *
 * Only for a port that must be known before anything binds it: a router process told a listener's port in its
 * resources (a Listener's port is 1-65535, never 0) or its health port in its environment, a grant port written
 * into tokens, a port that must come back across a restart, or a target where nothing listens. What can bind
 * port 0 and report the port it got binds port 0 instead: the test's own servers (`listen(0)`, then
 * `address().port`) and a router's link access (`linkAccess.port: 0`, then `status().router.linkAccess.port`).
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
