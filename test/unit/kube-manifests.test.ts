// `caravan kube manifests`: the namespace install needs no cluster-scoped rights, every resource the router touches
// has a rule, the objects fit together; the committed deploy/kubernetes files and docs/resources.md are current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../../src/api/index.js';
import { SCHEMAS } from '../../src/api/schema/index.js';
import { ExitCodes } from '../../src/cli/exit-codes.js';
import {
  HEALTH_PORT,
  ROUTER_ACCESS,
  SELECTOR,
  deployment,
  manifests,
  namespaceInstall,
  role,
  type Manifest,
} from '../../src/kube/manifests.js';
import { cli } from '../support/cli.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const opts = { namespace: 'shop', image: 'registry.example/caravan/router:9.9.9' };

/** Resources that exist only cluster-wide: a Role that names one grants nothing, so it must never appear. */
const CLUSTER_SCOPED = new Set([
  'nodes',
  'namespaces',
  'persistentvolumes',
  'clusterroles',
  'clusterrolebindings',
  'customresourcedefinitions',
  'storageclasses',
  'priorityclasses',
  'ingressclasses',
  'runtimeclasses',
  'csidrivers',
  'csinodes',
  'volumeattachments',
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
  'apiservices',
  'certificatesigningrequests',
  'tokenreviews',
  'subjectaccessreviews',
  'selfsubjectaccessreviews',
  'componentstatuses',
]);

/** What the router does through the API (issue 11 items 3-8): group, resource, the verbs it needs. */
const ROUTER_NEEDS: [string, string, string[]][] = [
  ...KINDS.map((k): [string, string, string[]] => [
    'caravan.dev',
    SCHEMAS[k].plural,
    ['get', 'list', 'watch'],
  ]),
  ...KINDS.map((k): [string, string, string[]] => [
    'caravan.dev',
    `${SCHEMAS[k].plural}/status`,
    ['update', 'patch'],
  ]),
  ['caravan.dev', 'links', ['create', 'update', 'delete']], // a redeemed AccessToken becomes a Link
  ['', 'secrets', ['get', 'list', 'watch', 'create', 'update', 'delete']], // CA, link certificates, grant state
  ['', 'services', ['get', 'list', 'watch', 'create', 'update', 'delete']], // Listener Services, link access
  ['', 'pods', ['get', 'list', 'watch']], // Connector selectors
];

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

test('the Role is namespace-scoped and names no cluster-scoped resource, no wildcard', () => {
  const r = role(opts) as Manifest & { metadata: { namespace: string }; rules: Rule[] };
  assert.equal(r.kind, 'Role');
  assert.equal(r.metadata.namespace, 'shop');
  for (const rule of r.rules) {
    for (const res of rule.resources) {
      assert.ok(!CLUSTER_SCOPED.has(res.split('/')[0]!), `cluster-scoped ${res}`);
      assert.notEqual(res, '*');
    }
    assert.ok(!rule.verbs.includes('*') && !rule.apiGroups.includes('*'), JSON.stringify(rule));
    for (const v of rule.verbs)
      assert.ok(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].includes(v), v);
  }
  const kinds = namespaceInstall(opts).map((m) => m.kind);
  assert.deepEqual(kinds, ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
  for (const m of namespaceInstall(opts))
    assert.equal((m.metadata as { namespace?: string }).namespace, 'shop', m.kind);
});

test('every resource the router touches has a rule with the verbs it needs, and every rule says why', () => {
  const rules = (role(opts) as unknown as { rules: Rule[] }).rules;
  for (const [group, resource, verbs] of ROUTER_NEEDS) {
    for (const verb of verbs)
      assert.ok(
        rules.some(
          (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
        ),
        `no rule lets the router ${verb} ${group || 'core'}/${resource}`,
      );
  }
  for (const a of ROUTER_ACCESS) assert.ok(a.why.length > 20, JSON.stringify(a));
  // nothing beyond what the router uses: every resource granted is one of ROUTER_NEEDS
  for (const r of rules)
    for (const res of r.resources)
      assert.ok(
        ROUTER_NEEDS.some(([g, n]) => r.apiGroups.includes(g) && n === res),
        `a rule grants ${res}, which the router does not use`,
      );
});

test('the RoleBinding, ServiceAccount and Deployment fit together; the pod runs unprivileged', () => {
  // the objects are plain JSON-like data; the test reads them by path
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const [sa, , rb, dep] = namespaceInstall(opts) as (Manifest & Record<string, any>)[];
  assert.equal(rb!.roleRef.kind, 'Role');
  assert.equal(rb!.roleRef.name, (role(opts).metadata as { name: string }).name);
  assert.deepEqual(rb!.subjects, [{ kind: 'ServiceAccount', name: sa!.metadata.name, namespace: 'shop' }]);
  const spec = dep!.spec;
  assert.equal(spec.replicas, 1);
  assert.equal(spec.strategy.type, 'Recreate');
  assert.deepEqual(spec.selector.matchLabels, SELECTOR);
  for (const [k, v] of Object.entries(SELECTOR)) assert.equal(spec.template.metadata.labels[k], v);
  const pod = spec.template.spec;
  assert.equal(pod.serviceAccountName, sa!.metadata.name);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  const [c] = pod.containers;
  assert.equal(c.image, opts.image);
  assert.deepEqual(c.args, ['--kube', '--health-port', String(HEALTH_PORT)]);
  // the probes ask the health endpoint on the port the args name
  assert.deepEqual(c.ports, [{ name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' }]);
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
  assert.ok(c.livenessProbe.timeoutSeconds < c.livenessProbe.periodSeconds);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  // every mount has its volume (the root file system is read-only: the router writes only there)
  for (const m of c.volumeMounts)
    assert.ok(
      pod.volumes.some((v: { name: string }) => v.name === m.name),
      m.name,
    );
  assert.deepEqual(deployment(opts), dep, 'pure: the same options give the same objects');
});

function kindsOf(yamlText: string): string[] {
  const docs = parseAllDocuments(yamlText);
  assert.ok(Array.isArray(docs));
  for (const d of docs) assert.deepEqual(d.errors, []);
  return docs.map((d) => (d.toJS() as { kind: string }).kind);
}

test('caravan kube manifests prints the CRDs and the namespace install; --crds-only and --no-crds', async () => {
  const all = await cli(['kube', 'manifests', '--namespace', 'shop', '--image', opts.image]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, manifests(opts));
  const crds = KINDS.map(() => 'CustomResourceDefinition');
  assert.deepEqual(kindsOf(all.stdout), [...crds, 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
  assert.match(all.stdout, /namespace: shop/);
  assert.match(all.stdout, /image: registry\.example\/caravan\/router:9\.9\.9/);
  assert.deepEqual(kindsOf((await cli(['kube', 'manifests', '--crds-only'])).stdout), crds);
  const ns = await cli(['kube', 'manifests', '--no-crds']);
  assert.deepEqual(kindsOf(ns.stdout), ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
  assert.match(ns.stdout, /namespace: caravan\n/);
  const json = await cli(['kube', 'manifests', '--no-crds', '-o', 'json']);
  const list = JSON.parse(json.stdout) as { kind: string; items: { kind: string }[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 4);
  const both = await cli(['kube', 'manifests', '--crds-only', '--no-crds']);
  assert.equal(both.code, ExitCodes.USAGE);
  assert.match(both.stderr, /not both/);
  const bad = await cli(['kube', 'manifests', '--namespace', 'Shop_1']);
  assert.equal(bad.code, ExitCodes.USAGE);
  assert.match(bad.stderr, /--namespace must be a namespace name/);
  assert.equal(bad.stdout, '');
  const help = await cli(['kube', 'manifests', '--help']);
  assert.match(help.stdout, /--crds-only/);
});

function checkGenerated(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repo, 'scripts', 'check-generated.mjs'), ...args], (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

test('the staleness check passes on the committed files and names each stale or missing one', async (t) => {
  assert.equal((await checkGenerated([])).code, 0, 'the committed generated files are current');
  const root = await mkdtemp(join(tmpdir(), 'caravan-generated-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await cp(join(repo, 'deploy'), join(root, 'deploy'), { recursive: true });
  await cp(join(repo, 'docs', 'resources.md'), join(root, 'docs', 'resources.md'));
  assert.equal((await checkGenerated(['--root', root])).code, 0);
  const ns = join(root, 'deploy', 'kubernetes', 'namespace-install.yaml');
  await writeFile(ns, (await readFile(ns, 'utf8')).replace('replicas: 1', 'replicas: 2'));
  await unlink(join(root, 'docs', 'resources.md'));
  const r = await checkGenerated(['--root', root]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /deploy\/kubernetes\/namespace-install\.yaml: stale/);
  assert.match(r.stderr, /docs\/resources\.md: missing/);
  assert.doesNotMatch(r.stderr, /crds\.yaml/);
  assert.equal((await checkGenerated(['--root', root, '--write'])).code, 0);
  assert.equal((await checkGenerated(['--root', root])).code, 0, 'after --write the tree is current');
});
