/**
 * Two Kubernetes "clusters" and a host site across real separate networks (Linux network namespaces), run only
 * through Custom Resources applied as `kubectl apply` would:
 *
 *   test process: API stand-in A on 10.250.x.1            API stand-in B on 10.250.y.1
 *                  │ veth 10.250.x.0/30                      │ veth 10.250.y.0/30
 *   cluster-a (pod network 10.244.0.0/24)                  cluster-b (pod network 10.244.0.0/24, the same)
 *     router pod 10.244.0.5, client 10.244.0.20              router pod 10.244.0.5, redis pods .11 and .12
 *     node 100.64.1.2 ═══════════════╗          ╔═════════════ node 100.64.2.2 (drops every inbound connection)
 *                                    wan (forwards)
 *                                    ║ 100.64.3.0/30
 *                                    host site h (100.64.3.2)
 *
 * Each cluster is an API server stand-in (test/support/kube-apiserver: real HTTPS, list/watch, status
 * subresource, RBAC, owner references), one per cluster inside the test process, plus a network namespace that
 * holds the cluster's pod network. Each router is a real `caravan-router --kube` process started in its cluster's
 * namespace as the Deployment starts it: a kubeconfig for the site's service account, whose only rights are the
 * namespace Role of the install manifests. The test plays the rest of the cluster: it applies resources, writes
 * Pod objects with their IPs and Ready conditions (the kubelet), and writes the link-access Service's
 * LoadBalancer address (the cloud controller). A stand-in, because these machines have no API server and no
 * container engine to run one.
 *
 * There is no kube-proxy here: a client in cluster A connects to the router pod's IP on the port of the
 * Listener's Service, which is where kube-proxy would forward the Service's ClusterIP to.
 *
 * What a real cluster would still prove: kube-proxy (or a CNI's) forwarding of a ClusterIP Service to the router
 * pod, the real RBAC (escalation, aggregation) and admission, a real CNI pod network, a LoadBalancer provisioned
 * by a cloud controller, the real garbage collector, in-cluster auth with a projected (rotated) token, and a pod
 * restarted by the Deployment (here the test kills the process and starts a new one on an empty folder).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { AdminClient } from '../../src/admin/client.js';
import type { StatusSnapshot } from '../../src/admin/types.js';
import type { Condition, Kind } from '../../src/api/index.js';
import type { KubeObject } from '../../src/kube/api.js';
import { connectKube, type ClientNodeKubeApi } from '../../src/kube/client-node.js';
import { kindRef, PODS, SECRETS, SERVICES } from '../../src/kube/controller/index.js';
import { crdManifests, role, SELECTOR } from '../../src/kube/manifests.js';
import { generateCode, hashCode } from '../../src/site/grants/index.js';
import { ROUTER_NODE_FLAGS } from '../../src/site/node-flags.js';
import { cli } from '../support/cli.js';
import {
  ADMIN_TOKEN,
  addNamespace,
  addServiceAccount,
  startStandIn,
  type JsonObject,
  type KubeApiServer,
  standInKubeconfig,
} from '../support/kube-apiserver/index.js';
import { NetLab, startRedis, tcpProbe, type Host } from '../support/netns.js';
import { repoRoot, type ManagedProcess } from '../support/proc.js';
import { skipUnless } from '../support/skip.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const skip = skipUnless(process.getuid?.() === 0, 'needs root (network namespaces)');

const ROUTER_POD_IP = '10.244.0.5';
const CLIENT_IP = '10.244.0.20';
const REDIS_PODS = [
  { name: 'redis-0', ip: '10.244.0.11' },
  { name: 'redis-1', ip: '10.244.0.12' },
] as const;
const NODE_A = '100.64.1.2';
/** The test machine's ends of the veths to the clusters (per process, so two runs never share an address). */
const API_NET = '10.250';
const API_A = (process.pid % 127) * 2;
const API_B = API_A + 1;
const LINK_PORT = 55671;
const GRANT_PORT = 55672;
const REDIS_PORT = 6379;
const LISTEN_PORT = 16379;
const SA = 'caravan-router';
const CARAVAN = join(repoRoot, 'bin', 'caravan.js');

interface Cluster {
  name: 'a' | 'b';
  namespace: string;
  site: string;
  host: Host;
  server: KubeApiServer;
  admin: ClientNodeKubeApi;
  /** the service account's kubeconfig (what the Deployment mounts) */
  kubeconfig: string;
  /** the same cluster as its administrator (for the CLI) */
  adminKubeconfig: string;
  stateDir: string;
  router?: ManagedProcess;
}

const kubeconfigYaml = (server: KubeApiServer, token: string, namespace: string): string =>
  standInKubeconfig(server, { user: token }, namespace);

const conditionOf = (obj: KubeObject | undefined, type: string): Condition | undefined =>
  ((obj as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? []).find(
    (c) => c.type === type,
  );
const statusOf = (obj: KubeObject | undefined): Record<string, unknown> | undefined =>
  (obj as { status?: Record<string, unknown> } | undefined)?.status;

/**
 * A client in cluster A's pod network: opens one new connection after another to the listener, each doing
 * `GET whoami` (which redis pod answered), `SET key value` and `GET key`, and prints one JSON line per
 * connection. Stops on SIGTERM.
 */
const CLIENT_LOOP_JS = `
const net = require('node:net');
const [host, port, localAddress, tag] = process.argv.slice(1);
let i = 0;
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
function replies(buf) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf('\\r\\n', at);
    if (nl < 0) return undefined;
    const head = buf.slice(at, nl);
    if (head[0] === '+' || head[0] === '-') { out.push(head); at = nl + 2; continue; }
    if (head[0] === '$') {
      const n = Number(head.slice(1));
      if (n < 0) { out.push(null); at = nl + 2; continue; }
      if (buf.length < nl + 2 + n + 2) return undefined;
      out.push(buf.slice(nl + 2, nl + 2 + n)); at = nl + 4 + n; continue;
    }
    out.push('?' + head); at = nl + 2;
  }
  return out;
}
function once() {
  const n = ++i;
  const key = tag + '-' + n;
  const value = 'v' + n + '-' + Date.now();
  const started = Date.now();
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const finish = (r) => {
      if (done) return; done = true; clearTimeout(timer); sock.destroy();
      console.log(JSON.stringify({ n, ms: Date.now() - started, ...r })); resolve();
    };
    const sock = net.connect({ host, port: Number(port), localAddress });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout', got: buf }), 5000);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('GET whoami\\r\\nSET ' + key + ' ' + value + '\\r\\nGET ' + key + '\\r\\n'));
    sock.on('data', (d) => {
      buf += d;
      const r = replies(buf);
      if (!r || r.length < 3) return;
      const ok = r[1] === '+OK' && r[2] === value && typeof r[0] === 'string';
      finish(ok ? { ok, who: r[0] } : { ok, error: 'bad replies', got: r });
    });
    sock.on('error', (e) => finish({ ok: false, error: e.code || e.message }));
    sock.on('close', () => finish({ ok: false, error: 'closed', got: buf }));
  });
}
(async () => {
  while (!stopping) {
    await once();
    await new Promise((r) => setTimeout(r, 20));
  }
  process.exit(0);
})();
`;

/** Opens one connection, prints `who <pod>` (GET whoami) and holds it open until SIGTERM. */
const HOLD_JS = `
const net = require('node:net');
const [host, port, localAddress] = process.argv.slice(1);
const sock = net.connect({ host, port: Number(port), localAddress });
let buf = '';
sock.setEncoding('utf8');
sock.on('connect', () => sock.write('GET whoami\\r\\n'));
sock.on('data', (d) => { buf += d; const m = /^\\$\\d+\\r\\n(\\S+)\\r\\n/.exec(buf); if (m) console.log('who ' + m[1]); });
sock.on('error', (e) => { console.log('error ' + (e.code || e.message)); process.exit(1); });
process.on('SIGTERM', () => { sock.destroy(); process.exit(0); });
`;

interface LoopLine {
  n: number;
  ok: boolean;
  who?: string;
  error?: string;
}

describe(
  'two Kubernetes clusters with the same pod CIDR and a host site, linked by resources only',
  { skip },
  () => {
    let lab: NetLab;
    let root: { dir: string; remove: () => Promise<void> };
    const hosts: Record<string, Host> = {};
    const clusters = {} as Record<'a' | 'b', Cluster>;
    const redis: Record<string, ManagedProcess> = {};
    let loop: ManagedProcess | undefined;
    let routerIdB = '';
    /** The tests are steps of one story: once one fails, the later ones fail at once instead of timing out. */
    let broken: string | undefined;
    const step = (name: string, fn: () => Promise<void>): void => {
      test(name, async () => {
        if (broken) throw new Error(`not run: the step "${broken}" failed`);
        try {
          await fn();
        } catch (e) {
          broken = name;
          throw e;
        }
      });
    };

    const routerArgs = (c: Cluster): string[] => [
      ...ROUTER_NODE_FLAGS,
      join(repoRoot, 'bin', 'caravan-router.js'),
      '--kube',
      '--kubeconfig',
      c.kubeconfig,
      '--namespace',
      c.namespace,
      '--dir',
      c.stateDir,
      '--log-level',
      'debug',
    ];
    const startRouter = (c: Cluster): ManagedProcess => {
      c.router = lab.spawn(c.host, process.execPath, routerArgs(c), { label: `router-${c.name}` });
      return c.router;
    };
    const adminStatus = (c: Cluster): Promise<StatusSnapshot> =>
      new AdminClient(join(c.stateDir, 'runtime', 'admin.sock')).status();

    const get = (c: Cluster, kind: Kind, name: string): Promise<KubeObject | undefined> =>
      c.admin.get(kindRef(kind), c.namespace, name).catch(() => undefined);
    const apply = (c: Cluster, kind: Kind, name: string, spec: unknown): Promise<KubeObject> =>
      c.admin.create(kindRef(kind), c.namespace, {
        apiVersion: 'caravan.dev/v1alpha1',
        kind,
        metadata: { name, namespace: c.namespace },
        spec,
      } as KubeObject);
    const waitCondition = (
      c: Cluster,
      kind: Kind,
      name: string,
      type: string,
      opts: { status?: string; message?: RegExp; timeoutMs?: number } = {},
    ): Promise<Condition> =>
      waitFor(
        async () => {
          const cond = conditionOf(await get(c, kind, name), type);
          return cond?.status === (opts.status ?? 'True') &&
            (!opts.message || opts.message.test(cond.message ?? ''))
            ? cond
            : undefined;
        },
        {
          what: `${kind}/${name} ${type}=${opts.status ?? 'True'}${opts.message ? ` ${opts.message}` : ''} in cluster ${c.name}`,
          timeoutMs: opts.timeoutMs ?? 30_000,
        },
      );

    /** A redis command through A's listener, from A's pod network, with the real redis-cli. */
    const redisA = (...args: string[]): Promise<string> =>
      lab
        .execOk(clusters.a.host, 'redis-cli', ['-h', ROUTER_POD_IP, '-p', String(LISTEN_PORT), ...args], {
          timeoutMs: 10_000,
        })
        .then((r) => r.stdout.trim());

    const loopLines = (): LoopLine[] =>
      (loop?.stdout ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LoopLine);
    /** Waits for `count` more connections of the loop after connection number `after`, and returns those. */
    const moreConnections = (afterN: number, count: number): Promise<LoopLine[]> =>
      waitFor(
        () => {
          const lines = loopLines().filter((l) => l.n > afterN);
          return lines.length >= count ? lines : undefined;
        },
        { what: `${count} more client connections after #${afterN}`, timeoutMs: 30_000 },
      );
    const lastN = (): number => loopLines().at(-1)?.n ?? 0;

    /** Cluster B's Connector `redis`, as its router runs it. */
    const connectorTarget = async (): Promise<string | undefined> =>
      (await adminStatus(clusters.b).catch(() => undefined))?.connectors.find((x) => x.name === 'redis')
        ?.target;

    const setupCluster = async (
      name: 'a' | 'b',
      rootCidr: string,
      apiCidr: string,
      namespace: string,
      site: string,
    ): Promise<Cluster> => {
      const host = await lab.addHost(`cluster-${name}`);
      hosts[`cluster-${name}`] = host;
      const rootAddr = rootCidr.split('/')[0]!;
      await lab.linkToRoot(host, `k${name}`, rootCidr, apiCidr, 'api');
      const server = await startStandIn({ host: rootAddr });
      for (const crd of crdManifests())
        server.put('apiextensions.k8s.io', 'customresourcedefinitions', crd as JsonObject);
      addNamespace(server, namespace);
      const rules = (role({ namespace, image: 'caravan/router:test' }) as unknown as { rules: JsonObject[] })
        .rules;
      const saToken = `router-sa-token-${name}`;
      addServiceAccount(server, namespace, SA, saToken, rules);
      const dir = join(root.dir, `cluster-${name}`);
      await mkdir(dir, { recursive: true });
      const kubeconfig = join(dir, 'router.kubeconfig');
      await writeFile(kubeconfig, kubeconfigYaml(server, saToken, namespace));
      const adminKubeconfig = join(dir, 'admin.kubeconfig');
      await writeFile(adminKubeconfig, kubeconfigYaml(server, ADMIN_TOKEN, namespace));
      const admin = connectKube({
        mode: 'explicit',
        server: server.url,
        token: ADMIN_TOKEN,
        caPem: server.caPem!,
      }).api;
      // the router's own pod (its labels are what the Services select)
      server.put('', 'pods', {
        metadata: {
          name: 'caravan-router-6d4cf9b7c8-x2k9q',
          namespace,
          labels: { ...SELECTOR, 'pod-template-hash': '6d4cf9b7c8' },
        },
        spec: { serviceAccountName: SA, containers: [{ name: 'router', image: 'caravan/router:test' }] },
      });
      server.setPodReady(namespace, 'caravan-router-6d4cf9b7c8-x2k9q', true, ROUTER_POD_IP);
      return {
        name,
        namespace,
        site,
        host,
        server,
        admin,
        kubeconfig,
        adminKubeconfig,
        stateDir: join(dir, 'pod-1'),
      };
    };

    before(async () => {
      lab = await NetLab.create('kube-clusters');
      root = await makeTempRoot('kube-clusters');
      clusters.a = await setupCluster(
        'a',
        `${API_NET}.${API_A}.1/30`,
        `${API_NET}.${API_A}.2/30`,
        'shop',
        'alpha',
      );
      clusters.b = await setupCluster(
        'b',
        `${API_NET}.${API_B}.1/30`,
        `${API_NET}.${API_B}.2/30`,
        'backend',
        'beta',
      );
      const { a, b } = clusters;
      const wan = await lab.addHost('wan');
      const h = await lab.addHost('site-h');
      hosts.wan = wan;
      hosts.h = h;
      await lab.enableForwarding(wan);
      await lab.connect(wan, a.host, '100.64.1.1/30', `${NODE_A}/30`, { ifNames: ['to-a', 'wan'] });
      const up = await lab.connect(wan, b.host, '100.64.2.1/30', '100.64.2.2/30', {
        ifNames: ['to-b', 'wan'],
      });
      await lab.connect(wan, h, '100.64.3.1/30', '100.64.3.2/30', { ifNames: ['to-h', 'wan'] });
      await lab.setDefaultRoute(a.host, '100.64.1.1');
      await lab.setDefaultRoute(b.host, '100.64.2.1');
      await lab.setDefaultRoute(h, '100.64.3.1');
      await lab.dropInbound(b.host, up.bIf);
      // the pod networks: the same CIDR in both clusters
      await lab.addLocalAddresses(a.host, [ROUTER_POD_IP, CLIENT_IP]);
      await lab.addLocalAddresses(b.host, [ROUTER_POD_IP, ...REDIS_PODS.map((p) => p.ip)]);

      // two redis pods in B: real servers on their pod IPs, and their Pod objects (as the kubelet reports them)
      for (const p of REDIS_PODS) {
        redis[p.name] = await startRedis(lab, b.host, p.ip, REDIS_PORT);
        await lab.execOk(b.host, 'redis-cli', [
          '-h',
          p.ip,
          '-p',
          String(REDIS_PORT),
          'set',
          'whoami',
          p.name,
        ]);
        b.server.put('', 'pods', {
          metadata: { name: p.name, namespace: b.namespace, labels: { app: 'redis' } },
          spec: { containers: [{ name: 'redis', image: 'redis:7' }] },
        });
        b.server.setPodReady(b.namespace, p.name, true, p.ip);
      }

      startRouter(a);
      startRouter(b);
      await Promise.all([
        a.router!.waitForOutput(/kubernetes mode/),
        b.router!.waitForOutput(/kubernetes mode/),
      ]);
      const routing = { helloIntervalMs: 100, deadIntervalMs: 1000 };
      await apply(a, 'Site', a.site, {
        routing,
        linkAccess: { type: 'LoadBalancer', port: LINK_PORT, grantPort: GRANT_PORT },
      });
      await apply(b, 'Site', b.site, { routing });
      await apply(a, 'Listener', 'redis', { port: LISTEN_PORT, routingKey: 'redis' });
      await apply(b, 'Connector', 'redis', { selector: 'app=redis', port: REDIS_PORT, routingKey: 'redis' });
    });

    after(async () => {
      loop?.kill('SIGKILL');
      await lab?.destroy();
      await clusters.a?.server.close();
      await clusters.b?.server.close();
      await root?.remove();
    });

    step(
      'cluster A: the link-access Service gets its LoadBalancer address, which the grant status carries',
      async () => {
        const { a } = clusters;
        // until the cloud gives the load balancer an address, the site has none to put in tokens
        const pending = await waitCondition(a, 'Site', a.site, 'Ready', {
          status: 'False',
          message: /LoadBalancer/,
        });
        assert.equal(pending.reason, 'AddressPending');
        assert.match(pending.message ?? '', /LoadBalancer Service caravan-link-access/);
        const svc = (await waitFor(
          () => a.admin.get(SERVICES, a.namespace, 'caravan-link-access').catch(() => undefined),
          {
            what: 'Service caravan-link-access',
            timeoutMs: 30_000,
          },
        )) as unknown as { spec: { type: string; ports: Array<{ name: string; port: number }> } };
        assert.equal(svc.spec.type, 'LoadBalancer');
        assert.deepEqual(
          svc.spec.ports.map((p) => [p.name, p.port]),
          [
            ['link', LINK_PORT],
            ['grants', GRANT_PORT],
          ],
        );
        // the cloud controller's part: the load balancer's address (here: A's node address on the WAN)
        a.server.setLoadBalancerIngress(a.namespace, 'caravan-link-access', [{ ip: NODE_A }]);
        await waitCondition(a, 'Site', a.site, 'Ready');
        const code = generateCode();
        await apply(a, 'AccessGrant', 'for-beta', { redemptions: 1, codeHash: hashCode(code) });
        const grant = await waitFor(
          async () => {
            const st = statusOf(await get(a, 'AccessGrant', 'for-beta'));
            return typeof st?.['url'] === 'string' && typeof st['ca'] === 'string' ? st : undefined;
          },
          { what: 'AccessGrant for-beta status url and ca', timeoutMs: 30_000 },
        );
        assert.equal(grant['url'], `https://${NODE_A}:${GRANT_PORT}/v1/grants/for-beta`);
        assert.match(String(grant['ca']), /BEGIN CERTIFICATE/);
        assert.equal(typeof grant['expiresAt'], 'string');
        await waitCondition(a, 'AccessGrant', 'for-beta', 'Ready');
        // the token, applied in B as the AccessToken B's router redeems (B only dials out)
        await apply(clusters.b, 'AccessToken', 'to-alpha', { url: grant['url'], code, ca: grant['ca'] });
      },
    );

    step('cluster B redeems the token: Link Ready in B, the link up on both routers', async () => {
      const { a, b } = clusters;
      const redeemed = await waitCondition(b, 'AccessToken', 'to-alpha', 'Ready');
      assert.equal(redeemed.reason, 'Redeemed');
      await waitCondition(b, 'Link', 'to-alpha', 'Ready');
      await waitCondition(b, 'Site', b.site, 'Ready');
      routerIdB = String(statusOf(await get(b, 'Site', b.site))?.['routerId'] ?? '');
      assert.match(routerIdB, /^beta-/);
      const routerIdA = String(statusOf(await get(a, 'Site', a.site))?.['routerId'] ?? '');
      assert.match(routerIdA, /^alpha-/);
      const sb = await adminStatus(b);
      assert.equal(sb.router.id, routerIdB);
      const out = sb.links.find((l) => l.id === 'to-alpha');
      assert.equal(out?.state, 'up');
      assert.equal(out?.neighbor, routerIdA);
      // the Link the redemption made dials the load balancer's address
      const link = (await get(b, 'Link', 'to-alpha')) as { spec?: { endpoints?: unknown } } | undefined;
      assert.deepEqual(link?.spec?.endpoints, [{ host: NODE_A, port: LINK_PORT }]);
      await waitFor(
        async () =>
          (await adminStatus(a)).links.find(
            (l) => l.direction === 'in' && l.neighbor === routerIdB && l.state === 'up',
          ),
        {
          what: 'A to see B linked in',
          timeoutMs: 15_000,
        },
      );
      await waitFor(
        async () => statusOf(await get(a, 'AccessGrant', 'for-beta'))?.['redeemed'] === 1 || undefined,
        {
          what: 'the grant to count its redemption',
          timeoutMs: 20_000,
        },
      );
      // B really is unreachable from outside: a dial to its node address is dropped, not refused
      const probe = await tcpProbe(lab, hosts.h!, '100.64.2.2', LINK_PORT, { timeoutMs: 1500 });
      assert.deepEqual(probe, { ok: false, error: 'ETIMEDOUT' });
    });

    step('cluster B: the Connector selects the two ready redis pods', async () => {
      const { b } = clusters;
      const matched = await waitCondition(b, 'Connector', 'redis', 'Matched', { message: /2 ready pods/ });
      assert.equal(matched.reason, 'PodsReady');
      assert.match(matched.message ?? '', /selector app=redis/);
      await waitCondition(b, 'Connector', 'redis', 'Ready');
      const target = await waitFor(connectorTarget, { what: 'B to run the connector', timeoutMs: 15_000 });
      for (const p of REDIS_PODS) assert.ok(target.includes(p.ip), `target ${target} names ${p.ip}`);
    });

    step(
      "cluster A: the Listener's ClusterIP Service selects the router pods and is owned by the Listener",
      async () => {
        const { a } = clusters;
        const svc = (await waitFor(() => a.admin.get(SERVICES, a.namespace, 'redis').catch(() => undefined), {
          what: 'Service redis',
          timeoutMs: 30_000,
        })) as unknown as {
          metadata: {
            ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>;
          };
          spec: { type: string; selector: Record<string, string>; ports: Array<Record<string, unknown>> };
        };
        assert.equal(svc.spec.type, 'ClusterIP');
        assert.deepEqual(svc.spec.selector, SELECTOR);
        assert.deepEqual(
          svc.spec.ports.map((p) => [p['protocol'], p['port'], p['targetPort']]),
          [['TCP', LISTEN_PORT, LISTEN_PORT]],
        );
        const listener = await get(a, 'Listener', 'redis');
        const owner = svc.metadata.ownerReferences?.[0];
        assert.equal(owner?.kind, 'Listener');
        assert.equal(owner?.name, 'redis');
        assert.equal(owner?.uid, listener?.metadata?.uid);
        // the selector picks the router pod (what kube-proxy would forward to)
        const pods = await a.admin.list(PODS, a.namespace);
        const selected = pods.items.filter((p) =>
          Object.entries(svc.spec.selector).every(([k, v]) => p.metadata?.labels?.[k] === v),
        );
        assert.deepEqual(
          selected.map((p) => (p as unknown as { status: { podIP: string } }).status.podIP),
          [ROUTER_POD_IP],
        );
        const matched = await waitCondition(a, 'Listener', 'redis', 'Matched');
        assert.equal(matched.reason, 'Matched');
        await waitCondition(a, 'Listener', 'redis', 'Ready');
      },
    );

    step(
      "a client in A's pod network reaches redis in B through the router pod, with real redis commands",
      async () => {
        await waitFor(
          () =>
            redisA('ping')
              .then((r) => r === 'PONG' || undefined)
              .catch(() => undefined),
          {
            what: 'PONG through the listener',
            timeoutMs: 20_000,
          },
        );
        assert.equal(await redisA('set', 'greeting', 'hello-from-a'), 'OK');
        // a new connection may land on the other pod: each of the two holds what was written to it
        // B's connector sends a new connection to the ready pod with the fewest open ones: with one connection
        // held open, the next goes to the other pod
        const held = lab.spawn(
          clusters.a.host,
          process.execPath,
          ['-e', HOLD_JS, ROUTER_POD_IP, String(LISTEN_PORT), CLIENT_IP],
          { label: 'client-held' },
        );
        const [, heldBy] = await held.waitForOutput(/^who (\S+)$/m, { timeoutMs: 15_000 });
        const other = await redisA('get', 'whoami');
        assert.deepEqual([heldBy, other].sort(), REDIS_PODS.map((p) => p.name).sort(), 'both pods serve');
        held.kill('SIGTERM');
        await held.exited;
        loop = lab.spawn(
          clusters.a.host,
          process.execPath,
          ['-e', CLIENT_LOOP_JS, ROUTER_POD_IP, String(LISTEN_PORT), CLIENT_IP, 'k'],
          { label: 'client-loop' },
        );
        const lines = await moreConnections(0, 10);
        assert.deepEqual(
          lines.filter((l) => !l.ok),
          [],
          'every SET/GET succeeded',
        );
      },
    );

    step(
      'a pod turned NotReady, then back, then one deleted: the targets follow, no new connection fails',
      async () => {
        const { b } = clusters;
        const [p0, p1] = REDIS_PODS;
        const mark = lastN();

        b.server.setPodReady(b.namespace, p0.name, false);
        await waitCondition(b, 'Connector', 'redis', 'Matched', { message: /1 ready pod matches/ });
        await waitFor(async () => ((await connectorTarget())?.includes(p0.ip) === false ? true : undefined), {
          what: `the router to drop ${p0.ip}`,
          timeoutMs: 20_000,
        });
        // the loop has at most one connection in flight: the ones after it started after the change
        const whileNotReady = await moreConnections(lastN() + 1, 10);
        assert.deepEqual(
          [...new Set(whileNotReady.map((l) => l.who))],
          [p1.name],
          'only the ready pod is used',
        );

        b.server.setPodReady(b.namespace, p0.name, true);
        await waitCondition(b, 'Connector', 'redis', 'Matched', { message: /2 ready pods/ });
        const back = lastN();
        await waitFor(() => loopLines().some((l) => l.n > back && l.who === p0.name), {
          what: `${p0.name} to serve new connections again`,
          timeoutMs: 30_000,
        });

        await b.admin.delete(PODS, b.namespace, p0.name);
        await waitCondition(b, 'Connector', 'redis', 'Matched', { message: /1 ready pod matches/ });
        await waitFor(async () => ((await connectorTarget())?.includes(p0.ip) === false ? true : undefined), {
          what: `the router to drop deleted ${p0.ip}`,
          timeoutMs: 20_000,
        });
        // the connection in flight when the target went is done, then the deleted pod's server goes away, as its
        // container would after its grace period
        const dropped = lastN() + 1;
        await moreConnections(dropped, 1);
        await redis[p0.name]!.stop();
        const afterDelete = await moreConnections(dropped, 10);
        assert.deepEqual([...new Set(afterDelete.map((l) => l.who))], [p1.name]);

        const all = loopLines().filter((l) => l.n > mark);
        assert.ok(all.length >= 20);
        assert.deepEqual(
          all.filter((l) => !l.ok),
          [],
          'no new connection failed while the pods changed',
        );
        loop!.kill('SIGTERM');
        await loop!.exited;
        assert.deepEqual(
          loopLines().filter((l) => !l.ok),
          [],
        );
      },
    );

    step(
      "B's router killed and started again keeps its id, certificates and link, without a new token",
      async () => {
        const { b } = clusters;
        const secretsBefore = (await b.admin.list(SECRETS, b.namespace)).items
          .map((s) => `${s.metadata?.name}@${s.metadata?.resourceVersion}`)
          .sort();
        const tokenBefore = await get(b, 'AccessToken', 'to-alpha');
        b.router!.kill('SIGKILL');
        await b.router!.exited;
        await waitFor(
          async () =>
            (await lab.exec(b.host, 'redis-cli', ['-h', REDIS_PODS[1].ip, 'ping'])).stdout.trim() ===
              'PONG' || undefined,
          {
            what: 'redis-1 to keep running',
          },
        );
        // a new pod: an empty folder, nothing but what the cluster holds
        b.stateDir = join(root.dir, 'cluster-b', 'pod-2');
        startRouter(b);
        const st = await waitFor(
          async () => {
            const s = await adminStatus(b).catch(() => undefined);
            return s?.links.some((l) => l.id === 'to-alpha' && l.state === 'up') ? s : undefined;
          },
          { what: "the restarted router's link to come up", timeoutMs: 40_000 },
        );
        assert.equal(st.router.id, routerIdB);
        await waitCondition(b, 'Link', 'to-alpha', 'Ready');
        assert.equal(statusOf(await get(b, 'Site', b.site))?.['routerId'], routerIdB);
        const secretsAfter = (await b.admin.list(SECRETS, b.namespace)).items
          .map((s) => `${s.metadata?.name}@${s.metadata?.resourceVersion}`)
          .sort();
        assert.deepEqual(
          secretsAfter,
          secretsBefore,
          'no Secret was made or rewritten: same key, same certificates',
        );
        const tokenAfter = await get(b, 'AccessToken', 'to-alpha');
        assert.equal(
          conditionOf(tokenAfter, 'Ready')?.lastTransitionTime,
          conditionOf(tokenBefore, 'Ready')?.lastTransitionTime,
        );
        assert.equal(
          statusOf(await get(clusters.a, 'AccessGrant', 'for-beta'))?.['redeemed'],
          1,
          'no second redemption',
        );
        await waitFor(
          () =>
            redisA('set', 'after-restart', 'yes')
              .then((r) => r === 'OK' || undefined)
              .catch(() => undefined),
          {
            what: 'traffic through the restarted router',
            timeoutMs: 20_000,
          },
        );
        assert.equal(await redisA('get', 'after-restart'), 'yes');
      },
    );

    step(
      'a host site redeems a token of cluster A (issued with the CLI) and reaches the same redis',
      async () => {
        const { a } = clusters;
        const home = join(root.dir, 'h-home');
        const site = await TestSite.create(join(home, 'sites'), { name: 'h' });
        await site.addListener({ name: 'redis', host: '100.64.3.2', port: REDIS_PORT, routingKey: 'redis' });
        lab.spawn(hosts.h!, process.execPath, site.routerArgs(), { label: 'router-h' });
        await site.ready();
        const tokenFile = join(root.dir, 'h.token');
        const issued = await cli(
          [
            'token',
            'issue',
            tokenFile,
            '--kube',
            '--kubeconfig',
            a.adminKubeconfig,
            '--namespace',
            a.namespace,
            '--name',
            'for-h',
          ],
          { env: { CARAVAN_HOME: home } },
        );
        assert.equal(issued.code, 0, issued.stderr);
        const token = parse(await readFile(tokenFile, 'utf8')) as { spec: { url: string } };
        assert.equal(token.spec.url, `https://${NODE_A}:${GRANT_PORT}/v1/grants/for-h`);
        await waitCondition(a, 'AccessGrant', 'for-h', 'Ready');
        const redeem = await lab.exec(
          hosts.h!,
          process.execPath,
          [
            CARAVAN,
            'token',
            'redeem',
            tokenFile,
            '--home',
            home,
            '--site',
            'h',
            '--name',
            'to-alpha',
            '--wait',
            '30',
          ],
          {
            env: { ...process.env, NO_COLOR: '1' },
            timeoutMs: 60_000,
          },
        );
        assert.equal(redeem.code, 0, redeem.stdout + redeem.stderr);
        await waitFor(
          async () => (await site.status()).links.find((l) => l.id === 'to-alpha' && l.state === 'up'),
          {
            what: 'h linked to cluster A',
            timeoutMs: 30_000,
          },
        );
        await site.seesKey('redis');
        // only redis-1 serves now (redis-0 was deleted): what A wrote after the restart, h reads
        const r = await lab.execOk(
          hosts.h!,
          'redis-cli',
          ['-h', '100.64.3.2', '-p', String(REDIS_PORT), 'get', 'after-restart'],
          {
            timeoutMs: 10_000,
          },
        );
        assert.equal(r.stdout.trim(), 'yes');
        const w = await lab.execOk(hosts.h!, 'redis-cli', [
          '-h',
          '100.64.3.2',
          '-p',
          String(REDIS_PORT),
          'set',
          'from-h',
          'hi',
        ]);
        assert.equal(w.stdout.trim(), 'OK');
        assert.equal(await redisA('get', 'from-h'), 'hi');
        await waitFor(
          async () => statusOf(await get(a, 'AccessGrant', 'for-h'))?.['redeemed'] === 1 || undefined,
          {
            what: 'grant for-h to count its redemption',
            timeoutMs: 20_000,
          },
        );
      },
    );
  },
);
