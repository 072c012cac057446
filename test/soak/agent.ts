/**
 * The soak's agent, started inside a site's network namespace: `agent.js serve stream|http|grpc|udp|amqp HOST PORT SITE KEY`
 * runs a target server (amqp: the receiver, through the site's amqp listener at PORT), `agent.js client CONFIG_JSON` the traffic of one site. Both print JSON lines (protocol.ts).
 */
import { runAmqpReceiver } from './amqp.js';
import { runClient, type ClientConfig } from './client.js';
import { runUdpServer } from './dgram.js';
import { runGrpcServer } from './rpc.js';
import { runServer } from './servers.js';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'serve') {
  const [kind, host, port, site, key] = rest;
  if (!host || !port || !site || !key) {
    process.stderr.write('usage: agent.js serve stream|http|grpc|udp|amqp HOST PORT SITE KEY\n');
    process.exitCode = 2;
  } else if (kind === 'stream' || kind === 'http') {
    runServer(kind, host, Number(port), site, key);
  } else if (kind === 'grpc') {
    runGrpcServer(host, Number(port), site, key);
  } else if (kind === 'udp') {
    runUdpServer(host, Number(port), site, key);
  } else if (kind === 'amqp') {
    await runAmqpReceiver(Number(port), site);
  } else {
    process.stderr.write(`unknown server kind ${kind ?? ''}\n`);
    process.exitCode = 2;
  }
} else if (mode === 'client' && rest[0]) {
  await runClient(JSON.parse(rest[0]) as ClientConfig);
} else {
  process.stderr.write('usage: agent.js serve … | client CONFIG_JSON\n');
  process.exitCode = 2;
}
