/** The Site kind: the schema of its fields and the rules between them. */
import { DEFAULTS, SITE_MODES } from '../types.js';
import type { Obj } from './checker.js';
import { MAX_INT32, host, statusOf, tlsFiles } from './common.js';
import { bool, int, list, obj, oneOf, str } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';

const ROUTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const linkAccess = obj(
  {
    host: host('Address the link listener binds.', DEFAULTS.linkAccessHost),
    port: int({
      description: 'Port of the link listener; 0 picks a free port at router start.',
      min: 0,
      max: 65535,
      default: DEFAULTS.linkAccessPort,
    }),
    grantPort: int({
      description:
        'HTTPS port of the grant server (token redemption, certificate renewal), bound on `host`; 0 picks a free port at router start.',
      min: 0,
      max: 65535,
      default: DEFAULTS.grantPort,
    }),
    hosts: list(host('A host name or address.'), {
      description:
        'Addresses or host names other sites should dial (used in tokens). When absent, tokens use `host` if it is a specific address, else every non-internal IPv4 address of the machine.',
      minItems: 1,
      notList: 'must be a non-empty list of host names or addresses',
    }),
  },
  { description: 'Where this site accepts links (interior sites only).' },
);

export const routing = obj(
  {
    helloIntervalMs: int({
      description: 'Interval between HELLOs on every link, in milliseconds.',
      min: DEFAULTS.minHelloIntervalMs,
      max: MAX_INT32,
      default: DEFAULTS.helloIntervalMs,
    }),
    deadIntervalMs: int({
      description: 'A neighbour is dead after this long without a HELLO; greater than helloIntervalMs.',
      min: 1,
      max: MAX_INT32,
      docDefault: `${DEFAULTS.deadIntervalHellos} × \`helloIntervalMs\``,
    }),
  },
  { description: 'Timers of the routing protocol.', defaulted: true },
);

export const consoleServer = obj(
  {
    host: host('Address the console binds; any non-loopback address requires credentials.', '127.0.0.1'),
    port: int({ description: 'Port of the console; 0 disables it.', min: 0, max: 65535, default: 0 }),
    username: str({ description: 'HTTP Basic user name (with password).' }),
    password: str({ description: 'HTTP Basic password; generated when not given.' }),
    hosts: list(host('A host name the console answers to.'), {
      description:
        'Names the console also answers to (the Host header), besides its own address and the localhost names; any other Host is refused (DNS rebinding).',
      notList: 'must be a list of host names',
    }),
  },
  { description: 'The console HTTP server (web console, /api, /metrics).' },
);

export const limits = obj(
  {
    handshakeTimeoutMs: int({
      description:
        'A connection to a public port (link, grant, console) must finish its handshake (TLS; the console: its first request) within this many milliseconds (default 10,000).',
      min: 100,
      max: 600_000,
    }),
    maxHandshakes: int({
      description: 'Most connections in handshake per public port (default 256).',
      min: 1,
      max: 1_000_000,
    }),
    maxHandshakesPerAddress: int({
      description: 'Most connections in handshake per public port from one source address (default 32).',
      min: 1,
      max: 1_000_000,
    }),
  },
  { description: 'Limits of the public ports against clients that never authenticate.' },
);

const peerLimit = (description: string, min = 1, max = 10_000_000) => int({ description, min, max });

export const peerLimits = obj(
  {
    linkStreams: peerLimit('Most open streams a linked peer may hold on one link (default 10,000).'),
    linkOpenRate: peerLimit('Most streams a linked peer may open per second on one link (default 5,000).'),
    streams: peerLimit('Most open streams from all linked peers together (default 50,000).'),
    openRate: peerLimit('Most streams all linked peers together may open per second (default 20,000).'),
    connectorFlows: peerLimit('Most concurrent flows one connector delivers (default 10,000).'),
    helloTimeoutMs: peerLimit(
      'A link whose peer sends no preface or hello within this many milliseconds is closed (default 10,000; 0 turns it off).',
      0,
      3_600_000,
    ),
  },
  {
    description:
      'Limits on what linked peers can make this router do; defaults a normal network never reaches.',
  },
);

export const siteSpec = obj(
  {
    mode: oneOf(SITE_MODES, {
      description: 'Interior sites route and may accept links; edge sites only dial.',
      default: 'interior',
    }),
    routerId: str({
      description:
        'Ignored (kept for older site directories): the router id is derived from the site identity key (runtime/identity.key) and logged at start.',
      pattern: ROUTER_ID_PATTERN,
      patternHelp: 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    linkAccess,
    routing,
    admin: obj(
      { socket: str({ description: 'Path of the admin socket.', docType: 'path' }) },
      { description: 'The local admin API.' },
    ),
    console: consoleServer,
    limits,
    peerLimits,
    observe: obj(
      {
        flowRecords: int({
          description: 'Flow records kept by the router (ring size, default 10,000).',
          min: 1,
          max: 10_000_000,
        }),
        flowLog: bool({
          description:
            'Also append every finished flow as one JSON line to `logs/flows.log` (rotated at 10 MiB, 3 files kept).',
        }),
      },
      { description: 'Observability.' },
    ),
    tls: tlsFiles(
      'Server TLS files for linkAccess; filled with defaults when linkAccess is set.',
      DEFAULTS.siteTls,
    ),
  },
  { description: 'A site: one router and what it accepts.', defaulted: true },
);

/** The bounds of `status.network`: a Site's status stays small however large the network. */
export const NETWORK_STATUS_LIMITS = { sites: 100, links: 32, services: 64, text: 253 } as const;

const text = (description: string) => str({ description, maxLength: NETWORK_STATUS_LIMITS.text });

const networkStatus = obj(
  {
    updatedAt: str({
      description: 'When the router last changed this summary (RFC 3339).',
      format: 'date-time',
    }),
    sites: list(
      obj(
        {
          site: text('The site name.'),
          router: text('Its router id.'),
          mode: oneOf(SITE_MODES, { description: '`interior` or `edge`.' }),
          reachable: bool({ description: 'Whether this site reaches it.' }),
          self: bool({ description: 'This site.' }),
          platform: text('The platform its router advertises.'),
          listeners: int({ description: 'The listeners it advertises.', min: 0, max: MAX_INT32 }),
          links: list(
            obj(
              {
                site: text('The site at the other end.'),
                router: text('Its router id.'),
                cost: int({ description: 'The link cost.', min: 0, max: MAX_INT32 }),
              },
              { description: 'A link that is up.' },
            ),
            { description: 'Its links that are up.', maxItems: NETWORK_STATUS_LIMITS.links },
          ),
          services: list(
            obj(
              {
                key: text('A routing key.'),
                connectors: int({ description: 'Its connectors there.', min: 0, max: MAX_INT32 }),
              },
              { description: 'A service offered there.' },
            ),
            {
              description: 'The routing keys with connectors there.',
              maxItems: NETWORK_STATUS_LIMITS.services,
            },
          ),
        },
        { description: 'One site of the network.' },
      ),
      { description: 'The sites, this one first.', maxItems: NETWORK_STATUS_LIMITS.sites },
    ),
    omittedSites: int({
      description: 'Sites left out to keep the status small.',
      min: 0,
      max: MAX_INT32,
    }),
  },
  {
    description:
      "Kubernetes sites: the network as this site's router sees it (its link-state database), for `caravan network status --kube`; rewritten only when it changes, at most every few seconds.",
  },
);

export const site: KindSchema<'Site'> = {
  kind: 'Site',
  plural: 'sites',
  description: 'A site of the network: its router, where it accepts links and its timers. One per site.',
  spec: siteSpec,
  status: statusOf({
    routerId: str({ description: 'Kubernetes sites: the router id of the site.' }),
    linkAccess: obj(
      {
        source: str({
          description: 'Where the address comes from: spec, LoadBalancer, NodePort or ClusterIP.',
        }),
        hosts: list(str({ description: 'A host name or address.' }), {
          description: 'Hosts other sites dial.',
        }),
        port: int({ description: 'The link port other sites dial.', min: 1, max: 65535 }),
        grantPort: int({ description: 'The grant port other sites dial.', min: 1, max: 65535 }),
        service: str({ description: 'The link-access Service.' }),
        type: str({ description: 'Its type.' }),
      },
      { description: 'Kubernetes sites: where other sites dial this one, once known.' },
    ),
    network: networkStatus,
  }),
  columns: [{ name: 'Mode', type: 'string', jsonPath: '.spec.mode' }, conditionColumn('Ready')],
  finish(c, { spec, raw }) {
    // a routing that is not a mapping was reported; the timers keep their defaults
    spec['routing'] ??= { helloIntervalMs: DEFAULTS.helloIntervalMs };
    const r = spec['routing'] as { helloIntervalMs: number; deadIntervalMs?: number };
    const deadDefault = r.helloIntervalMs * DEFAULTS.deadIntervalHellos;
    if (r.deadIntervalMs === undefined) r.deadIntervalMs = deadDefault;
    else if (r.deadIntervalMs <= r.helloIntervalMs) {
      c.add(
        'spec.routing.deadIntervalMs',
        `must be greater than helloIntervalMs (${r.helloIntervalMs}) (got ${r.deadIntervalMs})`,
      );
      r.deadIntervalMs = deadDefault;
    }
    const la = spec['linkAccess'] as { port: number; grantPort: number } | undefined;
    if (raw['linkAccess'] != null && spec['mode'] === 'edge')
      c.add(
        'spec.linkAccess',
        'only interior sites accept links; remove linkAccess or set spec.mode to interior',
      );
    if (la && la.port !== 0 && la.port === la.grantPort)
      c.add('spec.linkAccess.grantPort', `must differ from spec.linkAccess.port (both ${la.port})`);
    const con = spec['console'] as Obj | undefined;
    if (con && con['username'] !== undefined && con['password'] === undefined)
      c.add('spec.console.password', 'is required when spec.console.username is set');
    if (la && spec['tls'] === undefined) spec['tls'] = { ...DEFAULTS.siteTls };
  },
};
