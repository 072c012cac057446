import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCondition } from '../../src/api/conditions.js';
import {
  GRANT_STATE_SECRET,
  ROUTER_IDENTITY_SECRET,
  SERVER_SECRET,
  SITE_CA_SECRET,
  linkSecretName,
  linkSecret as makeLinkSecret,
  reconcile,
  type CaravanObject,
  type ObservedState,
  type RouterFacts,
  type SecretObject,
} from '../../src/kube/reconcile/index.js';
import { generateIdentity, loadIdentity } from '../../src/identity.js';
import { hashCode } from '../../src/site/grants/logic.js';
import { IDENTITY_PEM, NS, T0, applyActions, cr, observed, ofKind, pod } from '../support/kube-objects.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const T1 = new Date(T0.getTime() + 60_000);
const T2 = new Date(T0.getTime() + 120_000);

function converge(state: ObservedState): ObservedState {
  for (let i = 0; i < 5; i++) {
    const r = reconcile(state);
    if (r.actions.length === 0) return state;
    state = applyActions(state, r.actions);
  }
  throw new Error('did not converge');
}
const cond = (state: ObservedState | CaravanObject[], kind: string, name: string, type: string) =>
  findCondition(
    (Array.isArray(state) ? state : state.resources).find((r) => r.kind === kind && r.metadata.name === name)
      ?.status?.conditions,
    type,
  );
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SITE_META = { name: 'east', uid: 'site-uid' };
/** The Secret a redemption makes, owned by the Site. */
const linkSecret = (link: string): SecretObject =>
  makeLinkSecret(NS, SITE_META, link, { ca: 'CA', cert: 'CERT', key: 'KEY', grant: '{}' });

test('a bad spec sets Configured=False naming the field and leaves every other resource running', () => {
  const state = converge(
    observed([
      cr('Site', 'east', {}),
      cr('Listener', 'good', { port: 8080 }),
      cr('Listener', 'broken', { port: 'eighty' }),
      cr('Listener', 'typo', { port: 81, rotingKey: 'x' }),
      cr('Connector', 'c', { host: 'db', port: 5432 }),
      cr('Connector', 'Bad.Name', { host: 'db', port: 5432 }),
    ]),
  );
  const r = reconcile(state);
  assert.ok(r.config, 'the site runs');
  assert.deepEqual(
    r.config.listeners.map((l) => l.metadata.name),
    ['good'],
  );
  assert.deepEqual(
    r.config.connectors.map((c) => c.metadata.name),
    ['c'],
  );
  const broken = cond(state, 'Listener', 'broken', 'Configured');
  assert.equal(broken?.status, 'False');
  assert.equal(broken?.reason, 'InvalidSpec');
  assert.match(broken?.message ?? '', /^spec\.port: /);
  assert.equal(cond(state, 'Listener', 'broken', 'Ready')?.status, 'False');
  assert.equal(cond(state, 'Listener', 'broken', 'Matched')?.status, 'Unknown');
  assert.match(
    cond(state, 'Listener', 'typo', 'Configured')?.message ?? '',
    /^spec\.rotingKey: .*routingKey/,
  );
  assert.match(cond(state, 'Connector', 'Bad.Name', 'Configured')?.message ?? '', /^metadata\.name: /);
  assert.equal(cond(state, 'Listener', 'good', 'Configured')?.status, 'True');
  // an invalid Site stops only what needs a Site
  const noSite = reconcile(
    observed([cr('Site', 'east', { mode: 'sideways' }), cr('Listener', 'l', { port: 1 })]),
  );
  assert.equal(noSite.config, undefined);
  const st = noSite.statuses.find((s) => s.name === 'l')?.status;
  assert.equal(findCondition(st?.conditions, 'Configured')?.status, 'True');
  assert.equal(findCondition(st?.conditions, 'Ready')?.reason, 'SiteNotReady');
});

test('statuses carry observedGeneration, keep transition times, and unchanged ones are not written', () => {
  const listener = cr('Listener', 'db', { port: 5432 }, { generation: 4 });
  let state = converge(observed([cr('Site', 'east', {}), listener]));
  const c0 = cond(state, 'Listener', 'db', 'Configured');
  assert.equal(c0?.observedGeneration, 4);
  assert.equal(c0?.lastTransitionTime, T0.toISOString());
  assert.equal(cond(state, 'Listener', 'db', 'Ready')?.reason, 'Pending');
  // nothing changed: no write, even at a later time
  assert.deepEqual(reconcile({ ...state, now: T1 }).actions, []);

  // a new generation of the spec: conditions say so, transition times stay (status unchanged)
  state = {
    ...state,
    now: T1,
    resources: state.resources.map((r) =>
      r.kind === 'Listener' ? { ...r, spec: { port: 5433 }, metadata: { ...r.metadata, generation: 5 } } : r,
    ),
  };
  const r = reconcile(state);
  const st = ofKind(r.actions, 'status').find((a) => a.name === 'db');
  assert.ok(st, 'the status is written for the new generation');
  assert.equal(
    st.resourceVersion,
    state.resources.find((x) => x.kind === 'Listener')?.metadata.resourceVersion,
  );
  state = converge(state);
  const c1 = cond(state, 'Listener', 'db', 'Configured');
  assert.equal(c1?.observedGeneration, 5);
  assert.equal(c1?.lastTransitionTime, T0.toISOString());

  // the router runs it, but no connector anywhere: Matched False, Ready False
  const facts: RouterFacts = { listeners: { db: { bound: true } }, connectorKeys: [] };
  state = converge({ ...state, facts, now: T1 });
  assert.equal(cond(state, 'Listener', 'db', 'Matched')?.reason, 'NoConnector');
  assert.equal(cond(state, 'Listener', 'db', 'Ready')?.status, 'False');
  // a connector appears in the network: Ready True, at the time it happened
  state = converge({ ...state, facts: { ...facts, connectorKeys: ['db'] }, now: T2 });
  const ready = cond(state, 'Listener', 'db', 'Ready');
  assert.equal(ready?.status, 'True');
  assert.equal(ready?.message, 'Service db port 5433');
  assert.equal(ready?.lastTransitionTime, T2.toISOString());
  assert.equal(cond(state, 'Listener', 'db', 'Matched')?.message, 'connector for db is reachable');
  // the bind fails: Ready False with the router's reason
  state = converge({
    ...state,
    facts: { ...facts, connectorKeys: ['db'], listeners: { db: { bound: false, error: 'EADDRINUSE' } } },
  });
  assert.equal(cond(state, 'Listener', 'db', 'Ready')?.reason, 'BindFailed');
  assert.equal(cond(state, 'Listener', 'db', 'Ready')?.message, 'EADDRINUSE');
});

test('other fields of a status survive, and other condition types are kept', () => {
  const grant = cr(
    'AccessGrant',
    'g',
    {},
    {
      status: {
        url: 'https://stale.example.net:55672/v1/grants/g',
        redeemed: 0,
        conditions: [
          { type: 'Issued', status: 'True', reason: 'Issued', lastTransitionTime: T0.toISOString() },
        ],
      },
    },
  );
  const state = converge(
    observed([cr('Site', 'east', { linkAccess: { hosts: ['van.example.net'] } }), grant]),
  );
  const g = state.resources.find((r) => r.kind === 'AccessGrant');
  // the URL is the router's to keep: it follows the site's address
  assert.equal(g?.status?.['url'], 'https://van.example.net:55672/v1/grants/g');
  assert.equal(g?.status?.['redeemed'], 0);
  assert.equal(findCondition(g?.status?.conditions, 'Issued')?.status, 'True');
  assert.equal(findCondition(g?.status?.conditions, 'Configured')?.status, 'True');
});

test('Secrets: created once with owner references to the Site, never regenerated or rewritten', () => {
  const site = cr('Site', 'east', { linkAccess: { type: 'ClusterIP' } });
  const first = reconcile(observed([site]));
  const creates = ofKind(first.actions, 'create').filter((a) => a.kind === 'Secret');
  assert.deepEqual(
    creates.map((a) => a.object.metadata.name),
    [ROUTER_IDENTITY_SECRET, SITE_CA_SECRET, SERVER_SECRET, GRANT_STATE_SECRET],
  );
  for (const a of creates) {
    assert.equal(a.object.metadata.ownerReferences?.[0]?.uid, site.metadata.uid);
    assert.equal(a.object.metadata.ownerReferences?.[0]?.kind, 'Site');
  }
  const kinds = creates.map((a) => (a.kind === 'Secret' ? a.generate?.kind : undefined));
  assert.deepEqual(kinds, ['identity-key', 'site-ca', 'server-cert', undefined]);
  const server = creates[2]?.kind === 'Secret' ? creates[2].generate : undefined;
  assert.deepEqual(server, {
    kind: 'server-cert',
    commonName: 'east',
    caSecret: SITE_CA_SECRET,
    identitySecret: ROUTER_IDENTITY_SECRET,
    site: 'east',
  });
  assert.equal(first.config, undefined, 'the site waits for its Secrets');
  assert.equal(findCondition(first.statuses[0]?.status.conditions, 'Ready')?.reason, 'SecretsPending');

  const state = converge(observed([site]));
  const r = reconcile(state);
  assert.ok(r.config);
  const id = loadIdentity('east', IDENTITY_PEM).routerId;
  assert.equal(r.config.site.spec.routerId, id, 'the router id is the identity key’s');
  assert.equal(r.statuses.find((s) => s.kind === 'Site')?.status['routerId'], id);
  assert.equal(r.config.site.spec.tls?.cert, '/var/lib/caravan/runtime/server.crt');
  assert.deepEqual(
    r.secretFiles.map((f) => `${f.secret}/${f.key} -> ${f.path}${f.mirror ? ' (mirror)' : ''}`),
    [
      `${ROUTER_IDENTITY_SECRET}/identity.key -> runtime/identity.key`,
      `${SITE_CA_SECRET}/ca.crt -> runtime/ca.crt`,
      `${SITE_CA_SECRET}/ca.key -> runtime/ca.key`,
      `${SERVER_SECRET}/tls.crt -> runtime/server.crt (mirror)`,
      `${SERVER_SECRET}/tls.key -> runtime/server.key`,
      `${GRANT_STATE_SECRET}/issued.json -> runtime/grants/issued.json (mirror)`,
      `${GRANT_STATE_SECRET}/revoked.json -> runtime/grants/revoked.json (mirror)`,
      `${GRANT_STATE_SECRET}/redemptions. -> runtime/grants/redemptions (mirror)`,
    ],
  );
  assert.equal(r.secretFiles.at(-1)?.dir, true, 'redemptions are a folder of keys');

  // a restarted pod reconciles the same Secrets: same id, nothing to create; spec.routerId changes nothing
  const pinned = reconcile({
    ...state,
    resources: [{ ...site, spec: { routerId: 'east-1', linkAccess: { type: 'ClusterIP' } } }],
  });
  assert.equal(pinned.config?.site.spec.routerId, id, 'spec.routerId is ignored, as on a host site');
  assert.equal(pinned.actions.filter((a) => a.kind === 'Secret').length, 0);
  // another key (brought by the platform team) is another id
  const other = generateIdentity('east');
  const brought = state.secrets.map((s) =>
    s.metadata.name === ROUTER_IDENTITY_SECRET ? { ...s, data: { 'identity.key': b64(other.pem) } } : s,
  );
  assert.equal(reconcile({ ...state, secrets: brought }).config?.site.spec.routerId, other.identity.routerId);
  // a Secret whose key is not an identity key is reported, not replaced, and the site does not run
  const garbled = state.secrets.map((s) =>
    s.metadata.name === ROUTER_IDENTITY_SECRET ? { ...s, data: { 'identity.key': b64('not a key') } } : s,
  );
  const rg = reconcile({ ...state, secrets: garbled });
  assert.equal(rg.config, undefined);
  assert.equal(rg.actions.filter((a) => a.kind === 'Secret').length, 0);
  const cg = findCondition(rg.statuses.find((s) => s.kind === 'Site')?.status.conditions, 'Configured');
  assert.equal(cg?.reason, 'SecretInvalid');
  assert.match(
    cg?.message ?? '',
    /^Secret caravan-router-identity key identity.key is not a router identity key/,
  );
  // a Secret missing a key is reported, not regenerated
  const broken = state.secrets.map((s) =>
    s.metadata.name === SITE_CA_SECRET ? { ...s, data: { 'ca.crt': b64('x') } } : s,
  );
  const rb = reconcile({ ...state, secrets: broken });
  assert.equal(rb.actions.filter((a) => a.kind === 'Secret').length, 0);
  const c = findCondition(rb.statuses.find((s) => s.kind === 'Site')?.status.conditions, 'Configured');
  assert.equal(c?.reason, 'SecretInvalid');
  assert.equal(c?.message, `Secret ${SITE_CA_SECRET} has no key ca.key`);
  // a CA the platform team brought (not Caravan's) is used as it is
  const own = state.secrets.map((s) =>
    s.metadata.name === SITE_CA_SECRET
      ? { metadata: { name: SITE_CA_SECRET, namespace: NS }, data: s.data }
      : s,
  );
  assert.equal(reconcile({ ...state, secrets: own }).actions.filter((a) => a.kind === 'Secret').length, 0);
  // the site's TLS files must stay below the state folder (a Secret fills them)
  const escaping = reconcile({
    ...state,
    resources: [
      {
        ...site,
        spec: { linkAccess: { type: 'ClusterIP' }, tls: { ca: '/etc/ca.crt', cert: 'a', key: 'b' } },
      },
    ],
  });
  assert.equal(escaping.config, undefined);
  assert.match(
    findCondition(escaping.statuses[0]?.status.conditions, 'Configured')?.message ?? '',
    /spec.tls path \/etc\/ca.crt must be relative/,
  );
});

test('Links need their Secret; AccessTokens are redeemed once their Link exists', () => {
  const link = cr('Link', 'to-west', { endpoints: [{ host: 'west.example.net', port: 55671 }] });
  const token = cr('AccessToken', 'to-west', {
    url: 'https://west.example.net:55672/g',
    code: 'c',
    ca: PEM,
  });
  const other = cr('AccessToken', 'later', { url: 'https://x.example.net:55672/g', code: 'c', ca: PEM });
  let state = converge(observed([cr('Site', 'east', {}), link, token, other]));
  assert.equal(cond(state, 'Link', 'to-west', 'Configured')?.reason, 'SecretMissing');
  assert.match(cond(state, 'Link', 'to-west', 'Configured')?.message ?? '', /caravan-link-to-west not found/);
  assert.deepEqual(reconcile(state).config?.links, []);
  assert.equal(cond(state, 'AccessToken', 'to-west', 'Ready')?.status, 'Unknown');

  state = converge({
    ...state,
    secrets: [...state.secrets, linkSecret('to-west')],
    facts: { links: { 'to-west': { state: 'up' } }, tokenFailures: { later: 'grant expired' } },
  });
  const r = reconcile(state);
  assert.deepEqual(r.config?.links[0]?.spec.tls, {
    ca: '/var/lib/caravan/runtime/links/to-west/ca.crt',
    cert: '/var/lib/caravan/runtime/links/to-west/client.crt',
    key: '/var/lib/caravan/runtime/links/to-west/client.key',
  });
  assert.ok(
    r.secretFiles.some((f) => f.key === 'grant.json' && f.path === 'runtime/links/to-west/grant.json'),
  );
  const made = linkSecret('to-west');
  assert.equal(made.metadata.name, linkSecretName('to-west'));
  assert.equal(made.metadata.ownerReferences?.[0]?.kind, 'Site');
  assert.equal(cond(state, 'Link', 'to-west', 'Ready')?.reason, 'LinkUp');
  assert.equal(cond(state, 'AccessToken', 'to-west', 'Ready')?.reason, 'Redeemed');
  assert.equal(cond(state, 'AccessToken', 'later', 'Ready')?.reason, 'RedeemFailed');
  state = converge({
    ...state,
    facts: { links: { 'to-west': { state: 'connecting', error: 'ECONNREFUSED' } } },
  });
  assert.equal(cond(state, 'Link', 'to-west', 'Ready')?.message, 'ECONNREFUSED');
});

test('one Site per namespace; grants need link access; other namespaces and deleting objects are ignored', () => {
  const older = cr('Site', 'east', {}, { createdAt: '2026-03-01T08:00:00Z' });
  const newer = cr('Site', 'again', {}, { createdAt: '2026-03-01T09:00:00Z' });
  const grant = cr('AccessGrant', 'g', {});
  const foreign = cr('Listener', 'x', { port: 9 });
  foreign.metadata.namespace = 'elsewhere';
  const going = cr('Listener', 'y', { port: 10 });
  going.metadata.deletionTimestamp = T0.toISOString();
  const state = converge(observed([newer, older, grant, foreign, going]));
  const r = reconcile(state);
  assert.equal(r.config?.site.metadata.name, 'east');
  assert.equal(cond(state, 'Site', 'again', 'Configured')?.reason, 'DuplicateSite');
  assert.equal(cond(state, 'AccessGrant', 'g', 'Ready')?.reason, 'NoLinkAccess');
  assert.equal(
    r.statuses.some((s) => s.name === 'x' || s.name === 'y'),
    false,
  );
  assert.equal(r.services.length, 0);
});

test('a whole site converges: applying the actions and reconciling again gives no action', () => {
  const resources = [
    cr('Site', 'east', { linkAccess: { type: 'LoadBalancer' } }),
    cr('Listener', 'db', { port: 5432, host: 'db' }),
    cr('Listener', 'api', { port: 8080, type: 'http1', priority: ['api-v2', 'api-v1'] }),
    cr('Connector', 'redis', { selector: 'app=redis', port: 6379 }),
    cr('Connector', 'pg', { host: 'postgres', port: 5432 }),
    cr('Link', 'to-west', { endpoints: [{ host: 'west.example.net', port: 55671 }] }),
    cr('AccessGrant', 'g', { redemptions: 2, expiry: '2h' }),
    cr('AccessGrant', 'old', { redemptions: 1 }),
    cr('AccessToken', 't', { url: 'https://west.example.net:55672/g', code: 'c', ca: PEM }),
    cr('Listener', 'bad', { port: -1 }),
  ];
  let state = observed(resources, {
    pods: [pod('redis-0', { app: 'redis' }, '10.244.0.9'), pod('redis-1', { app: 'redis' }, '10.244.0.10')],
    secrets: [linkSecret('to-west')],
  });
  state = converge(state);
  const a = reconcile(state);
  assert.deepEqual(a.actions, []);
  assert.deepEqual(reconcile(state), a, 'the same input gives the same output');
  assert.ok(a.config);
  assert.deepEqual(a.config.listeners.map((l) => l.metadata.name).sort(), ['api', 'db']);
  // the cloud gives the LoadBalancer an address and the router reports: statuses change once, then rest
  state = {
    ...state,
    services: state.services.map((s) =>
      s.spec.type === 'LoadBalancer'
        ? { ...s, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }
        : s,
    ),
    facts: {
      listeners: { db: { bound: true }, api: { bound: true } },
      connectorKeys: ['db', 'api-v1', 'redis'],
      links: { 'to-west': { state: 'up' } },
      linkAccess: { bound: true },
    },
    now: T1,
  };
  const b = reconcile(state);
  assert.ok(b.actions.length > 0 && b.actions.every((x) => x.op === 'status'));
  state = applyActions(state, b.actions);
  assert.deepEqual(reconcile(state).actions, []);
  assert.equal(cond(state, 'Site', 'east', 'Ready')?.status, 'True');
  assert.match(
    cond(state, 'Site', 'east', 'Ready')?.message ?? '',
    /203\.0\.113\.7 port 55671 \(address from LoadBalancer\)/,
  );
  assert.equal(cond(state, 'Listener', 'api', 'Matched')?.message, 'connector for api-v1 is reachable');
  assert.equal(cond(state, 'AccessGrant', 'g', 'Ready')?.status, 'True');
  // what a token needs: the grant server's URL at the site's address, and when the grant expires (from its
  // creation); a grant past its expiry says so
  const g = state.resources.find((r) => r.kind === 'AccessGrant' && r.metadata.name === 'g');
  assert.equal(g?.status?.['url'], 'https://203.0.113.7:55672/v1/grants/g');
  assert.equal(g?.status?.['expiresAt'], '2026-03-01T11:00:00.000Z');
  assert.equal(cond(state, 'AccessGrant', 'old', 'Ready')?.reason, 'Expired');
  for (const r of state.resources) {
    const types = (r.status?.conditions ?? []).map((c) => c.type);
    const want =
      r.kind === 'Listener' || r.kind === 'Connector'
        ? ['Configured', 'Matched', 'Ready']
        : ['Configured', 'Ready'];
    assert.deepEqual(types, want, `${r.kind} ${r.metadata.name}`);
    for (const c of r.status?.conditions ?? []) {
      assert.equal(c.observedGeneration, r.metadata.generation);
      assert.ok(c.reason && /^[A-Z][A-Za-z]*$/.test(c.reason), c.reason);
      assert.ok(c.lastTransitionTime);
      assert.ok(!/\n/.test(c.message ?? ''));
    }
    if (r.metadata.name === 'bad') continue;
    assert.equal(
      findCondition(r.status?.conditions, 'Configured')?.status,
      'True',
      `${r.kind} ${r.metadata.name}`,
    );
  }
});

test('a Link’s renewed certificate and grant info go back into its Secret; its files never leave the state folder', () => {
  const link = cr('Link', 'to-west', { endpoints: [{ host: 'west.example.net', port: 55671 }] });
  const state = converge({
    ...observed([cr('Site', 'east', {}), link]),
    secrets: [linkSecret('to-west')],
  });
  const files = reconcile(state).secretFiles.filter((f) => f.secret === linkSecretName('to-west'));
  assert.deepEqual(
    files.map((f) => `${f.key} -> ${f.path}${f.mirror ? ' (mirror)' : ''}`),
    [
      'ca.crt -> runtime/links/to-west/ca.crt',
      'tls.crt -> runtime/links/to-west/client.crt (mirror)',
      'tls.key -> runtime/links/to-west/client.key',
      'grant.json -> runtime/links/to-west/grant.json (mirror)',
    ],
  );
  const outside = cr('Link', 'to-west', {
    endpoints: [{ host: 'west.example.net', port: 55671 }],
    tls: { ca: '../../etc/ca.crt', cert: 'c.crt', key: 'c.key' },
  });
  const r = reconcile({ ...state, resources: [state.resources[0]!, outside] });
  assert.deepEqual(r.config?.links, []);
  assert.equal(r.secretFiles.filter((f) => f.secret === linkSecretName('to-west')).length, 0);
  assert.match(
    findCondition(r.statuses.find((s) => s.kind === 'Link')?.status.conditions, 'Configured')?.message ?? '',
    /spec.tls path \.\.\/\.\.\/etc\/ca.crt must be relative and stay below the state folder/,
  );
});

test('an AccessGrant’s status shows the redemptions the grant server counted in the grant-state Secret', () => {
  const grant = cr('AccessGrant', 'g', { redemptions: 2, expiry: '1h', code: 'c0de' });
  let state = converge(observed([cr('Site', 'east', { linkAccess: { type: 'ClusterIP' } }), grant]));
  const statusOf = (s: ObservedState) => s.resources.find((r) => r.kind === 'AccessGrant')?.status;
  assert.equal(statusOf(state)?.['redeemed'], undefined, 'nothing counted yet');
  const count = (redeemed: number, codeHash = hashCode('c0de')) =>
    state.secrets.map((s) =>
      s.metadata.name === GRANT_STATE_SECRET
        ? {
            ...s,
            data: {
              'redemptions.g.json': b64(
                JSON.stringify({
                  codeHash,
                  createdAt: T0.toISOString(),
                  expiresAt: T2.toISOString(),
                  redeemed,
                }),
              ),
            },
          }
        : s,
    );
  state = converge({ ...state, secrets: count(1) });
  assert.equal(statusOf(state)?.['redeemed'], 1);
  assert.equal(statusOf(state)?.['expiresAt'], T2.toISOString());
  assert.equal(
    cond(state, 'AccessGrant', 'g', 'Ready')?.reason,
    'Pending',
    'not used up: waits for the router',
  );
  state = converge({ ...state, secrets: count(2) });
  assert.equal(cond(state, 'AccessGrant', 'g', 'Ready')?.reason, 'UsedUp');
  // the count of an earlier grant of the same name (another code) does not apply
  const other = converge({ ...state, secrets: count(5, hashCode('other')) });
  assert.equal(statusOf(other)?.['redeemed'], 2, 'the status keeps what it had');
});
