import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import {
  API_VERSION,
  ResourceError,
  checkResource,
  formatDuration,
  parseDuration,
  parseResources,
  resourcesToYaml,
  toYaml,
  tryParseDuration,
  validateResource,
  validateResourceOf,
  listenerKeys,
  listenerRoutingKeys,
  type ConnectorResource,
  type ListenerResource,
  type ResourceIssue,
  type SiteResource,
} from '../../src/api/index.js';

const head = (kind: string, name: string): string =>
  `apiVersion: ${API_VERSION}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;

/** Runs fn, expects a ResourceError and returns it. */
function rejects(fn: () => unknown): ResourceError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ResourceError, `expected ResourceError, got ${String(e)}`);
    assert.ok(isCaravanError(e, ErrorCodes.INVALID_RESOURCE));
    assert.equal(e.code, ErrorCodes.INVALID_RESOURCE);
    return e;
  }
  assert.fail('expected an error');
}

function issue(e: ResourceError, path: string): ResourceIssue {
  const found = e.issues.find((i) => i.path === path);
  assert.ok(found, `no issue at ${path}; issues: ${JSON.stringify(e.issues)}`);
  return found;
}

/** Each case (a spec fragment, the field, the message) is refused with that message at that field. */
function expectIssues(parse: (spec: string) => unknown, cases: Array<[string, string, RegExp]>): void {
  for (const [spec, path, message] of cases)
    assert.match(
      issue(
        rejects(() => parse(spec)),
        path,
      ).message,
      message,
    );
}

test('Listener: defaults applied; the example error message', () => {
  const [l] = parseResources(`${head('Listener', 'db')}spec:\n  port: 5432\n`, 'resources/db.yaml');
  assert.deepEqual(l, {
    apiVersion: API_VERSION,
    kind: 'Listener',
    metadata: { name: 'db' },
    spec: { routingKey: 'db', host: '0.0.0.0', port: 5432, type: 'tcp', distribution: 'balanced' },
  });
  const e = rejects(() =>
    parseResources(`${head('Listener', 'db')}spec:\n  port: abc\n`, 'resources/db.yaml'),
  );
  assert.equal(
    e.message,
    'resources/db.yaml: Listener "db": spec.port: must be an integer 1-65535 (got "abc")',
  );
  assert.equal(e.issues.length, 1);
  assert.deepEqual(e.issues[0], {
    path: 'spec.port',
    message: 'must be an integer 1-65535 (got "abc")',
    source: 'resources/db.yaml',
    resource: 'Listener "db"',
    line: 6,
  });
});

test('Listener: every error of a document is collected, each naming its field', () => {
  const e = rejects(() =>
    validateResource(
      {
        apiVersion: API_VERSION,
        kind: 'Listener',
        metadata: { name: 'db' },
        spec: { port: 70000, host: 'a b', type: 'http', distribution: 'random', routingKey: 'db:5432' },
      },
      'stdin',
    ),
  );
  assert.equal(e.issues.length, 5);
  assert.match(issue(e, 'spec.port').message, /1-65535 \(got 70000\)/);
  assert.match(issue(e, 'spec.host').message, /host name or IP/);
  assert.match(issue(e, 'spec.type').message, /must be one of: tcp, http1, http2, udp, amqp \(got "http"\)/);
  assert.match(issue(e, 'spec.distribution').message, /balanced, closest/);
  assert.match(issue(e, 'spec.routingKey').message, /routing key/);
  for (const line of e.message.split('\n')) assert.match(line, /^stdin: Listener "db": spec\.\w+: /);
  const missing = rejects(() =>
    validateResource({ apiVersion: API_VERSION, kind: 'Listener', metadata: { name: 'x' }, spec: {} }, 's'),
  );
  assert.equal(missing.message, 's: Listener "x": spec.port: is required');
});

test('Listener: earlyData is a tcp-only boolean', () => {
  const [l] = parseResources(`${head('Listener', 'db')}spec:\n  port: 5432\n  earlyData: true\n`, 'f.yaml');
  assert.equal((l as { spec: { earlyData?: boolean } }).spec.earlyData, true);
  const http = rejects(() =>
    parseResources(
      `${head('Listener', 'web')}spec:\n  port: 80\n  type: http1\n  earlyData: true\n`,
      'f.yaml',
    ),
  );
  assert.match(issue(http, 'spec.earlyData').message, /applies only to type tcp \(this one is http1\)/);
  const notBool = rejects(() =>
    parseResources(`${head('Listener', 'db')}spec:\n  port: 5432\n  earlyData: "yes"\n`, 'f.yaml'),
  );
  assert.match(issue(notBool, 'spec.earlyData').message, /must be true or false \(got "yes"\)/);
  const onConnector = rejects(() =>
    parseResources(`${head('Connector', 'db')}spec:\n  port: 5432\n  earlyData: true\n`, 'f.yaml'),
  );
  assert.ok(
    onConnector.issues.some((i) => i.path.startsWith('spec')),
    JSON.stringify(onConnector.issues),
  );
});

test('Listener: priority and weighted routing keys', () => {
  const parse = (spec: string) =>
    parseResources(`${head('Listener', 'db')}spec:\n  port: 5432\n${spec}`, 'f.yaml');
  const [p] = parse('  priority: [db-east, db-west]\n');
  assert.deepEqual((p as ListenerResource).spec.priority, ['db-east', 'db-west']);
  assert.equal((p as ListenerResource).spec.routingKey, 'db-east', 'the routing key is the first key');
  const [w] = parse('  weighted: {api-v1: 9, api-v2: 1}\n');
  assert.deepEqual((w as ListenerResource).spec.weighted, { 'api-v1': 9, 'api-v2': 1 });
  assert.deepEqual(listenerRoutingKeys((w as ListenerResource).spec), ['api-v1', 'api-v2']);
  assert.deepEqual(listenerKeys((w as ListenerResource).spec), {
    strategy: 'weighted',
    keys: [
      { routingKey: 'api-v1', weight: 9 },
      { routingKey: 'api-v2', weight: 1 },
    ],
  });
  // what toYaml writes reads back the same (the routing key equals the first key)
  assert.deepEqual(parseResources(toYaml(p as ListenerResource), 'again.yaml'), [p]);
  assert.deepEqual(listenerRoutingKeys({ routingKey: 'db' }), ['db']);

  const cases: Array<[string, string, RegExp]> = [
    [
      '  priority: [a]\n',
      'spec.priority',
      /must name 2-16 routing keys \(got 1\); with one key, use routingKey/,
    ],
    ['  priority: [a, a]\n', 'spec.priority', /names routing key 'a' twice/],
    ['  priority: [a, "x:80"]\n', 'spec.priority[1]', /must be a routing key/],
    ['  priority: a\n', 'spec.priority', /must be a list of routing keys/],
    ['  weighted: {a: 0, b: 1}\n', 'spec.weighted.a', /must be a weight, an integer 1-1000 \(got 0\)/],
    ['  weighted: {a: 1.5, b: 1}\n', 'spec.weighted.a', /integer 1-1000/],
    ['  weighted: [a, b]\n', 'spec.weighted', /must map routing keys to weights/],
    [
      '  priority: [a, b]\n  weighted: {a: 1, b: 1}\n',
      'spec.weighted',
      /either priority or weighted, not both/,
    ],
    ['  priority: [a, b]\n  routingKey: c\n', 'spec.routingKey', /leave it out with priority.*'a'/],
    [
      '  priority: [a, b]\n  type: udp\n',
      'spec.priority',
      /applies only to types tcp, http1 and http2 \(this one is udp\)/,
    ],
    ['  priority: [a, b]\n  earlyData: true\n', 'spec.earlyData', /only to a listener with one routing key/],
    [
      '  weighted: {a: 1, b: 2}\n  affinity: client\n',
      'spec.affinity',
      /only to a listener with one routing key/,
    ],
  ];
  expectIssues(parse, cases);
  const many = Array.from({ length: 17 }, (_, i) => `k${i}`).join(', ');
  assert.match(
    issue(
      rejects(() => parse(`  priority: [${many}]\n`)),
      'spec.priority',
    ).message,
    /2-16.*got 17/,
  );
});

test('Listener: type amqp with multicast prefixes under its routing key; Connector: type amqp with a broker address', () => {
  const [l] = parseResources(
    `${head('Listener', 'bus')}spec:\n  port: 5672\n  type: amqp\n  multicast: [bus.events., bus/fanout]\n`,
    'f.yaml',
  );
  assert.deepEqual((l as ListenerResource).spec.multicast, ['bus.events.', 'bus/fanout']);
  assert.equal((l as ListenerResource).spec.routingKey, 'bus');
  assert.deepEqual(parseResources(toYaml(l as ListenerResource), 'again.yaml'), [l]);
  const parse = (spec: string) =>
    parseResources(`${head('Listener', 'bus')}spec:\n  port: 5672\n${spec}`, 'f.yaml');
  const cases: Array<[string, string, RegExp]> = [
    ['  type: amqp\n  multicast: [other.]\n', 'spec.multicast[0]', /must lie under the routing key: 'bus'/],
    ['  type: amqp\n  multicast: bus.\n', 'spec.multicast', /must be a list of address prefixes/],
    ['  type: amqp\n  multicast: [""]\n', 'spec.multicast[0]', /must be an address prefix/],
    ['  multicast: [bus.]\n', 'spec.multicast', /applies only to type amqp \(this one is tcp\)/],
    ['  type: amqp\n  affinity: client\n', 'spec.affinity', /does not apply to type amqp/],
    ['  users: [{name: a, passwordFile: p}]\n', 'spec.users', /applies only to type amqp/],
    ['  type: amqp\n  users: []\n', 'spec.users', /must be a list of \{name, passwordFile\}/],
    ['  type: amqp\n  users: [{name: a}]\n', 'spec.users[0].passwordFile', /is required/],
    [
      '  type: amqp\n  users: [{name: a, passwordFile: p}, {name: a, passwordFile: q}]\n',
      'spec.users[1].name',
      /user 'a' is listed twice/,
    ],
    ['  type: amqp\n  priority: [a, b]\n', 'spec.priority', /applies only to types tcp, http1 and http2/],
  ];
  expectIssues(parse, cases);
  const [c] = parseResources(
    `${head('Connector', 'orders')}spec:\n  port: 5672\n  type: amqp\n  routingKey: bus.orders\n  address: /queue/orders\n`,
    'f.yaml',
  );
  assert.equal((c as ConnectorResource).spec.address, '/queue/orders');
  const connector = (spec: string) =>
    parseResources(`${head('Connector', 'orders')}spec:\n  port: 5672\n${spec}`, 'f.yaml');
  expectIssues(connector, [
    ['  address: /queue/x\n', 'spec.address', /applies only to type amqp \(this one is tcp\)/],
    ['  username: u\n  passwordFile: p\n', 'spec.username', /applies only to type amqp/],
    ['  type: amqp\n  username: u\n', 'spec.passwordFile', /give username and passwordFile together/],
    ['  type: amqp\n  passwordFile: p\n', 'spec.username', /give username and passwordFile together/],
    [
      '  host: 127.0.0.1\n  type: amqp\n  targets: [{host: 127.0.0.1, port: 5672}]\n',
      'spec.targets',
      /reaches one broker/,
    ],
  ]);
});

test('Connector: defaults and routing key', () => {
  const c = validateResourceOf(
    'Connector',
    {
      apiVersion: API_VERSION,
      kind: 'Connector',
      metadata: { name: 'db' },
      spec: { port: 5432, routingKey: 'db.orders' },
    },
    's',
  );
  assert.deepEqual(c.spec, { routingKey: 'db.orders', host: '127.0.0.1', port: 5432, type: 'tcp' });
  assert.throws(() => validateResourceOf('Listener', c, 's'), /expected a Listener/);
  const e = rejects(() =>
    validateResource(
      { apiVersion: API_VERSION, kind: 'Connector', metadata: { name: 'db' }, spec: { port: 0 } },
      's',
    ),
  );
  assert.match(issue(e, 'spec.port').message, /got 0/);
});

test('Site: defaults, linkAccess, routing timers, tls defaults', () => {
  const [s] = parseResources(`${head('Site', 'west')}`, 'site.yaml');
  assert.deepEqual(s?.spec, { mode: 'interior', routing: { helloIntervalMs: 1000, deadIntervalMs: 3000 } });
  const [s2] = parseResources(
    `${head('Site', 'west')}spec:\n  routerId: west-1\n  linkAccess: {}\n  routing:\n    helloIntervalMs: 100\n  admin:\n    socket: runtime/admin.sock\n`,
    'site.yaml',
  );
  assert.deepEqual(s2?.spec, {
    mode: 'interior',
    routerId: 'west-1',
    linkAccess: { host: '0.0.0.0', port: 55671, grantPort: 55672 },
    routing: { helloIntervalMs: 100, deadIntervalMs: 300 },
    admin: { socket: 'runtime/admin.sock' },
    tls: { ca: 'runtime/ca.crt', cert: 'runtime/server.crt', key: 'runtime/server.key' },
  });
  const [s3] = parseResources(
    `${head('Site', 'west')}spec:\n  linkAccess: {port: 0}\n  tls: {ca: my/ca.pem}\n`,
    'x',
  );
  assert.deepEqual(s3?.spec, {
    mode: 'interior',
    linkAccess: { host: '0.0.0.0', port: 0, grantPort: 55672 },
    routing: { helloIntervalMs: 1000, deadIntervalMs: 3000 },
    tls: { ca: 'my/ca.pem', cert: 'runtime/server.crt', key: 'runtime/server.key' },
  });
});

test('Site: linkAccess grantPort and hosts', () => {
  const [s] = parseResources(
    `${head('Site', 'hub')}spec:\n  linkAccess: {host: 127.0.0.1, port: 9000, grantPort: 0, hosts: [hub.example.com, 10.0.0.1]}\n`,
    'x',
  );
  assert.deepEqual((s as SiteResource).spec.linkAccess, {
    host: '127.0.0.1',
    port: 9000,
    grantPort: 0,
    hosts: ['hub.example.com', '10.0.0.1'],
  });
  const e = rejects(() =>
    parseResources(
      `${head('Site', 'hub')}spec:\n  linkAccess: {port: 9000, grantPort: 9000, hosts: [ok, "a b"]}\n`,
      'x',
    ),
  );
  assert.match(issue(e, 'spec.linkAccess.grantPort').message, /must differ from spec.linkAccess.port/);
  assert.match(issue(e, 'spec.linkAccess.hosts[1]').message, /host name or IP address/);
  const e2 = rejects(() =>
    parseResources(`${head('Site', 'hub')}spec:\n  linkAccess: {grantPort: 70000, hosts: []}\n`, 'x'),
  );
  assert.match(issue(e2, 'spec.linkAccess.grantPort').message, /0-65535 \(got 70000\)/);
  assert.match(issue(e2, 'spec.linkAccess.hosts').message, /non-empty list/);
});

test('Site: bad values name their field', () => {
  const e = rejects(() =>
    parseResources(
      `${head('Site', 'west')}spec:\n  mode: edge\n  linkAccess: {port: 1}\n  routing:\n    helloIntervalMs: 10\n`,
      'resources/site.yaml',
    ),
  );
  assert.match(issue(e, 'spec.linkAccess').message, /only interior sites accept links/);
  assert.match(issue(e, 'spec.routing.helloIntervalMs').message, /must be an integer >= 50|50-/);
  const e2 = rejects(() =>
    parseResources(
      `${head('Site', 'west')}spec:\n  mode: hub\n  routing: {helloIntervalMs: 500, deadIntervalMs: 400}\n  linkAccess: {port: 65536}\n`,
      'x',
    ),
  );
  assert.match(issue(e2, 'spec.mode').message, /must be one of: interior, edge \(got "hub"\)/);
  assert.match(
    issue(e2, 'spec.routing.deadIntervalMs').message,
    /greater than helloIntervalMs \(500\) \(got 400\)/,
  );
  assert.match(issue(e2, 'spec.linkAccess.port').message, /0-65535 \(got 65536\)/);
});

test('Link: defaults, endpoints and cost', () => {
  const [l] = parseResources(
    `${head('Link', 'hub')}spec:\n  endpoints:\n    - host: hub.example.com\n      port: 55671\n`,
    'x',
  );
  assert.deepEqual(l?.spec, {
    endpoints: [{ host: 'hub.example.com', port: 55671 }],
    cost: 1,
    tls: {
      ca: 'runtime/links/hub/ca.crt',
      cert: 'runtime/links/hub/client.crt',
      key: 'runtime/links/hub/client.key',
    },
  });
  const e = rejects(() =>
    parseResources(
      `${head('Link', 'hub')}spec:\n  cost: 0\n  endpoints:\n    - host: hub\n    - {host: h2, port: 5, extra: 1}\n  tls: {cert: 5}\n`,
      'resources/link-hub.yaml',
    ),
  );
  assert.match(issue(e, 'spec.cost').message, /1-2147483647 \(got 0\)/);
  assert.equal(issue(e, 'spec.endpoints[0].port').message, 'is required');
  assert.match(issue(e, 'spec.endpoints[1].extra').message, /^unknown field/);
  assert.match(issue(e, 'spec.tls.cert').message, /must be a string \(got 5\)/);
  assert.equal(issue(e, 'spec.endpoints[1].extra').line, 9);
  assert.match(e.message, /^resources\/link-hub\.yaml: Link "hub": spec\.cost: /m);
  const empty = rejects(() => parseResources(`${head('Link', 'hub')}spec:\n  endpoints: []\n`, 'x'));
  assert.match(issue(empty, 'spec.endpoints').message, /at least one/);
});

test('unknown fields are rejected anywhere, with a suggestion', () => {
  const e = rejects(() =>
    parseResources(
      `${head('Listener', 'db')}  namespace: x\nspec:\n  prot: 5432\n  port: 5432\nstatus:\n  conditions:\n    - {type: Ready, status: "True", colour: red}\nextra: 1\n`,
      'x.yaml',
    ),
  );
  assert.match(issue(e, 'spec.prot').message, /^unknown field; did you mean "port"\? \(known fields: /);
  assert.match(issue(e, 'metadata.namespace').message, /^unknown field/);
  assert.match(issue(e, 'status.conditions[0].colour').message, /^unknown field/);
  assert.match(issue(e, 'extra').message, /^unknown field/);
  assert.equal(issue(e, 'spec.prot').line, 7);
});

test('wrong kind, apiVersion, name and labels', () => {
  const e = rejects(() => parseResources(`apiVersion: v1\nkind: Lisener\nmetadata: {name: db}\n`, 'x.yaml'));
  assert.match(issue(e, 'apiVersion').message, /must be "caravan\.dev\/v1alpha1" \(got "v1"\)/);
  assert.match(
    issue(e, 'kind').message,
    /unknown kind "Lisener"; did you mean "Listener"\? \(known kinds: Site, Link/,
  );
  const e2 = rejects(() => validateResource({ kind: 'Site', metadata: { name: 'West_1' } }, 'x'));
  assert.match(issue(e2, 'apiVersion').message, /is required/);
  assert.match(issue(e2, 'metadata.name').message, /DNS label.*\(got "West_1"\)/);
  assert.match(e2.message, /^x: Site: metadata\.name: /m);
  const e3 = rejects(() => validateResource({ apiVersion: API_VERSION, kind: 'Site' }, 'x'));
  assert.equal(issue(e3, 'metadata').message, 'is required');
  const e4 = rejects(() =>
    validateResource(
      {
        apiVersion: API_VERSION,
        kind: 'Site',
        metadata: { name: 'a', labels: { tier: 1, 'bad key!': 'x' } },
      },
      'x',
    ),
  );
  assert.match(issue(e4, 'metadata.labels.tier').message, /must be strings/);
  assert.match(issue(e4, 'metadata.labels.bad key!').message, /invalid label key/);
  const ok = validateResource(
    {
      apiVersion: API_VERSION,
      kind: 'Site',
      metadata: { name: 'a', labels: { 'caravan.dev/zone': 'eu-1' } },
    },
    'x',
  );
  assert.deepEqual(ok.metadata, { name: 'a', labels: { 'caravan.dev/zone': 'eu-1' } });
  assert.match(
    rejects(() => validateResource('hello', 'x')).message,
    /^x: a resource must be a mapping \(got "hello"\)$/,
  );
  assert.match(rejects(() => validateResource(null, 'x')).message, /empty document/);
  const name64 = 'a'.repeat(64);
  assert.match(
    rejects(() =>
      validateResource({ apiVersion: API_VERSION, kind: 'Site', metadata: { name: name64 } }, 'x'),
    ).message,
    /DNS label/,
  );
});

test('YAML syntax errors name the source, line and column', () => {
  const e = rejects(() =>
    parseResources(`${head('Listener', 'db')}spec:\n  port: [5432\n  host: x\n`, 'resources/db.yaml'),
  );
  assert.match(e.message, /^resources\/db\.yaml:\d+:\d+: YAML syntax error: /);
  assert.ok(e.issues[0]?.line && e.issues[0].line >= 6, `line ${e.issues[0]?.line}`);
  const tab = rejects(() => parseResources('apiVersion: x\n\tkind: Site\n', 'tab.yaml'));
  assert.match(tab.message, /^tab\.yaml:2:\d+: YAML syntax error/);
  const dup = rejects(() =>
    parseResources(`${head('Listener', 'db')}spec:\n  port: 1\n  port: 2\n`, 'dup.yaml'),
  );
  assert.match(dup.message, /^dup\.yaml:7:3: YAML syntax error: Map keys must be unique/);
});

test('multi-document YAML: all resources, empty documents skipped, errors per document', () => {
  const text = `---\n${head('Listener', 'db')}spec: {port: 5432}\n---\n---\n${head('Connector', 'db')}spec:\n  port: 5432\n  host: 10.0.0.7\n...\n`;
  const rs = parseResources(text, 'x');
  assert.deepEqual(
    rs.map((r) => `${r.kind}/${r.metadata.name}`),
    ['Listener/db', 'Connector/db'],
  );
  assert.deepEqual(parseResources('', 'empty.yaml'), []);
  assert.deepEqual(parseResources('# only a comment\n---\n', 'c.yaml'), []);
  const e = rejects(() =>
    parseResources(
      `${head('Listener', 'a')}spec: {port: x}\n---\n${head('Listener', 'b')}spec: {port: 1}\n---\n${head('Connector', 'c')}spec: {}\n---\nfoo: 1\n`,
      'm.yaml',
    ),
  );
  assert.deepEqual(
    e.issues.map((i) => `${i.resource ?? ''}|${i.path}`),
    [
      'Listener "a"|spec.port',
      'Connector "c"|spec.port',
      'document 4|foo',
      'document 4|apiVersion',
      'document 4|kind',
      'document 4|metadata',
    ],
  );
  assert.equal(e.issues[1]?.line, 17); // the `spec: {}` line
});

test('AccessGrant and AccessToken', () => {
  const [g] = parseResources(`${head('AccessGrant', 'hub')}`, 'x');
  assert.deepEqual(g?.spec, { redemptions: 1, expiry: '15m', cost: 1 });
  const [g2] = parseResources(
    `${head('AccessGrant', 'hub')}spec: {redemptions: 3, expiry: 1h30m, cost: 5, code: abc}\nstatus: {redeemed: 1, expiresAt: "2030-01-01T00:00:00Z"}\n`,
    'x',
  );
  assert.deepEqual(g2?.spec, { redemptions: 3, expiry: '1h30m', cost: 5, code: 'abc' });
  assert.deepEqual(g2?.status, { redeemed: 1, expiresAt: '2030-01-01T00:00:00Z' });
  const eg = rejects(() =>
    parseResources(`${head('AccessGrant', 'hub')}spec: {redemptions: 0, expiry: soon}\n`, 'x'),
  );
  assert.match(issue(eg, 'spec.redemptions').message, /got 0/);
  assert.match(issue(eg, 'spec.expiry').message, /duration such as 30s, 15m, 1h.*\(got "soon"\)/);
  const hash = 'a'.repeat(64);
  const [g3] = parseResources(
    `${head('AccessGrant', 'hub')}spec: {codeHash: ${hash}, certLifetime: 6s}\n`,
    'x',
  );
  assert.deepEqual(g3?.spec, { redemptions: 1, expiry: '15m', cost: 1, codeHash: hash, certLifetime: '6s' });
  const eg3 = rejects(() =>
    parseResources(`${head('AccessGrant', 'hub')}spec: {codeHash: XYZ, certLifetime: 10ms}\n`, 'x'),
  );
  assert.match(issue(eg3, 'spec.codeHash').message, /SHA-256/);
  assert.match(issue(eg3, 'spec.certLifetime').message, /at least 1s/);
  const eg2 = rejects(() => parseResources(`${head('AccessGrant', 'hub')}spec: {expiry: 900}\n`, 'x'));
  assert.match(issue(eg2, 'spec.expiry').message, /got 900/);

  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const token = {
    apiVersion: API_VERSION,
    kind: 'AccessToken',
    metadata: { name: 'hub' },
    spec: { url: 'https://hub.example:8443/grants/x', code: 'c0de', ca },
  };
  const t = validateResourceOf('AccessToken', token, 'x');
  assert.deepEqual(t.spec, token.spec);
  const et = rejects(() =>
    validateResource({ ...token, spec: { url: 'ftp://x', ca: 'nope', cost: 0 } }, 'hub.token'),
  );
  assert.match(issue(et, 'spec.url').message, /https:\/\/ URL/);
  assert.equal(issue(et, 'spec.code').message, 'is required');
  assert.match(issue(et, 'spec.ca').message, /PEM certificate/);
  assert.match(issue(et, 'spec.cost').message, /got 0/);
});

test('status conditions are validated and kept', () => {
  const [l] = parseResources(
    `${head('Listener', 'db')}spec: {port: 1}\nstatus:\n  conditions:\n    - type: Ready\n      status: "True"\n      reason: Bound\n      observedGeneration: 2\n      lastTransitionTime: "2024-05-01T10:00:00Z"\n`,
    'x',
  );
  assert.deepEqual(l?.status, {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Bound',
        observedGeneration: 2,
        lastTransitionTime: '2024-05-01T10:00:00Z',
      },
    ],
  });
  const e = rejects(() =>
    parseResources(
      `${head('Listener', 'db')}spec: {port: 1}\nstatus:\n  conditions:\n    - {type: Ready, status: yes}\n`,
      'x',
    ),
  );
  assert.match(issue(e, 'status.conditions[0].status').message, /True, False, Unknown/);
});

test('toYaml round-trips every kind, with fields in canonical order', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const text = [
    `${head('Site', 'west')}spec: {linkAccess: {port: 0}}`,
    `${head('Link', 'hub')}spec: {endpoints: [{host: h, port: 1}], cost: 2}`,
    `${head('Listener', 'db')}spec: {port: 5432}`,
    `${head('Connector', 'db')}spec: {port: 5432}`,
    `${head('AccessGrant', 'g')}spec: {expiry: 1h}`,
    `${head('AccessToken', 't')}spec: {url: "https://h:1/x", code: c, ca: ${JSON.stringify(ca)}}`,
  ].join('\n---\n');
  const rs = parseResources(text, 'x');
  assert.equal(rs.length, 6);
  for (const r of rs) {
    const y = toYaml(r);
    assert.match(y, /^apiVersion: caravan\.dev\/v1alpha1\nkind: \w+\nmetadata:\n {2}name: [a-z]+\nspec:\n/);
    assert.deepEqual(parseResources(y, 'again'), [r]);
  }
  assert.deepEqual(parseResources(resourcesToYaml(rs), 'again'), rs);
  assert.match(toYaml(rs[5]!), /ca: \|/);
});

test('checkResource does not throw', () => {
  const r = checkResource({
    apiVersion: API_VERSION,
    kind: 'Listener',
    metadata: { name: 'db' },
    spec: { port: 'x' },
  });
  assert.equal(r.resource, undefined);
  assert.equal(r.label, 'Listener "db"');
  assert.deepEqual(r.issues, [{ path: 'spec.port', message: 'must be an integer 1-65535 (got "x")' }]);
});

test('parseDuration', () => {
  assert.equal(parseDuration('15m'), 15 * 60_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2d'), 2 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('1m30s500ms'), 90_500);
  assert.equal(parseDuration('0s'), 0);
  for (const bad of ['', '15', 'm', '15x', '-1m', '1 h', '1h 30m', '1H', 'abc']) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) =>
        isCaravanError(e, ErrorCodes.INVALID_RESOURCE) && /invalid duration/.test((e as Error).message),
      bad,
    );
    assert.equal(tryParseDuration(bad), undefined);
  }
  assert.equal(tryParseDuration(15), undefined);
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(90_500), '1m30s500ms');
  assert.equal(formatDuration(0), '0s');
  for (const ms of [1, 999, 1000, 61_000, 86_400_000 + 1])
    assert.equal(parseDuration(formatDuration(ms)), ms);
});
