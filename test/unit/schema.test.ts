// The schema language (src/api/schema/): what the checker reports for each constraint, that the TypeScript types
// and the schemas name the same fields, and that the derived CRDs are structural and the docs name every field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  AccessGrantSpec,
  AccessGrantStatus,
  AccessTokenSpec,
  Condition,
  ConnectorSpec,
  ConnectorTls,
  HostPort,
  LinkAccess,
  LinkSpec,
  ListenerSpec,
  ListenerTls,
  ListenerUser,
  RoutingTimers,
  SiteSpec,
  TlsFiles,
} from '../../src/api/index.js';
import { KINDS } from '../../src/api/index.js';
import { accessGrant, accessGrantSpec } from '../../src/api/schema/access-grant.js';
import { accessTokenSpec } from '../../src/api/schema/access-token.js';
import { Checker, compact } from '../../src/api/schema/checker.js';
import { condition, endpoint, tlsFiles } from '../../src/api/schema/common.js';
import { connectorSpec, connectorTls } from '../../src/api/schema/connector.js';
import { crdOf, crds, type JsonSchema } from '../../src/api/schema/crd.js';
import { resourcesReference } from '../../src/api/schema/docs.js';
import {
  bool,
  int,
  list,
  map,
  obj,
  oneOf,
  str,
  type Node,
  type ObjectNode,
} from '../../src/api/schema/dsl.js';
import { SCHEMAS } from '../../src/api/schema/index.js';
import { linkSpec } from '../../src/api/schema/link.js';
import { listenerSpec, listenerTls, listenerUser } from '../../src/api/schema/listener.js';
import { consoleServer, linkAccess, routing, siteSpec } from '../../src/api/schema/site.js';

// --- types and schemas agree (checked by tsc: a field added to one and not the other fails the build) ----------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FieldsOf<N> = N extends ObjectNode<infer F> ? keyof F : never;
type Agree<N, T> = Same<FieldsOf<N>, keyof T>;

const agreement: { [name: string]: true } = {
  SiteSpec: true satisfies Agree<typeof siteSpec, SiteSpec>,
  LinkAccess: true satisfies Agree<typeof linkAccess, LinkAccess>,
  RoutingTimers: true satisfies Agree<typeof routing, RoutingTimers>,
  SiteConsole: true satisfies Agree<typeof consoleServer, NonNullable<SiteSpec['console']>>,
  SiteAdmin: true satisfies Agree<typeof siteSpec.fields.admin, NonNullable<SiteSpec['admin']>>,
  SiteObserve: true satisfies Agree<typeof siteSpec.fields.observe, NonNullable<SiteSpec['observe']>>,
  TlsFiles: true satisfies Agree<ReturnType<typeof tlsFiles>, TlsFiles>,
  LinkSpec: true satisfies Agree<typeof linkSpec, LinkSpec>,
  HostPort: true satisfies Agree<ReturnType<typeof endpoint>, HostPort>,
  ListenerSpec: true satisfies Agree<typeof listenerSpec, ListenerSpec>,
  ListenerTls: true satisfies Agree<typeof listenerTls, ListenerTls>,
  ListenerUser: true satisfies Agree<typeof listenerUser, ListenerUser>,
  ConnectorSpec: true satisfies Agree<typeof connectorSpec, ConnectorSpec>,
  ConnectorTls: true satisfies Agree<typeof connectorTls, ConnectorTls>,
  AccessGrantSpec: true satisfies Agree<typeof accessGrantSpec, AccessGrantSpec>,
  AccessTokenSpec: true satisfies Agree<typeof accessTokenSpec, AccessTokenSpec>,
  Condition: true satisfies Agree<typeof condition, Condition>,
};

/** Exhaustive key lists: tsc refuses a missing or extra key; the test compares them with the schemas at run time. */
const SPEC_KEYS = {
  Site: {
    mode: 1,
    routerId: 1,
    linkAccess: 1,
    routing: 1,
    admin: 1,
    console: 1,
    limits: 1,
    peerLimits: 1,
    observe: 1,
    tls: 1,
  } satisfies Record<keyof SiteSpec, 1>,
  Link: { endpoints: 1, cost: 1, tls: 1, proxy: 1 } satisfies Record<keyof LinkSpec, 1>,
  Listener: {
    routingKey: 1,
    host: 1,
    port: 1,
    type: 1,
    distribution: 1,
    priority: 1,
    weighted: 1,
    multicast: 1,
    users: 1,
    affinity: 1,
    earlyData: 1,
    allow: 1,
    idleTimeoutMs: 1,
    maxSessions: 1,
    forwardedFor: 1,
    tls: 1,
  } satisfies Record<keyof ListenerSpec, 1>,
  Connector: {
    routingKey: 1,
    host: 1,
    port: 1,
    type: 1,
    targets: 1,
    address: 1,
    username: 1,
    passwordFile: 1,
    idleTimeoutMs: 1,
    maxSessions: 1,
    forwardedFor: 1,
    tls: 1,
  } satisfies Record<keyof ConnectorSpec, 1>,
  AccessGrant: {
    redemptions: 1,
    expiry: 1,
    cost: 1,
    code: 1,
    codeHash: 1,
    certLifetime: 1,
  } satisfies Record<keyof AccessGrantSpec, 1>,
  AccessToken: {
    url: 1,
    code: 1,
    ca: 1,
    cost: 1,
    expiresAt: 1,
    redemptions: 1,
  } satisfies Record<keyof AccessTokenSpec, 1>,
};

test('the TypeScript types and the schemas name the same fields', () => {
  assert.equal(Object.keys(agreement).length, 17);
  for (const kind of KINDS)
    assert.deepEqual(
      Object.keys(SCHEMAS[kind].spec.fields).sort(),
      Object.keys(SPEC_KEYS[kind]).sort(),
      kind,
    );
  const grantStatus = { conditions: 1, url: 1, ca: 1, redeemed: 1, expiresAt: 1 } satisfies Record<
    keyof AccessGrantStatus,
    1
  >;
  assert.deepEqual(Object.keys(accessGrant.status.fields).sort(), Object.keys(grantStatus).sort());
});

// --- the checker -------------------------------------------------------------------------------------------------

const sample = obj(
  {
    name: str({
      description: 'n',
      required: true,
      maxLength: 5,
      pattern: /^[a-z]+$/,
      patternHelp: 'must be lowercase',
    }),
    kind: oneOf(['a', 'b'], { description: 'k', default: 'a' }),
    size: int({ description: 's', min: 1, max: 10, default: 3 }),
    flag: bool({ description: 'f', onlyFor: { field: 'kind', values: ['b'] } }),
    tags: list(str({ description: 't' }), {
      description: 'tags',
      minItems: 1,
      maxItems: 2,
      notList: 'must be a list of tags',
    }),
    weights: map(
      str({ description: 'key', pattern: /^w/, invalid: 'must start with w' }),
      int({ description: 'w', min: 0, max: 9 }),
      {
        description: 'weights',
      },
    ),
    left: str({ description: 'l' }),
    right: str({ description: 'r' }),
    user: str({ description: 'u' }),
    password: str({ description: 'p' }),
    inner: obj(
      { depth: int({ description: 'd', min: 0, max: 1, default: 1 }) },
      { description: 'i', defaulted: true },
    ),
  },
  { description: 'sample', exclusive: [['left', 'right']], together: [['user', 'password']] },
);

function check(node: Node, value: unknown): { out: unknown; issues: string[] } {
  const c = new Checker();
  const out = compact(c.decode(node, value, 'spec'));
  return { out, issues: c.issues.map((i) => `${i.path}: ${i.message}`) };
}

test('checker: defaults fill absent fields, defaulted objects, absent optional fields are left out', () => {
  assert.deepEqual(check(sample, { name: 'abc' }), {
    out: { name: 'abc', kind: 'a', size: 3, inner: { depth: 1 } },
    issues: [],
  });
  assert.deepEqual(check(sample, undefined), { out: undefined, issues: [] });
  assert.deepEqual(check({ ...sample, required: true }, null).issues, ['spec: is required']);
});

test('checker: every problem names its field path, with the value it got', () => {
  const { issues } = check(sample, {
    name: 'ABCDEFG',
    kind: 'c',
    size: 11,
    tags: 'x',
    weights: { x: 1, w1: 10 },
    nmae: 1,
    inner: { depth: 2 },
  });
  assert.deepEqual(issues, [
    'spec.nmae: unknown field; did you mean "name"? (known fields: name, kind, size, flag, tags, weights, left, right, user, password, inner)',
    'spec.name: must be at most 5 characters (got 7)',
    'spec.kind: must be one of: a, b (got "c")',
    'spec.size: must be an integer 1-10 (got 11)',
    'spec.tags: must be a list of tags (got "x")',
    'spec.weights: must start with w (got "x")',
    'spec.weights.w1: must be an integer 0-9 (got 10)',
    'spec.inner.depth: must be an integer 0-1 (got 2)',
  ]);
  assert.deepEqual(check(sample, { name: 'AB' }).issues, ['spec.name: must be lowercase (got "AB")']);
  assert.deepEqual(check(sample, { name: '' }).issues, ['spec.name: must not be empty']);
  assert.deepEqual(check(sample, { name: 5 }).issues, ['spec.name: must be a string (got 5)']);
  assert.deepEqual(check(sample, []).issues, ['spec: must be a mapping (got a list)']);
});

test('checker: list sizes, list items, onlyFor, exclusive and together', () => {
  assert.deepEqual(check(sample, { name: 'a', tags: [] }).issues, [
    'spec.tags: must be a list of tags (got a list)',
  ]);
  assert.deepEqual(check(sample, { name: 'a', tags: ['x', 'y', 'z'] }).issues, [
    'spec.tags: must be a list of tags (got a list)',
  ]);
  assert.deepEqual(check(sample, { name: 'a', tags: [null, 3] }).issues, [
    'spec.tags[0]: is required',
    'spec.tags[1]: must be a string (got 3)',
  ]);
  // flag applies to kind b only; the kind's default counts
  assert.deepEqual(check(sample, { name: 'a', flag: true }).issues, [
    'spec.flag: applies only to kind b (this one is a)',
  ]);
  assert.deepEqual(check(sample, { name: 'a', kind: 'b', flag: true }).out, {
    name: 'a',
    kind: 'b',
    size: 3,
    flag: true,
    inner: { depth: 1 },
  });
  assert.deepEqual(check(sample, { name: 'a', left: 'l', right: 'r' }).issues, [
    'spec.right: give either left or right, not both',
  ]);
  assert.deepEqual(check(sample, { name: 'a', user: 'u' }).issues, [
    'spec.password: give user and password together',
  ]);
  assert.deepEqual(check(sample, { name: 'a', password: 'p' }).issues, [
    'spec.user: give user and password together',
  ]);
});

// --- the CRDs ----------------------------------------------------------------------------------------------------

const ALLOWED = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'enum',
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
]);

/** Structural: every node has a type, objects have properties (or additionalProperties), arrays have items. */
function assertStructural(s: JsonSchema, path: string): void {
  for (const k of Object.keys(s)) assert.ok(ALLOWED.has(k), `${path}: keyword ${k} is not allowed`);
  assert.ok(typeof s['type'] === 'string', `${path}: no type`);
  if (s['type'] === 'object') {
    const props = s['properties'] as Record<string, JsonSchema> | undefined;
    const extra = s['additionalProperties'] as JsonSchema | undefined;
    assert.ok(props || extra || path.endsWith('.metadata'), `${path}: an object without properties`);
    assert.ok(!(props && extra), `${path}: properties and additionalProperties`);
    for (const [k, v] of Object.entries(props ?? {})) assertStructural(v, `${path}.${k}`);
    if (extra) assertStructural(extra, `${path}.*`);
    for (const r of (s['required'] as string[] | undefined) ?? [])
      assert.ok(props && r in props, `${path}: required ${r} is not a property`);
  }
  if (s['type'] === 'array') assertStructural(s['items'] as JsonSchema, `${path}[]`);
  if (s['pattern'] !== undefined) new RegExp(s['pattern'] as string);
}

test('CRDs: one per kind, namespaced, v1alpha1 with the status subresource, structural schemas', () => {
  const all = crds();
  assert.equal(all.length, KINDS.length);
  for (const kind of KINDS) {
    const crd = crdOf(kind) as {
      metadata: { name: string };
      spec: {
        group: string;
        scope: string;
        names: { kind: string; plural: string };
        versions: {
          name: string;
          served: boolean;
          storage: boolean;
          subresources: unknown;
          additionalPrinterColumns: { name: string; jsonPath: string }[];
          schema: { openAPIV3Schema: JsonSchema };
        }[];
      };
    };
    assert.equal(crd.metadata.name, `${SCHEMAS[kind].plural}.caravan.dev`);
    assert.equal(crd.spec.group, 'caravan.dev');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.names.kind, kind);
    assert.equal(crd.spec.versions.length, 1);
    const v = crd.spec.versions[0]!;
    assert.deepEqual([v.name, v.served, v.storage], ['v1alpha1', true, true]);
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok(
      v.additionalPrinterColumns.some((c) => c.name === 'Ready'),
      kind,
    );
    assertStructural(v.schema.openAPIV3Schema, kind);
  }
  const listener = crdOf('Listener') as {
    spec: { versions: { additionalPrinterColumns: { name: string }[] }[] };
  };
  assert.deepEqual(
    listener.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name),
    ['Routing Key', 'Port', 'Type', 'Matched', 'Ready', 'Age'],
  );
});

test('CRDs: a field of the schema is in the CRD with its constraints; onlyFor is said in the description', () => {
  const spec = (crdOf('Listener') as { spec: { versions: { schema: { openAPIV3Schema: JsonSchema } }[] } })
    .spec.versions[0]!.schema.openAPIV3Schema['properties'] as Record<string, JsonSchema>;
  const props = spec['spec']!['properties'] as Record<string, JsonSchema>;
  assert.deepEqual(Object.keys(props), Object.keys(listenerSpec.fields));
  assert.deepEqual(spec['spec']!['required'], ['port']);
  assert.equal(props['port']!['maximum'], 65535);
  assert.deepEqual(props['type']!['enum'], ['tcp', 'http1', 'http2', 'udp', 'amqp']);
  assert.match(props['type']!['description'] as string, /Default: tcp\./);
  assert.match(props['earlyData']!['description'] as string, /Only for type tcp\./);
  assert.equal((props['weighted']!['additionalProperties'] as JsonSchema)['maximum'], 1000);
});

// --- the docs ----------------------------------------------------------------------------------------------------

function paths(node: Node, path: string, out: string[]): string[] {
  out.push(path);
  if (node.kind === 'object') for (const [k, f] of Object.entries(node.fields)) paths(f, `${path}.${k}`, out);
  if (node.kind === 'list' && node.items.kind === 'object')
    for (const [k, f] of Object.entries(node.items.fields)) paths(f, `${path}[].${k}`, out);
  return out;
}

test('docs: the reference has a row for every field of every kind', () => {
  const text = resourcesReference();
  for (const kind of KINDS) {
    assert.match(text, new RegExp(`^## ${kind}$`, 'm'));
    const s = SCHEMAS[kind];
    const want = [...paths(s.spec, 'spec', []).slice(1), ...paths(s.status, 'status', []).slice(1)];
    for (const p of want) assert.ok(text.includes(`| \`${p}\` |`), `${kind}: no row for ${p}`);
  }
  assert.match(
    text,
    /\| `spec.port` \| integer \| {2}\| Port the listener binds\. \*\*Required\.\*\* An integer 1-65535\. \|/,
  );
});
