// The node-tls reference path's program: a TLS tunnel written the plainest way in Node (one TLS connection per
// client connection, `pipe` both ways, TCP_NODELAY), what a user would get from thirty lines of net/tls code. It
// shows what the runtime alone costs on each workload, so the bench can tell Caravan's own overhead from Node's.
//   node node-tunnel.js --role client --dir CERTS --map LISTEN:TARGET [--map …]   plain in, TLS out
//   node node-tunnel.js --role server --dir CERTS --map LISTEN:TARGET [--map …]   TLS in, plain out
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { join } from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import { parseArgs } from 'node:util';
import { HOST } from './ports.js';

/** The CN of the server certificate written by writeTunnelCerts(dir, 'node-tls'). */
const SERVER_NAME = 'node-tls-server';

function join2(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

function checkServer(host: string, cert: PeerCertificate): Error | undefined {
  return cert.subject.CN === SERVER_NAME
    ? undefined
    : new Error(`unexpected server ${cert.subject.CN} at ${host}`);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      dir: { type: 'string' },
      map: { type: 'string', multiple: true },
    },
    strict: true,
  });
  const { role, dir } = values;
  if ((role !== 'client' && role !== 'server') || !dir || !values.map?.length) {
    throw new Error('usage: node-tunnel --role client|server --dir CERTS --map LISTEN:TARGET [--map …]');
  }
  const file = (name: string): Buffer => readFileSync(join(dir, name));
  const ca = file('ca.crt');
  const cert = file(`${role}.crt`);
  const key = file(`${role}.key`);
  for (const m of values.map) {
    const [listen, target] = m.split(':').map(Number);
    if (!listen || !target) throw new Error(`--map ${m}: expected LISTEN:TARGET ports`);
    if (role === 'client') {
      const secureContext = tls.createSecureContext({ ca, cert, key });
      net
        .createServer({ noDelay: true }, (c) => {
          const t = tls.connect({
            host: HOST,
            port: target,
            secureContext,
            servername: SERVER_NAME,
            checkServerIdentity: checkServer,
          });
          t.setNoDelay(true);
          join2(c, t);
        })
        .listen(listen, HOST);
    } else {
      tls
        .createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, noDelay: true }, (t) => {
          join2(t, net.connect({ host: HOST, port: target, noDelay: true }));
        })
        .listen(listen, HOST);
    }
  }
  // exit (not die by the signal) so that --cpu-prof writes its profile
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
}

main();
