/**
 * The real `caravan` CLI process with `--kube` against the Kubernetes API stand-in (test/support/kube-apiserver:
 * real HTTPS on 127.0.0.1, the real client library, a kubeconfig file written by the test). The Caravan CRDs are
 * the ones `caravan kube manifests` prints.
 *
 * Proved: the create verbs make Custom Resources in the stand-in's store (the spec as given, the Kubernetes-only
 * `selector` kept by the CRD's schema), checked first as the router checks them; list/status show the conditions
 * the test writes into the stand-in's status; delete removes the object; `token issue` writes a token file whose
 * code matches the grant's hash once the grant's status has its URL and CA; `token redeem` makes an AccessToken
 * and waits for the Link. Errors with their exit codes: no kubeconfig, CRDs not installed, forbidden by RBAC, a
 * taken name, no such object, a router that never answers.
 *
 * The controller does not run here: where a verb waits for the router, **the test stands in for it**, writing the
 * grant's status (URL, CA) or the redeemed token's Link into the stand-in, as the router would. That the real
 * router writes them is for the controller's own tests.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { hashCode } from '../../src/site/grants/index.js';
import { crdManifests } from '../../src/kube/manifests.js';
import {
  addNamespace,
  addServiceAccount,
  ADMIN_TOKEN,
  startStandIn,
  type JsonObject,
  type KubeApiServer,
  standInKubeconfig,
} from '../support/kube-apiserver/index.js';
import { repoRoot, run, type RunResult } from '../support/proc.js';
import { waitFor } from '../support/wait.js';

const G = 'caravan.dev';
const NS = 'shop';

const kubeconfig = (server: KubeApiServer, users: Record<string, string>): string =>
  standInKubeconfig(server, users, NS);

const conditions = (...cs: Array<[string, string, string, string]>): JsonObject[] =>
  cs.map(([type, status, reason, message]) => ({
    type,
    status,
    reason,
    message,
    observedGeneration: 1,
    lastTransitionTime: '2026-01-01T00:00:00Z',
  }));

describe('caravan --kube against the API stand-in', () => {
  let server: KubeApiServer;
  let bare: KubeApiServer;
  let dir: string;
  let kc: string;

  /** The real CLI process; env holds only PATH and HOME (no kubeconfig of this machine is read). */
  const caravan = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run(process.execPath, [join(repoRoot, 'bin', 'caravan.js'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ...env },
      // a loaded machine can take seconds to start a process that loads the client library
      timeoutMs: 120_000,
    });
  const kube = (args: string[]): Promise<RunResult> => caravan([...args, '--kube', '--kubeconfig', kc]);
  const stored = (plural: string, name: string): JsonObject | undefined => server.object(G, plural, NS, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caravan-cli-kube-'));
    server = await startStandIn({ tokens: {} });
    for (const crd of crdManifests())
      server.put('apiextensions.k8s.io', 'customresourcedefinitions', crd as unknown as JsonObject);
    addNamespace(server, NS);
    // a user who may only read the Caravan resources of the namespace
    addServiceAccount(server, NS, 'viewer', 'viewer-token', [
      { apiGroups: [G], resources: ['listeners', 'connectors'], verbs: ['get', 'list', 'watch'] },
    ]);
    kc = join(dir, 'kubeconfig');
    await writeFile(kc, kubeconfig(server, { admin: ADMIN_TOKEN, viewer: 'viewer-token' }));
    bare = await startStandIn();
    addNamespace(bare, NS);
    await writeFile(join(dir, 'bare-kubeconfig'), kubeconfig(bare, { admin: ADMIN_TOKEN }));
  });
  after(async () => {
    await server?.close();
    await bare?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('site, listener and connector create make Custom Resources; bad input makes none', async () => {
    const site = await kube(['site', 'create', 'west', '--link-access', '--service-type', 'NodePort']);
    assert.equal(site.code, 0, site.stderr);
    assert.match(site.stdout, /Site west created in namespace shop/);
    assert.deepEqual(stored('sites', 'west')?.['spec'], {
      mode: 'interior',
      linkAccess: { type: 'NodePort' },
    });

    const l = await kube(['listener', 'create', 'db', '5432', '--routing-key', 'pg']);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /Listener db created in namespace shop: db:5432 -> routing key pg/);
    // the spec as given: the router applies the defaults
    assert.deepEqual(stored('listeners', 'db')?.['spec'], { port: 5432, routingKey: 'pg' });

    const c = await kube(['connector', 'create', 'redis', '6379', '--selector', 'app=redis,tier in (cache)']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /pods app=redis,tier in \(cache\):6379/);
    assert.deepEqual(stored('connectors', 'redis')?.['spec'], {
      port: 6379,
      selector: 'app=redis,tier in (cache)',
    });

    // checked as the router checks it, before anything is sent
    const both = await kube(['connector', 'create', 'x', '80', '--selector', 'app=x', '--host', 'x.example']);
    assert.equal(both.code, 4);
    assert.match(both.stderr, /spec\.selector: give either selector or host/);
    const badSel = await kube(['connector', 'create', 'y', '80', '--selector', 'app in ']);
    assert.equal(badSel.code, 4, badSel.stderr);
    assert.equal(stored('connectors', 'x'), undefined);
    assert.equal(stored('connectors', 'y'), undefined);

    const taken = await kube(['listener', 'create', 'db', '5433']);
    assert.equal(taken.code, 4);
    assert.match(taken.stderr, /Listener "db" already exists in namespace shop/);
    assert.equal((stored('listeners', 'db')?.['spec'] as JsonObject)['port'], 5432, 'unchanged');
  });

  test('list and status show the conditions the router wrote', async () => {
    const empty = await kube(['listener', 'status', 'db']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /none yet/);

    server.patchStatus(G, 'listeners', NS, 'db', {
      conditions: conditions(
        ['Configured', 'True', 'Configured', 'the spec is valid and applied'],
        ['Matched', 'False', 'NoConnector', 'no connector with routing key pg is reachable'],
        ['Ready', 'False', 'NotMatched', 'no connector'],
      ),
    });
    const list = await kube(['listener', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split('\n').find((x) => x.startsWith('db '));
    assert.ok(row, list.stdout);
    assert.match(row, /pg\s+db:5432\s+no\s+-\s+no \(NotMatched\)/);

    const detail = await kube(['listener', 'status', 'db']);
    assert.match(detail.stdout, /Service:\s+db:5432/);
    assert.match(
      detail.stdout,
      /Matched:\s+False NoConnector: no connector with routing key pg is reachable \(generation 1\)/,
    );

    const json = JSON.parse((await kube(['listener', 'list', '-o', 'json'])).stdout) as Array<{
      name: string;
      status?: { conditions: Array<{ type: string; status: string }> };
    }>;
    assert.deepEqual(
      json.find((r) => r.name === 'db')?.status?.conditions.map((c) => `${c.type}=${c.status}`),
      ['Configured=True', 'Matched=False', 'Ready=False'],
    );

    server.patchStatus(G, 'connectors', NS, 'redis', {
      conditions: conditions(
        ['Configured', 'True', 'Configured', 'ok'],
        ['Matched', 'True', 'PodsReady', '2 ready pods match selector app=redis,tier in (cache)'],
        ['Ready', 'True', 'Ready', 'ok'],
      ),
    });
    const cs = await kube(['connector', 'status', 'redis']);
    assert.equal(cs.code, 0, cs.stderr);
    assert.match(cs.stdout, /Target:\s+pods app=redis,tier=cache:6379/);
    assert.match(cs.stdout, /Matched:\s+True PodsReady: 2 ready pods match/);

    const missing = await kube(['listener', 'status', 'nope']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /no listener named 'nope' in namespace shop \(listeners: db\)/);
  });

  test('links: list, status and delete; the namespace status shows everything', async () => {
    server.put(G, 'links', {
      apiVersion: 'caravan.dev/v1alpha1',
      kind: 'Link',
      metadata: { name: 'hub', namespace: NS },
      spec: {
        endpoints: [{ host: 'hub.example.net', port: 55671 }],
        cost: 3,
        tls: { ca: 'links/hub/ca.crt', cert: 'links/hub/tls.crt', key: 'links/hub/tls.key' },
      },
    });
    server.patchStatus(G, 'links', NS, 'hub', {
      conditions: conditions(
        ['Configured', 'True', 'Configured', 'ok'],
        ['Ready', 'True', 'LinkUp', 'link up'],
      ),
    });
    const list = await kube(['link', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /hub\s+outbound\s+up\s+-\s+3\s+-\s+hub\.example\.net:55671\s+yes/);
    const st = await kube(['link', 'status', 'hub']);
    assert.match(st.stdout, /Ready:\s+True LinkUp: link up/);

    server.patchStatus(G, 'sites', NS, 'west', {
      conditions: conditions(['Ready', 'False', 'AddressPending', 'waiting for the node ports']),
    });
    const all = await kube(['status']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /Site:\s+west \(namespace shop\)/);
    assert.match(all.stdout, /Ready:\s+no \(AddressPending\)/);
    assert.match(all.stdout, /Links[\s\S]*hub[\s\S]*Listeners[\s\S]*db[\s\S]*Connectors[\s\S]*redis/);
    const site = await kube(['site', 'status']);
    assert.match(site.stdout, /Link access:\s+address pending/);

    const del = await kube(['link', 'delete', 'hub']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(stored('links', 'hub'), undefined);
    const again = await kube(['link', 'delete', 'hub']);
    assert.equal(again.code, 4);
    assert.match(again.stderr, /no link named 'hub' in namespace shop/);
  });

  test('token issue waits for the grant URL and writes the token; token redeem waits for the Link', async () => {
    const issuing = kube([
      'token',
      'issue',
      'west.token',
      '--redemptions',
      '2',
      '--name',
      'g1',
      '--wait',
      '90',
    ]);
    issuing.catch(() => undefined); // awaited below; a failure before then must not go unhandled
    // standing in for the router: it serves the grant and writes its URL and CA into the status
    const grant = await waitFor(() => stored('accessgrants', 'g1'), {
      what: 'the AccessGrant',
      timeoutMs: 90_000,
    });
    const spec = grant['spec'] as JsonObject;
    assert.equal(spec['redemptions'], 2);
    assert.match(String(spec['codeHash']), /^[0-9a-f]{64}$/);
    assert.equal(spec['code'], undefined, 'the code in clear never goes to the cluster');
    const ca = server.caPem as string;
    server.patchStatus(G, 'accessgrants', NS, 'g1', {
      url: 'https://west.example.net:55672/grants/g1',
      ca,
      expiresAt: '2030-01-01T00:00:00Z',
    });
    const issued = await issuing;
    assert.equal(issued.code, 0, issued.stderr);
    assert.match(issued.stdout, /Token written to west\.token/);
    const file = join(dir, 'west.token');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const token = parse(await readFile(file, 'utf8')) as { kind: string; spec: Record<string, unknown> };
    assert.equal(token.kind, 'AccessToken');
    assert.equal(token.spec['url'], 'https://west.example.net:55672/grants/g1');
    assert.equal(token.spec['ca'], ca);
    assert.equal(hashCode(String(token.spec['code'])), spec['codeHash']);

    const redeeming = kube(['token', 'redeem', 'west.token', '--name', 'to-west', '--wait', '90']);
    redeeming.catch(() => undefined);
    const at = await waitFor(() => stored('accesstokens', 'to-west'), {
      what: 'the AccessToken',
      timeoutMs: 90_000,
    });
    assert.equal((at['spec'] as JsonObject)['code'], token.spec['code']);
    // standing in for the router: the redemption made the Link of the token's name
    server.put(G, 'links', {
      apiVersion: 'caravan.dev/v1alpha1',
      kind: 'Link',
      metadata: { name: 'to-west', namespace: NS },
      spec: { endpoints: [{ host: 'west.example.net', port: 55671 }] },
    });
    const redeemed = await redeeming;
    assert.equal(redeemed.code, 0, redeemed.stderr);
    assert.match(redeemed.stdout, /Link to-west made/);
  });

  test('a router that never serves the grant: timeout naming the router, and the grant is removed', async () => {
    const r = await kube(['token', 'issue', 'late.token', '--name', 'g2', '--wait', '1']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /timed out after 1 s waiting for the router to serve grant g2/);
    assert.match(r.stderr, /router of namespace shop may not be running/);
    assert.equal(stored('accessgrants', 'g2'), undefined);
    await assert.rejects(stat(join(dir, 'late.token')));
  });

  test('CARAVAN_PLATFORM=kubernetes selects the namespace as --kube does; host keeps host sites', async () => {
    const env = { CARAVAN_PLATFORM: 'kubernetes', KUBECONFIG: kc };
    const list = await caravan(['connector', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^redis\s/m);
    const json = JSON.parse((await caravan(['site', 'status', '-o', 'json'], env)).stdout) as {
      namespace: string;
      site: string;
    };
    assert.deepEqual([json.namespace, json.site], [NS, 'west']);
    // host (or unset): the Kubernetes options are refused as without --kube
    const host = await caravan(['listener', 'list', '--namespace', NS], { CARAVAN_PLATFORM: 'host' });
    assert.equal(host.code, 2, host.stderr);
    assert.match(host.stderr, /--namespace needs --kube/);
    const bad = await caravan(['listener', 'list'], { CARAVAN_PLATFORM: 'k8s', KUBECONFIG: kc });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /CARAVAN_PLATFORM must be one of: host, kubernetes \(got 'k8s'\)/);
  });

  test('apply -f / delete -f: the host files become Custom Resources, with the spec as written', async () => {
    const writes = (): number => server.requests.filter((r) => r.method !== 'GET').length;
    const head = (kind: string, name: string): string =>
      `apiVersion: caravan.dev/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;
    const apps =
      `${head('Listener', 'web')}  labels:\n    tier: front\nspec:\n  port: 8080\n  routingKey: web\n---\n` +
      `${head('Connector', 'cache')}spec:\n  port: 6379\n  selector: app=cache\n---\n` +
      `${head('Site', 'west')}spec:\n  linkAccess:\n    type: ClusterIP\n    port: 55671\n`;
    await writeFile(join(dir, 'apps.yaml'), apps);
    const first = await kube(['apply', '-f', 'apps.yaml']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trim().split('\n'), [
      'Listener/web created',
      'Connector/cache created',
      'Site/west configured',
    ]);
    // the spec as the user wrote it (no defaults), the Kubernetes-only fields kept
    assert.deepEqual(stored('listeners', 'web')?.['spec'], { port: 8080, routingKey: 'web' });
    assert.equal(
      ((stored('listeners', 'web')?.['metadata'] as JsonObject)['labels'] as JsonObject)['tier'],
      'front',
    );
    assert.deepEqual(stored('connectors', 'cache')?.['spec'], { port: 6379, selector: 'app=cache' });
    assert.deepEqual(stored('sites', 'west')?.['spec'], { linkAccess: { type: 'ClusterIP', port: 55671 } });

    const again = await kube(['apply', '-f', 'apps.yaml', '-o', 'json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      (JSON.parse(again.stdout) as Array<{ action: string }>).map((r) => r.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );

    // a write that loses a race (409) is retried once on a fresh read
    await writeFile(join(dir, 'apps.yaml'), apps.replace('port: 8080', 'port: 8081'));
    const isWebPut = (m: string, path: string): boolean => m === 'PUT' && path.includes('/listeners/web');
    server.injectFault({ match: isWebPut, kind: 409 });
    const changed = await kube(['apply', '-f', 'apps.yaml']);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /^Listener\/web configured$/m);
    assert.match(changed.stdout, /^Connector\/cache unchanged$/m);
    assert.equal((stored('listeners', 'web')?.['spec'] as JsonObject)['port'], 8081);
    assert.equal(server.requests.filter((r) => isWebPut(r.method, r.path)).length, 2);

    // an invalid document: file, document and field named, and nothing is sent
    const before = writes();
    await writeFile(
      join(dir, 'bad.yaml'),
      `${head('Listener', 'ok')}spec:\n  port: 9000\n---\n${head('Listener', 'worse')}spec:\n  port: 99999\n`,
    );
    const bad = await kube(['apply', '-f', 'bad.yaml']);
    assert.equal(bad.code, 4, bad.stderr);
    assert.match(bad.stderr, /bad\.yaml: document 2, Listener "worse": spec\.port: /);
    await writeFile(
      join(dir, 'sel.yaml'),
      `${head('Connector', 'c2')}spec:\n  port: 80\n  selector: 'app in '\n`,
    );
    const sel = await kube(['apply', '-f', 'sel.yaml']);
    assert.equal(sel.code, 4, sel.stderr);
    assert.match(sel.stderr, /sel\.yaml: Connector "c2": spec\.selector/);
    await writeFile(join(dir, 'east.yaml'), `${head('Site', 'east')}spec: {}\n`);
    const east = await kube(['apply', '-f', 'east.yaml']);
    assert.equal(east.code, 4, east.stderr);
    assert.match(
      east.stderr,
      /Site "east": metadata\.name: namespace shop holds exactly one Site, and it is "west"/,
    );
    assert.equal(writes(), before, 'nothing was written');
    assert.equal(stored('listeners', 'ok'), undefined);

    // on a host site the Kubernetes-only fields are refused, naming --kube
    const host = await caravan(['apply', '-f', 'apps.yaml']);
    assert.equal(host.code, 4, host.stderr);
    assert.match(
      host.stderr,
      /Connector "cache": spec\.selector: only a Kubernetes site reads this field .*--kube/,
    );
    assert.match(host.stderr, /Site "west": spec\.linkAccess\.type: only a Kubernetes site reads this field/);

    // delete -f: every resource must exist, the Site is not deleted this way
    await writeFile(join(dir, 'services.yaml'), apps.split('---\n').slice(0, 2).join('---\n'));
    const siteToo = await kube(['delete', '-f', 'apps.yaml']);
    assert.equal(siteToo.code, 4);
    assert.match(siteToo.stderr, /Site "west": kind: .*caravan site delete --kube/);
    await writeFile(join(dir, 'missing.yaml'), `${head('Listener', 'ok')}spec:\n  port: 9000\n`);
    const missing = await kube(['delete', '-f', 'services.yaml', '-f', 'missing.yaml']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /Listener "ok": metadata\.name: not found in namespace shop/);
    assert.ok(stored('listeners', 'web'), 'nothing deleted while one is missing');
    const del = await kube(['delete', '-f', 'services.yaml']);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(del.stdout.trim().split('\n'), ['Listener/web deleted', 'Connector/cache deleted']);
    assert.equal(stored('listeners', 'web'), undefined);
    assert.equal(stored('connectors', 'cache'), undefined);
    const ignored = await kube(['delete', '-f', 'services.yaml', '--ignore-not-found']);
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.match(ignored.stdout, /Listener\/web not found/);
  });

  test('errors: no kubeconfig, no CRDs, forbidden, no such object', async () => {
    const none = await caravan(['listener', 'list', '--kube'], { KUBECONFIG: join(dir, 'nothing') });
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no kubeconfig: .*give --kubeconfig FILE or set KUBECONFIG/);

    const noCrds = await caravan([
      'listener',
      'list',
      '--kube',
      '--kubeconfig',
      join(dir, 'bare-kubeconfig'),
    ]);
    assert.equal(noCrds.code, 3, noCrds.stderr);
    assert.match(noCrds.stderr, /Caravan CRDs are not installed/);

    const viewer = ['--kube', '--kubeconfig', kc, '--context', 'viewer'];
    const denied = await caravan(['listener', 'create', 'web', '8080', ...viewer]);
    assert.equal(denied.code, 6);
    assert.match(denied.stderr, /forbidden: you may not create listeners\.caravan\.dev in namespace shop/);
    assert.equal(stored('listeners', 'web'), undefined);

    const del = await kube(['listener', 'delete', 'db']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(stored('listeners', 'db'), undefined);
  });

  test('network status reads the summary the router writes into its Site status, as on a host site', async () => {
    const none = await kube(['network', 'status']);
    assert.equal(none.code, 5, none.stderr);
    assert.match(none.stderr, /site west has no status\.network yet/);
    // standing in for the router: its view of the network, in the Site's status
    server.patchStatus(G, 'sites', NS, 'west', {
      network: {
        updatedAt: '2026-01-01T00:00:00Z',
        sites: [
          {
            site: 'west',
            router: 'west-r1',
            mode: 'interior',
            reachable: true,
            self: true,
            platform: 'linux/x64 node v20',
            listeners: 2,
            links: [{ site: 'hub', router: 'hub-r2', cost: 3 }],
            services: [{ key: 'db', connectors: 2 }],
          },
          {
            site: 'hub\u001b[31m',
            router: 'hub-r2',
            mode: 'interior',
            reachable: true,
            self: false,
            links: [{ site: 'west', router: 'west-r1', cost: 3 }],
            services: [{ key: 'web', connectors: 1 }],
          },
        ],
      },
    });
    const table = await kube(['network', 'status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Network seen from site west: 2 sites/);
    assert.match(table.stdout, /west \(this site\)\s+west-r1\s+interior\s+yes\s+hub\(3\)\s+db\(2\)/);
    assert.match(table.stdout, /hub\S*\s+hub-r2\s+interior\s+yes\s+west\(3\)\s+web/);
    assert.ok(!table.stdout.includes('\u001b'), 'a name from a peer is escaped for the terminal');
    const json = JSON.parse((await kube(['network', 'status', '-o', 'json'])).stdout) as {
      from: string;
      namespace: string;
      sites: Array<{
        site: string;
        self: boolean;
        platform?: string;
        listeners?: number;
        links: Array<{ cost: number }>;
      }>;
    };
    assert.deepEqual([json.sites[0]?.platform, json.sites[0]?.listeners], ['linux/x64 node v20', 2]);
    assert.equal(json.from, 'west');
    assert.equal(json.namespace, NS);
    assert.deepEqual(
      json.sites.map((x) => [x.self, x.links[0]?.cost]),
      [
        [true, 3],
        [false, 3],
      ],
    );
  });

  test("site delete: the namespace's Site, with --force while it is Ready; none left is a clear error", async () => {
    const other = await kube(['site', 'delete', 'east']);
    assert.equal(other.code, 4, other.stderr);
    assert.match(other.stderr, /no site named 'east' in namespace shop \(its Site is west\)/);
    server.patchStatus(G, 'sites', NS, 'west', {
      conditions: conditions(['Ready', 'True', 'Ready', 'the site runs']),
    });
    const running = await kube(['site', 'delete']);
    assert.equal(running.code, 5, running.stderr);
    assert.match(running.stderr, /site west is running in namespace shop .*use --force/);
    assert.ok(stored('sites', 'west'), 'not deleted without --force');
    const del = await kube(['site', 'delete', 'west', '--force']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /Site west deleted from namespace shop; its Secrets .* go with it/);
    assert.equal(stored('sites', 'west'), undefined);
    const none = await kube(['site', 'delete']);
    assert.equal(none.code, 4, none.stderr);
    assert.match(none.stderr, /namespace shop has no Site: nothing to delete/);
  });
});
