/**
 * `flood.js HOST PORT N`: keeps N connections open to HOST:PORT, each sending junk that is not TLS (or nothing at
 * all), and opens a new one whenever one is closed, until killed. The soak points it at a hub's public link port.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const [host, portText, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
let open = 0;
let opened = 0;
let refused = 0;

function one(): void {
  open++;
  opened++;
  const s = net.connect({ host: host as string, port });
  s.on('connect', () => {
    if (opened % 3 !== 0) s.write(randomBytes(1 + (opened % 2000)));
  });
  s.on('data', () => undefined);
  s.on('error', () => refused++);
  s.on('close', () => {
    open--;
    setTimeout(one, 20);
  });
}

for (let i = 0; i < count; i++) one();
process.stdout.write(`flooding ${host}:${port} with ${count} connections\n`);
setInterval(() => process.stdout.write(`open=${open} opened=${opened} errors=${refused}\n`), 5000);
process.on('SIGTERM', () => process.exit(0));
