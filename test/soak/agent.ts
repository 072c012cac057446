/**
 * The soak's agent, started inside a site's network namespace: `agent.js serve stream|http HOST PORT SITE KEY`
 * runs a target server, `agent.js client CONFIG_JSON` the traffic of one site. Both print JSON lines (protocol.ts).
 */
import { runClient, type ClientConfig } from './client.js';
import { runServer } from './servers.js';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'serve') {
  const [kind, host, port, site, key] = rest;
  if ((kind !== 'stream' && kind !== 'http') || !host || !port || !site || !key) {
    process.stderr.write('usage: agent.js serve stream|http HOST PORT SITE KEY\n');
    process.exitCode = 2;
  } else {
    runServer(kind, host, Number(port), site, key);
  }
} else if (mode === 'client' && rest[0]) {
  await runClient(JSON.parse(rest[0]) as ClientConfig);
} else {
  process.stderr.write('usage: agent.js serve … | client CONFIG_JSON\n');
  process.exitCode = 2;
}
