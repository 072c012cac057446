/** The Link kind: the schema of its fields and the rules between them. */
import { DEFAULTS, defaultLinkTls } from '../types.js';
import { endpoint, statusOf, tlsFiles } from './common.js';
import { int, list, obj, str } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';
import { describeValue } from './messages.js';

/** `http://[user[:password]@]host[:port]`, nothing else (the link's own TLS runs through the tunnel). */
function proxyUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `must be a URL like http://proxy.example:3128 (got ${describeValue(v)})`;
  }
  if (u.protocol !== 'http:') return `must be an http:// proxy URL (got ${u.protocol}//)`;
  if (!u.hostname) return 'must name the proxy host';
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    return 'must be http://[user:password@]host[:port] without a path';
  return undefined;
}

export const linkSpec = obj(
  {
    endpoints: list(endpoint('An endpoint of the accepting site.'), {
      description: 'Where to dial, in order of preference; at least one.',
      required: true,
      requiredMessage: 'is required (a list of {host, port})',
      minItems: 1,
      notList: 'must be a list of {host, port}',
      sizeMessage: () => 'must list at least one endpoint',
    }),
    cost: int({
      description: 'Cost of the link in route computation.',
      min: 1,
      max: DEFAULTS.maxCost,
      default: DEFAULTS.linkCost,
    }),
    tls: tlsFiles('Client TLS files of the link.', undefined, {
      ca: '`runtime/links/<name>/ca.crt`',
      cert: '`runtime/links/<name>/client.crt`',
      key: '`runtime/links/<name>/client.key`',
    }),
    proxy: str({
      description:
        'Reach the endpoints through this HTTP proxy (`http://[user:password@]host[:port]`, HTTP CONNECT); the link’s mutual TLS runs end to end through the tunnel. Certificate renewal uses it too.',
      maxLength: 2048,
      check: proxyUrlProblem,
      docType: 'URL',
    }),
  },
  { description: 'A link to another site.', required: true },
);

export const link: KindSchema<'Link'> = {
  kind: 'Link',
  plural: 'links',
  description: 'A link this site dials to another site (usually made by redeeming a token).',
  spec: linkSpec,
  status: statusOf({}),
  columns: [
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoints[0].host' },
    { name: 'Cost', type: 'integer', jsonPath: '.spec.cost' },
    conditionColumn('Ready'),
  ],
  finish(_c, { meta, spec }) {
    const d = defaultLinkTls(meta.name);
    const t = (spec['tls'] ?? {}) as Partial<typeof d>;
    spec['tls'] = { ca: t.ca ?? d.ca, cert: t.cert ?? d.cert, key: t.key ?? d.key };
  },
};
