/**
 * A Kubernetes site with real parts: the API server stand-in (test/support/kube-apiserver: real HTTPS, driven by
 * the router through @kubernetes/client-node), a real `caravan-router --kube --kubeconfig …` process acting as the
 * namespace's service account under the Role of the install manifests, and a real host site (its own router
 * process) it links to. The test applies Site, Link, Listener and Connector Custom Resources and checks what the
 * router does with them: the Listener's Service appears, statuses become Ready/Matched, bytes flow through the
 * kube site's listener across the link to a server behind the host site (and back the other way), a renamed or
 * deleted Listener loses its Service and its port, the stand-in restarted (with its watch history compacted, so
 * watches get 410) does not stop the router, and a router killed and started again comes back.
 *
 * Both routers run on 127.0.0.1 of the test machine, next to the stand-in inside the test process. Separate
 * networks (two clusters with the same pod CIDR, one that only dials out, LoadBalancer addresses in tokens) are
 * test/e2e/kube-clusters.test.ts, whose routers reach their stand-ins through veths into the host's namespace.
 *
 * What a real cluster would still prove: that the Role passes the real RBAC (escalation, aggregation), that the
 * real API server admits the objects (CRD validation beyond the stand-in's subset, Service defaulting and
 * immutable fields, admission webhooks, pod security), that kube-proxy sends a Service's traffic to the router
 * pod, the real garbage collector, in-cluster auth with a projected (rotated) token, pod restarts by the
 * Deployment with the Recreate strategy, LoadBalancer and NodePort addresses, and real watch timeouts.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { AdminClient } from '../../src/admin/client.js';
import type { StatusSnapshot } from '../../src/admin/types.js';
import type { Condition } from '../../src/api/index.js';
import type { KubeObject } from '../../src/kube/api.js';
import { connectKube, type ClientNodeKubeApi } from '../../src/kube/client-node.js';
import { kindRef, SECRETS, SERVICES } from '../../src/kube/controller/index.js';
import { crdManifests, role } from '../../src/kube/manifests.js';
import { generateCode, hashCode, redeemToken } from '../../src/site/grants/index.js';
import { ROUTER_NODE_FLAGS } from '../../src/site/node-flags.js';
import {
  ADMIN_TOKEN,
  addNamespace,
  addServiceAccount,
  startStandIn,
  type JsonObject,
  type KubeApiServer,
  standInKubeconfig,
} from '../support/kube-apiserver/index.js';
import { cli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { repoRoot, spawnManaged, stopAllProcesses, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const NS = 'shop';
const HOST = '127.0.0.1';
const SA_TOKEN = 'router-sa-token';

/** A server that answers every line with `<tag>:<line>`. */
function echoServer(tag: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => {
    s.setEncoding('utf8');
    s.on('data', (d: string) => s.write(`${tag}:${d}`));
    s.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, HOST, () => resolve({ server, port: (server.address() as net.AddressInfo).port })),
  );
}

/** Sends `line` to HOST:port and resolves with the first answer. */
function ask(port: number, line: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: HOST, port });
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer on port ${port}`));
    }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line));
    c.on('data', (d: string) => {
      clearTimeout(t);
      c.destroy();
      resolve(d);
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

const condition = (obj: KubeObject | undefined, type: string): Condition | undefined =>
  ((obj as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? []).find(
    (c) => c.type === type,
  );

describe('a Kubernetes site run by caravan-router --kube', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let server: KubeApiServer;
  let admin: ClientNodeKubeApi;
  let hub: TestSite;
  let kubeconfig: string;
  let stateDir: string;
  let routerId: string;
  let token: { spec: unknown };
  let router: ManagedProcess;
  let hubEcho: Awaited<ReturnType<typeof echoServer>>;
  let kubeEcho: Awaited<ReturnType<typeof echoServer>>;
  let listenPort: number;
  let hubListenPort: number;

  const routerArgs = (): string[] => [
    ...ROUTER_NODE_FLAGS,
    join(repoRoot, 'bin', 'caravan-router.js'),
    '--kube',
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    NS,
    '--dir',
    stateDir,
    '--log-level',
    'debug',
  ];
  const startRouter = (): ManagedProcess =>
    spawnManaged(process.execPath, routerArgs(), { label: 'router-kube', env: { ...process.env } });
  const kubeStatus = (): Promise<StatusSnapshot> =>
    new AdminClient(join(stateDir, 'runtime', 'admin.sock')).status();

  const get = async (kind: Parameters<typeof kindRef>[0], name: string): Promise<KubeObject | undefined> =>
    admin.get(kindRef(kind), NS, name).catch(() => undefined);
  const apply = (kind: Parameters<typeof kindRef>[0], name: string, spec: unknown): Promise<KubeObject> =>
    admin.create(kindRef(kind), NS, {
      apiVersion: 'caravan.dev/v1alpha1',
      kind,
      metadata: { name, namespace: NS },
      spec,
    } as KubeObject);
  const service = (name: string): Promise<KubeObject | undefined> =>
    admin.get(SERVICES, NS, name).catch(() => undefined);
  const waitCondition = (
    kind: Parameters<typeof kindRef>[0],
    name: string,
    type: string,
    status = 'True',
    timeoutMs = 20_000,
  ): Promise<Condition> =>
    waitFor(
      async () => {
        const c = condition(await get(kind, name), type);
        return c?.status === status ? c : undefined;
      },
      { what: `${kind}/${name} ${type}=${status}`, timeoutMs },
    );

  before(async () => {
    root = await makeTempRoot('kube');
    hubEcho = await echoServer('hub');
    kubeEcho = await echoServer('kube');

    // the host site: accepts links, serves `echo`, and listens for the kube site's `kdb`
    hub = await TestSite.create(join(root.dir, 'sites'), {
      name: 'hub',
      linkAccess: { host: HOST, port: 0 },
    });
    await hub.addConnector({ name: 'echo', port: hubEcho.port });
    hubListenPort = await freePort();
    await hub.addListener({ name: 'kdb', port: hubListenPort });
    hub.start();
    assert.ok((await hub.ready()).router.linkAccess?.port);

    // the "cluster": CRDs, a namespace, the router's service account with the install's Role
    server = await startStandIn();
    for (const crd of crdManifests())
      server.put('apiextensions.k8s.io', 'customresourcedefinitions', crd as JsonObject);
    addNamespace(server, NS);
    const rules = (
      role({ namespace: NS, image: 'caravan/router:test' }) as unknown as { rules: JsonObject[] }
    ).rules;
    addServiceAccount(server, NS, 'caravan-router', SA_TOKEN, rules);
    admin = connectKube({
      mode: 'explicit',
      server: server.url,
      token: ADMIN_TOKEN,
      caPem: server.caPem!,
    }).api;
    kubeconfig = join(root.dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, standInKubeconfig(server, { router: SA_TOKEN }, NS));

    stateDir = join(root.dir, 'kube-state');
    // a token of the hub, issued with the real CLI; the kube site redeems it as an AccessToken resource
    const tokenFile = join(root.dir, 'east.token');
    const issued = await cli(['token', 'issue', tokenFile, '--host', HOST, '--name', 'east'], {
      env: { CARAVAN_HOME: root.dir },
    });
    assert.equal(issued.code, 0, issued.stderr);
    token = parse(await readFile(tokenFile, 'utf8')) as { spec: unknown };

    listenPort = await freePort();
    router = startRouter();
    await router.waitForOutput(/kubernetes mode/);

    await apply('Site', 'east', { routing: { helloIntervalMs: 100, deadIntervalMs: 1000 } });
    await apply('AccessToken', 'to-hub', token.spec);
    await apply('Listener', 'echo', { port: listenPort, host: HOST, routingKey: 'echo' });
    await apply('Connector', 'kdb', { host: HOST, port: kubeEcho.port, routingKey: 'kdb' });
  });

  after(async () => {
    await stopAllProcesses();
    hubEcho?.server.close();
    kubeEcho?.server.close();
    await server?.close();
    await root?.remove();
  });

  test('the router runs the namespace: Service made, statuses Ready and Matched, link up', async () => {
    const svc = await waitFor(() => service('echo'), { what: 'Service echo', timeoutMs: 20_000 });
    const spec = (svc as { spec?: { ports?: Array<{ port: number }>; selector?: Record<string, string> } })
      .spec;
    assert.equal(spec?.ports?.[0]?.port, listenPort);
    assert.deepEqual(spec?.selector, { 'app.kubernetes.io/name': 'caravan-router' });
    const redeemed = await waitCondition('AccessToken', 'to-hub', 'Ready');
    assert.equal(redeemed.reason, 'Redeemed');
    await waitCondition('Link', 'to-hub', 'Ready');
    const matched = await waitCondition('Listener', 'echo', 'Matched');
    assert.equal(matched.reason, 'Matched');
    await waitCondition('Listener', 'echo', 'Ready');
    await waitCondition('Connector', 'kdb', 'Matched');
    await waitCondition('Connector', 'kdb', 'Ready');
    await waitCondition('Site', 'east', 'Ready');
    const site = await get('Site', 'east');
    routerId = (site as { status?: { routerId?: string } }).status?.routerId ?? '';
    assert.match(routerId, /^east-/);
    assert.equal((await kubeStatus()).router.id, routerId, 'the router id derives from the identity Secret');

    // the router's view of the network, in the Site's status for the CLI outside the pod
    type Net = { sites?: Array<{ site: string; self: boolean; links: Array<{ site: string }> }> };
    const net = await waitFor(
      async () => {
        const n = ((await get('Site', 'east')) as { status?: { network?: Net } } | undefined)?.status
          ?.network;
        const self = n?.sites?.find((x) => x.self);
        return self?.site === 'east' &&
          self.links.some((l) => l.site === 'hub') &&
          n?.sites?.some((x) => x.site === 'hub' && !x.self)
          ? n
          : undefined;
      },
      { what: 'status.network of Site east listing east and hub', timeoutMs: 30_000 },
    );
    assert.equal(net.sites?.[0]?.site, 'east', 'this site first');
    const hubEntry = net.sites?.find((x) => x.site === 'hub') as { listeners?: number; platform?: string };
    assert.equal(hubEntry.listeners, 1, 'the hub advertises its listener kdb');
    assert.match(hubEntry.platform ?? '', /node/);
    const shown = await cli(['network', 'status', '--kube', '--kubeconfig', kubeconfig, '--namespace', NS]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /east \(this site\)\s+east-\S+\s+interior\s+yes\s+hub\(1\)/);
  });

  test('link access added to the Site: CA and server certificate generated, acceptor bound, Site Ready', async () => {
    const [port, grantPort] = [await freePort(), await freePort()];
    await admin.patch(kindRef('Site'), NS, 'east', {
      spec: { linkAccess: { type: 'ClusterIP', host: HOST, hosts: [HOST], port, grantPort } },
    });
    await waitFor(() => service('caravan-link-access'), {
      what: 'Service caravan-link-access',
      timeoutMs: 20_000,
    });
    const st = await waitFor(
      async () => {
        const s = await kubeStatus().catch(() => undefined);
        return s?.router.linkAccess?.port === port ? s : undefined;
      },
      { what: 'the router to accept links', timeoutMs: 20_000 },
    );
    assert.equal(st.router.id, routerId, 'the same router, reconfigured in place');
    const ready = await waitFor(
      async () => {
        const c = condition(await get('Site', 'east'), 'Ready');
        return c?.status === 'True' && /links accepted/.test(c.message ?? '') ? c : undefined;
      },
      { what: 'Site Ready with link access', timeoutMs: 20_000 },
    );
    assert.match(ready.message ?? '', new RegExp(`port ${port}`));
    for (const name of ['caravan-site-ca', 'caravan-site-server'])
      assert.ok(await admin.get(SECRETS, NS, name), `Secret ${name} generated`);
  });

  test('a token from the namespace: an AccessGrant gets its URL and CA, a host site redeems it and links in', async () => {
    const code = generateCode();
    await apply('AccessGrant', 'for-west', { redemptions: 1, codeHash: hashCode(code) });
    const grant = await waitFor(
      async () => {
        const g = await get('AccessGrant', 'for-west');
        const st = (g as { status?: Record<string, unknown> } | undefined)?.status;
        return typeof st?.['url'] === 'string' && typeof st['ca'] === 'string' ? st : undefined;
      },
      { what: 'the AccessGrant status url and ca', timeoutMs: 20_000 },
    );
    assert.match(String(grant['url']), /^https:\/\/127\.0\.0\.1:\d+\/v1\/grants\/for-west$/);
    assert.match(String(grant['ca']), /BEGIN CERTIFICATE/);
    assert.ok(typeof grant['expiresAt'] === 'string', 'the grant says when it expires');
    // the running router serves the grant once it runs the configuration that holds it
    await waitFor(
      async () =>
        (await kubeStatus()).resources.some((r) => r.kind === 'AccessGrant' && r.name === 'for-west') ||
        undefined,
      { what: 'the router to serve the grant', timeoutMs: 20_000 },
    );
    const west = await TestSite.create(join(root.dir, 'sites'), { name: 'west' });
    await redeemToken(west.dir, {
      apiVersion: 'caravan.dev/v1alpha1',
      kind: 'AccessToken',
      metadata: { name: 'for-west' },
      spec: { url: String(grant['url']), code, ca: String(grant['ca']) },
    });
    west.start();
    await west.ready();
    await waitFor(
      async () => (await west.status()).links.find((l) => l.state === 'up' && l.neighbor === routerId),
      { what: 'west linked to the namespace', timeoutMs: 30_000 },
    );
    // the redemption count is kept in the cluster and shown in the grant's status
    await waitFor(
      async () => {
        const g = await get('AccessGrant', 'for-west');
        return (
          (g as { status?: Record<string, unknown> } | undefined)?.status?.['redeemed'] === 1 || undefined
        );
      },
      { what: 'the AccessGrant to count the redemption', timeoutMs: 20_000 },
    );
  });

  test('bytes flow both ways across the link', async () => {
    await waitFor(() => ask(listenPort, 'ping\n').catch(() => undefined), {
      what: 'echo through the kube listener',
      timeoutMs: 15_000,
    });
    assert.equal(await ask(listenPort, 'ping\n'), 'hub:ping\n');
    await hub.seesKey('kdb');
    assert.equal(await ask(hubListenPort, 'db\n'), 'kube:db\n');
  });

  test('a Site field fixed for a router lifetime changed: the router restarts in place, same id, links back', async () => {
    const before = await kubeStatus();
    const site = await admin.patch(kindRef('Site'), NS, 'east', {
      spec: { routing: { helloIntervalMs: 150, deadIntervalMs: 1200 } },
    });
    const generation = (site.metadata as { generation?: number }).generation;
    await router.waitForOutput(/router restarted from the namespace/, { timeoutMs: 20_000 });
    const after = await waitFor(
      async () => {
        const s = await kubeStatus().catch(() => undefined);
        return s && s.router.startedAt !== before.router.startedAt && s.links.some((l) => l.state === 'up')
          ? s
          : undefined;
      },
      { what: 'the restarted router with its link up', timeoutMs: 20_000 },
    );
    assert.equal(after.router.id, before.router.id, 'the same router id');
    const ready = await waitFor(
      async () => {
        const c = condition(await get('Site', 'east'), 'Configured');
        return c?.status === 'True' && c.observedGeneration === generation ? c : undefined;
      },
      { what: 'Site Configured for the new generation', timeoutMs: 20_000 },
    );
    assert.notEqual(ready.reason, 'RestartRequired');
    await waitCondition('Site', 'east', 'Ready');
    assert.equal(
      await waitFor(() => ask(listenPort, 'again\n').catch(() => undefined), {
        what: 'echo through the restarted router',
        timeoutMs: 15_000,
      }),
      'hub:again\n',
    );
  });

  test('a renamed Listener Service is replaced; a deleted Listener loses its Service and its port', async () => {
    await admin.patch(kindRef('Listener'), NS, 'echo', { spec: { host: 'echo-svc' } });
    await waitFor(() => service('echo-svc'), { what: 'Service echo-svc', timeoutMs: 20_000 });
    await waitFor(async () => ((await service('echo')) ? undefined : true), {
      what: 'Service echo deleted by the router',
      timeoutMs: 20_000,
    });
    await waitFor(() => ask(listenPort, 'again\n').catch(() => undefined), {
      what: 'the listener to serve on all addresses after the rename',
      timeoutMs: 15_000,
    });
    await admin.delete(kindRef('Listener'), NS, 'echo');
    await waitFor(async () => ((await service('echo-svc')) ? undefined : true), {
      what: 'Service echo-svc gone',
      timeoutMs: 20_000,
    });
    await waitFor(
      async () => {
        const s = await kubeStatus().catch(() => undefined);
        return s && !s.listeners.some((x) => x.name === 'echo') ? true : undefined;
      },
      { what: 'the router to close the listener', timeoutMs: 20_000 },
    );
    await assert.rejects(ask(listenPort, 'closed?\n', 1000));
  });

  test('the API server restarted and its watch history compacted (410): the router keeps following', async () => {
    await server.restart({ keepState: true });
    server.compact();
    const mark = server.requests.length;
    const port = await freePort();
    await apply('Listener', 'echo2', { port, host: HOST, routingKey: 'echo' });
    await waitFor(() => service('echo2'), { what: 'Service echo2 after the restart', timeoutMs: 30_000 });
    await waitCondition('Listener', 'echo2', 'Ready', 'True', 30_000);
    assert.equal(
      await waitFor(() => ask(port, 'x\n').catch(() => undefined), { what: 'echo2', timeoutMs: 15_000 }),
      'hub:x\n',
    );
    const relists = server.requests
      .slice(mark)
      .filter((r) => r.method === 'GET' && /\/listeners(\?|$)/.test(r.path) && !/watch=/.test(r.path));
    assert.ok(relists.length > 0, 'the router listed again after its watches expired');
    const metrics = await new AdminClient(join(stateDir, 'runtime', 'admin.sock')).metrics();
    assert.match(metrics, /caravan_kube_reconciles_total \d+/);
  });

  test('the router killed and started again on an empty folder comes back with the same router id', async () => {
    router.kill('SIGKILL');
    await router.exited;
    // a new pod: nothing survives but what the cluster holds
    stateDir = join(root.dir, 'kube-state-2');
    router = startRouter();
    await waitFor(
      async () => {
        const s = await kubeStatus().catch(() => undefined);
        return s && s.router.pid !== undefined && s.listeners.some((l) => l.name === 'echo2' && l.port)
          ? s
          : undefined;
      },
      { what: 'the restarted router to serve echo2', timeoutMs: 30_000 },
    );
    assert.equal((await kubeStatus()).router.id, routerId);
    const port = (await kubeStatus()).listeners.find((l) => l.name === 'echo2')!.port!;
    assert.equal(
      await waitFor(() => ask(port, 'y\n').catch(() => undefined), {
        what: 'echo2 again',
        timeoutMs: 15_000,
      }),
      'hub:y\n',
    );
  });

  test('SIGTERM stops the router cleanly', async () => {
    router.kill('SIGTERM');
    const exit = await router.exited;
    assert.equal(exit.code, 0);
    await router.waitForOutput(/controller stopped/);
  });
});
