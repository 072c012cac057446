import { API_VERSION, DEFAULTS, SERVICE_TYPES, validateResourceOf } from '../../api/index.js';
import { optString, usageError, type CommandSpec } from '../command.js';
import { contextSite } from '../sites.js';
import { appliedNote, createResource, printResource, printsResource } from './common.js';
import { portArg } from './listener-create.js';

export const connectorCreate: CommandSpec = {
  name: 'connector create',
  summary: 'deliver a routing key to a server reachable from this site',
  synopsis: '<name> <port> [options]',
  description: 'Flows for the routing key, from listeners anywhere in the network, go to HOST:PORT.',
  args: { min: 2, max: 2 },
  options: {
    'routing-key': { type: 'string', value: 'KEY', help: 'routing key (default: the name)' },
    host: { type: 'string', value: 'HOST', help: `the server's address (default ${DEFAULTS.connectorHost})` },
    type: { type: 'string', value: 'TYPE', help: `${SERVICE_TYPES.join(' | ')} (default tcp)` },
  },
  examples: [
    'caravan connector create db 5432 --host 10.0.0.7',
    'caravan connector create redis 6379 -o yaml',
  ],
  async run(ctx) {
    const [name, port] = ctx.args as [string, string];
    if (!/^\d+$/.test(port)) throw usageError(`port must be an integer 1-65535 (got '${port}')`);
    const spec: Record<string, unknown> = { port: portArg(port) };
    for (const [opt, field] of [
      ['routing-key', 'routingKey'],
      ['host', 'host'],
      ['type', 'type'],
    ] as const) {
      const v = optString(ctx, opt);
      if (v !== undefined) spec[field] = v;
    }
    const r = validateResourceOf(
      'Connector',
      { apiVersion: API_VERSION, kind: 'Connector', metadata: { name }, spec },
      'connector create',
    );
    if (printsResource(ctx)) return printResource(ctx, r);
    const site = await contextSite(ctx);
    const res = await createResource(ctx, site, r);
    const note = await appliedNote(site);
    ctx.out.emit({ ...res, site: site.name }, () =>
      ctx.out.line(
        `Connector ${name} created: routing key ${r.spec.routingKey} -> ${r.spec.host}:${r.spec.port} (${res.file}); ${note}`,
      ),
    );
  },
};
