import { API_VERSION, DEFAULTS, DISTRIBUTIONS, SERVICE_TYPES, validateResourceOf } from '../../api/index.js';
import { optString, usageError, type CommandSpec } from '../command.js';
import { contextSite } from '../sites.js';
import { appliedNote, createResource, printResource, printsResource } from './common.js';

export function portArg(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

export const listenerCreate: CommandSpec = {
  name: 'listener create',
  summary: 'expose a routing key at this site on a local host:port',
  synopsis: '<name> <port> [options]',
  description:
    'Clients connect to HOST:PORT at this site; each connection is carried to a connector with the same\n' +
    'routing key anywhere in the network.',
  args: { min: 2, max: 2 },
  options: {
    'routing-key': { type: 'string', value: 'KEY', help: 'routing key (default: the name)' },
    host: { type: 'string', value: 'HOST', help: `address to listen on (default ${DEFAULTS.listenerHost})` },
    type: { type: 'string', value: 'TYPE', help: `${SERVICE_TYPES.join(' | ')} (default tcp)` },
    distribution: { type: 'string', value: 'D', help: `${DISTRIBUTIONS.join(' | ')} (default balanced)` },
  },
  examples: [
    'caravan listener create db 5432',
    'caravan listener create web 8080 --routing-key frontend -o yaml',
  ],
  async run(ctx) {
    const [name, port] = ctx.args as [string, string];
    if (!/^\d+$/.test(port)) throw usageError(`port must be an integer 1-65535 (got '${port}')`);
    const spec: Record<string, unknown> = { port: portArg(port) };
    for (const [opt, field] of [
      ['routing-key', 'routingKey'],
      ['host', 'host'],
      ['type', 'type'],
      ['distribution', 'distribution'],
    ] as const) {
      const v = optString(ctx, opt);
      if (v !== undefined) spec[field] = v;
    }
    const r = validateResourceOf(
      'Listener',
      { apiVersion: API_VERSION, kind: 'Listener', metadata: { name }, spec },
      'listener create',
    );
    if (printsResource(ctx)) return printResource(ctx, r);
    const site = await contextSite(ctx);
    const res = await createResource(ctx, site, r);
    const note = await appliedNote(site);
    ctx.out.emit({ ...res, site: site.name }, () =>
      ctx.out.line(
        `Listener ${name} created: ${r.spec.host}:${r.spec.port} -> routing key ${r.spec.routingKey} (${res.file}); ${note}`,
      ),
    );
  },
};
