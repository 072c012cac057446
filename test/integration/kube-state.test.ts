/**
 * State a Kubernetes site keeps in the cluster, through the real client (@kubernetes/client-node over HTTPS)
 * against the API stand-in (test/support/kube-apiserver), acting as the site's service account with the Role of
 * the namespace install, and with a real grant server (src/site/grants/server.ts) over a state folder that was
 * filled from Secrets:
 *
 * - the Secrets the reconcile core asks for are generated and created; the identity key gives the same router id
 *   in two fresh state folders, and the server certificate names it;
 * - an AccessToken resource is redeemed at the hub's grant server into a Link and its Secret, whose files work
 *   as the router's link files;
 * - a link certificate renewed at the hub's grant server (LinkRenewer) reaches the Link's Secret through the
 *   mirror, and a fresh state folder gets the renewed certificate with the same key;
 * - the redemption the grant server writes reaches the grant-state Secret through the mirror; a fresh state folder
 *   (a pod deleted and recreated) is filled with the same count, and its grant server refuses the used-up grant;
 * - a 409 from a concurrent writer is re-read and retried without losing the other writer's key;
 * - a grant-state Secret deleted by hand is recreated by the reconcile core and refilled from the running pod.
 *
 * What a real cluster would still prove: that the API server accepts these Secrets as built (the
 * `kubernetes.io/tls` type's key rules, the 1 MiB limit), the real garbage collector deleting them with the Site,
 * that the projected service-account token and the real RBAC (escalation, aggregation) allow every call, that the
 * kubelet's emptyDir and fsGroup give the modes the router expects, that inotify works on the pod's volume, and
 * that a Deployment with the Recreate strategy never runs two pods of one site at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_VERSION, type AccessGrantResource } from '../../src/api/index.js';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import type { ResourceRef } from '../../src/kube/api.js';
import { connectKube, type ClientNodeKubeApi } from '../../src/kube/client-node.js';
import { crdManifests, role } from '../../src/kube/manifests.js';
import {
  GRANT_STATE_SECRET,
  ROUTER_IDENTITY_SECRET,
  SERVER_SECRET,
  SITE_CA_SECRET,
  linkSecretName,
  reconcile,
  type CaravanObject,
  type ObservedState,
  type ReconcileResult,
  type SecretObject,
} from '../../src/kube/reconcile/index.js';
import {
  SecretMirror,
  generateSecretData,
  materializeSecretFiles,
  redeemAccessToken,
} from '../../src/kube/state/index.js';
import { nullLogger, type Logger } from '../../src/observe/log.js';
import { certificateInfo, verifyIssuedBy } from '../../src/site/certs/index.js';
import { LinkRenewer } from '../../src/site/grants/renew.js';
import { GrantServer } from '../../src/site/grants/server.js';
import { generateCode, grantUrl, hashCode } from '../../src/site/grants/logic.js';
import { readSiteIdentity } from '../../src/site/identity-file.js';
import { commonNameOf } from '../../src/site/server-identity.js';
import { writeResource } from '../../src/site/site-dir.js';
import {
  addNamespace,
  addServiceAccount,
  startStandIn,
  type KubeApiServer,
} from '../support/kube-apiserver/index.js';
import type { JsonObject } from '../support/kube-apiserver/status.js';
import { waitFor } from '../support/wait.js';

const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets' };
const crd = (plural: string): ResourceRef => ({ group: 'caravan.dev', version: 'v1alpha1', plural });
const PLURALS = ['sites', 'links', 'listeners', 'connectors', 'accessgrants', 'accesstokens'];
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

const logger: Logger = nullLogger;

/** What a controller does with the core's Secret actions: generate, then create, in order. */
async function converge(
  api: ClientNodeKubeApi,
  ns: string,
  stateDir: string,
): Promise<{ r: ReconcileResult; state: ObservedState }> {
  for (let round = 0; round < 4; round++) {
    const resources: CaravanObject[] = [];
    for (const p of PLURALS) resources.push(...(await api.list<CaravanObject>(crd(p), ns)).items);
    const secrets = (await api.list<SecretObject>(SECRETS, ns)).items;
    const state: ObservedState = {
      namespace: ns,
      routerPodLabels: { 'app.kubernetes.io/name': 'caravan-router' },
      stateDir,
      resources,
      services: [],
      secrets,
      pods: [],
      now: new Date(),
    };
    const r = reconcile(state);
    const creates = r.actions.filter((a) => a.op === 'create' && a.kind === 'Secret');
    if (creates.length === 0) return { r, state };
    const have = [...secrets];
    for (const a of creates) {
      if (a.op !== 'create' || a.kind !== 'Secret') continue;
      const data = a.generate ? await generateSecretData(a.generate, have) : (a.object.data ?? {});
      have.push(await api.create<SecretObject>(SECRETS, ns, { ...a.object, data }));
    }
  }
  throw new Error('the Secrets did not converge');
}

async function secretOf(api: ClientNodeKubeApi, ns: string, name: string): Promise<SecretObject> {
  return api.get<SecretObject>(SECRETS, ns, name);
}

describe('state of a Kubernetes site in Secrets', () => {
  let server: KubeApiServer;
  let hubApi: ClientNodeKubeApi;
  let westApi: ClientNodeKubeApi;
  /** a user: writes the Sites and AccessTokens the router only reads */
  let admin: ClientNodeKubeApi;
  const dirs: string[] = [];
  const grantServers: GrantServer[] = [];
  const mirrors: SecretMirror[] = [];
  const code = generateCode();
  const tmp = async (what: string): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), `caravan-kstate-${what}-`));
    dirs.push(d);
    return d;
  };

  before(async () => {
    server = await startStandIn();
    for (const c of crdManifests())
      server.put('apiextensions.k8s.io', 'customresourcedefinitions', c as JsonObject);
    const rules = (role({ namespace: 'x', image: 'x' })['rules'] as JsonObject[]) ?? [];
    for (const ns of ['hub', 'west']) {
      addNamespace(server, ns);
      addServiceAccount(server, ns, 'caravan-router', `${ns}-token`, rules);
    }
    const as = (token: string): ClientNodeKubeApi =>
      connectKube(
        { mode: 'explicit', server: server.url, token, caPem: server.caPem! },
        { backoff: { initialMs: 20, maxMs: 200 } },
      ).api;
    hubApi = as('hub-token');
    westApi = as('west-token');
    admin = as('admin-token');
    await admin.create(crd('sites'), 'hub', {
      apiVersion: API_VERSION,
      kind: 'Site',
      metadata: { name: 'hub' },
      spec: { linkAccess: { type: 'ClusterIP', port: 55671, grantPort: 55672 } },
    });
    await admin.create(crd('sites'), 'west', {
      apiVersion: API_VERSION,
      kind: 'Site',
      metadata: { name: 'west' },
      spec: {},
    });
  });

  after(async () => {
    for (const m of mirrors) await m.stop();
    for (const g of grantServers) await g.stop();
    await server?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** A grant server over a state folder, as the hub's router runs it, with the grant as the controller writes it. */
  async function startGrantServer(stateDir: string, routerId: string): Promise<GrantServer> {
    const grant: AccessGrantResource = {
      apiVersion: API_VERSION,
      kind: 'AccessGrant',
      metadata: { name: 'to-west' },
      spec: { redemptions: 1, expiry: '1h', cost: 1, codeHash: hashCode(code) },
    };
    await writeResource(stateDir, grant);
    const g = new GrantServer({
      dir: stateDir,
      siteName: 'hub',
      routerId,
      host: '127.0.0.1',
      port: 0,
      linkAccess: { host: '127.0.0.1' },
      linkPort: () => 55671,
      tls: {
        ca: join(stateDir, 'runtime/ca.crt'),
        cert: join(stateDir, 'runtime/server.crt'),
        key: join(stateDir, 'runtime/server.key'),
      },
      logger,
    });
    await g.start();
    grantServers.push(g);
    return g;
  }

  let hubState: string;
  let hubRouterId: string;
  let hubResult: ReconcileResult;
  let mirror: SecretMirror;
  let grants: GrantServer;
  let westState: string;
  let westResult: ReconcileResult;

  test('the identity key Secret gives the same router id in two fresh state folders; the server certificate names it', async () => {
    hubState = await tmp('hub-a');
    const { r, state } = await converge(hubApi, 'hub', hubState);
    hubResult = r;
    assert.ok(r.config, 'the site runs once its Secrets exist');
    const names = state.secrets.map((s) => s.metadata.name).sort();
    assert.deepEqual(
      names,
      [GRANT_STATE_SECRET, ROUTER_IDENTITY_SECRET, SERVER_SECRET, SITE_CA_SECRET].sort(),
    );
    const site = state.resources.find((o) => o.kind === 'Site');
    for (const s of state.secrets) assert.equal(s.metadata.ownerReferences?.[0]?.uid, site?.metadata.uid);

    const changed = await materializeSecretFiles(hubState, r.secretFiles, state.secrets);
    assert.ok(changed.includes(join(hubState, 'runtime/identity.key')));
    const id = await readSiteIdentity(hubState, 'hub');
    hubRouterId = r.config.site.spec.routerId ?? '';
    assert.equal(id?.routerId, hubRouterId, 'the router reads the id the core derived');
    assert.equal((await stat(join(hubState, 'runtime/identity.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(hubState, 'runtime'))).mode & 0o777, 0o700);

    const other = await tmp('hub-b');
    await materializeSecretFiles(other, r.secretFiles, state.secrets);
    assert.equal(
      (await readSiteIdentity(other, 'hub'))?.routerId,
      hubRouterId,
      'a recreated pod has the same id',
    );
    assert.deepEqual(
      await materializeSecretFiles(other, r.secretFiles, state.secrets),
      [],
      'materializing again changes nothing',
    );

    const serverCert = await readFile(join(hubState, 'runtime/server.crt'), 'utf8');
    assert.equal(commonNameOf(serverCert), hubRouterId, 'the server certificate names the router id');
    assert.ok(await verifyIssuedBy(serverCert, await readFile(join(hubState, 'runtime/ca.crt'), 'utf8')));
  });

  test('an AccessToken is redeemed into a Link and its Secret; the redemption reaches the grant-state Secret', async () => {
    grants = await startGrantServer(hubState, hubRouterId);
    mirror = new SecretMirror({
      api: hubApi,
      namespace: 'hub',
      stateDir: hubState,
      logger,
      scanIntervalMs: 60_000,
    });
    mirrors.push(mirror);
    const hubSecrets = (await hubApi.list<SecretObject>(SECRETS, 'hub')).items;
    mirror.setFiles(hubResult.secretFiles, hubSecrets);
    mirror.start();

    westState = await tmp('west');
    await converge(westApi, 'west', westState);
    const ca = await readFile(join(hubState, 'runtime/ca.crt'), 'utf8');
    const token = await admin.create<CaravanObject>(crd('accesstokens'), 'west', {
      apiVersion: API_VERSION,
      kind: 'AccessToken',
      metadata: { name: 'to-hub' },
      spec: { url: grantUrl('127.0.0.1', grants.port!, 'to-west'), code, ca },
    });
    const site = await westApi.get<CaravanObject>(crd('sites'), 'west', 'west');
    const identity = await secretOf(westApi, 'west', ROUTER_IDENTITY_SECRET);
    const { link, secret } = await redeemAccessToken({
      token,
      site,
      identityKey: unb64(identity.data?.['identity.key']),
    });
    assert.equal(link.metadata.name, 'to-hub');
    assert.equal(link.metadata.ownerReferences?.[0]?.uid, site.metadata.uid);
    assert.equal(secret.metadata.name, linkSecretName('to-hub'));
    await westApi.create(SECRETS, 'west', secret);
    await westApi.create(crd('links'), 'west', link);

    const { r, state } = await converge(westApi, 'west', westState);
    westResult = r;
    assert.equal(r.config?.links[0]?.metadata.name, 'to-hub', 'the Link runs');
    await materializeSecretFiles(westState, r.secretFiles, state.secrets);
    const cert = await readFile(join(westState, 'runtime/links/to-hub/client.crt'), 'utf8');
    assert.equal(
      certificateInfo(cert).commonName,
      r.config?.site.spec.routerId,
      'the certificate names west',
    );
    assert.ok(
      await verifyIssuedBy(cert, await readFile(join(westState, 'runtime/links/to-hub/ca.crt'), 'utf8')),
    );
    const grantInfo = JSON.parse(
      await readFile(join(westState, 'runtime/links/to-hub/grant.json'), 'utf8'),
    ) as {
      peerRouterId?: string;
    };
    assert.equal(grantInfo.peerRouterId, hubRouterId);

    // the grant server counted the redemption in the state folder; the mirror copies it into the Secret
    const kept = await waitFor(
      async () => {
        const s = await secretOf(hubApi, 'hub', GRANT_STATE_SECRET);
        const v = s.data?.['redemptions.to-west.json'];
        return v !== undefined && s.data?.['issued.json'] !== undefined ? s : undefined;
      },
      { what: 'the redemption in the grant-state Secret', timeoutMs: 15_000 },
    );
    assert.equal(
      (JSON.parse(unb64(kept.data?.['redemptions.to-west.json'])) as { redeemed: number }).redeemed,
      1,
    );
    assert.ok(mirror.stats.writes >= 1);
  });

  test('a renewed link certificate goes back into the Link’s Secret; a recreated pod gets it', async () => {
    const westMirror = new SecretMirror({ api: westApi, namespace: 'west', stateDir: westState, logger });
    mirrors.push(westMirror);
    westMirror.setFiles(westResult.secretFiles, (await westApi.list<SecretObject>(SECRETS, 'west')).items);
    westMirror.start();
    const link = westResult.config?.links[0];
    assert.ok(link);
    const before = await readFile(link.spec.tls.cert, 'utf8');
    const renewer = await LinkRenewer.create({
      link: 'to-hub',
      tls: link.spec.tls,
      logger,
      identity: (await readSiteIdentity(westState, 'west'))!,
      onRenewed: () => undefined,
    });
    assert.ok(renewer, 'the Link has grant.json, so it can be renewed');
    await renewer.renewNow();
    const after = await readFile(link.spec.tls.cert, 'utf8');
    assert.notEqual(certificateInfo(after).serialNumber, certificateInfo(before).serialNumber);
    await waitFor(
      async () =>
        unb64((await secretOf(westApi, 'west', linkSecretName('to-hub'))).data?.['tls.crt']) === after,
      { what: 'the renewed certificate in the Link Secret', timeoutMs: 15_000 },
    );
    const fresh = await tmp('west-b');
    const { r, state } = await converge(westApi, 'west', fresh);
    await materializeSecretFiles(fresh, r.secretFiles, state.secrets);
    assert.equal(await readFile(join(fresh, 'runtime/links/to-hub/client.crt'), 'utf8'), after);
    assert.equal(
      await readFile(join(fresh, 'runtime/links/to-hub/client.key'), 'utf8'),
      await readFile(link.spec.tls.key, 'utf8'),
      'renewal keeps the key',
    );
  });

  test('a recreated pod keeps the redemption count: its grant server refuses the used-up grant', async () => {
    await mirror.flush();
    const fresh = await tmp('hub-c');
    const { r, state } = await converge(hubApi, 'hub', fresh);
    await materializeSecretFiles(fresh, r.secretFiles, state.secrets);
    const count = JSON.parse(
      await readFile(join(fresh, 'runtime/grants/redemptions/to-west.json'), 'utf8'),
    ) as {
      redeemed: number;
    };
    assert.equal(count.redeemed, 1);
    const second = await startGrantServer(fresh, r.config?.site.spec.routerId ?? '');
    const token = await admin.create<CaravanObject>(crd('accesstokens'), 'west', {
      apiVersion: API_VERSION,
      kind: 'AccessToken',
      metadata: { name: 'again' },
      spec: {
        url: grantUrl('127.0.0.1', second.port!, 'to-west'),
        code,
        ca: await readFile(join(fresh, 'runtime/ca.crt'), 'utf8'),
      },
    });
    const site = await westApi.get<CaravanObject>(crd('sites'), 'west', 'west');
    const identity = await secretOf(westApi, 'west', ROUTER_IDENTITY_SECRET);
    await assert.rejects(
      redeemAccessToken({ token, site, identityKey: unb64(identity.data?.['identity.key']) }),
      (e: unknown) => isCaravanError(e) && e.code === ErrorCodes.GRANT_USED_UP,
    );
  });

  test('a 409 from a concurrent writer is re-read and retried; the other writer’s key survives', async () => {
    // someone else writes the Secret; the mirror's copy is now stale
    const cur = await secretOf(hubApi, 'hub', GRANT_STATE_SECRET);
    await hubApi.update(SECRETS, 'hub', { ...cur, data: { ...cur.data, 'note.txt': b64('hello') } });
    const conflicts = mirror.stats.conflicts;
    await writeFile(
      join(hubState, 'runtime/grants/revoked.json'),
      JSON.stringify({
        revocations: [{ target: 'west', at: new Date().toISOString(), ids: [], serials: [], sites: [] }],
      }),
    );
    await mirror.flush();
    const s = await secretOf(hubApi, 'hub', GRANT_STATE_SECRET);
    assert.match(unb64(s.data?.['revoked.json']), /"target":"west"/);
    assert.equal(unb64(s.data?.['note.txt']), 'hello', 'the concurrent write is kept');
    assert.ok(mirror.stats.conflicts > conflicts, 'the write met a conflict and was retried');
  });

  test('a grant-state Secret deleted by hand is recreated by the core and refilled from the running pod', async () => {
    await hubApi.delete(SECRETS, 'hub', GRANT_STATE_SECRET);
    const { r, state } = await converge(hubApi, 'hub', hubState);
    const empty = state.secrets.find((s) => s.metadata.name === GRANT_STATE_SECRET);
    assert.deepEqual(empty?.data ?? {}, {}, 'recreated empty, owned by the Site');
    // the empty Secret removes none of the router's files…
    await materializeSecretFiles(hubState, r.secretFiles, state.secrets);
    const local = await readFile(join(hubState, 'runtime/grants/redemptions/to-west.json'), 'utf8');
    // …and the mirror puts them back into it
    mirror.setFiles(r.secretFiles, state.secrets);
    await mirror.flush();
    const s = await secretOf(hubApi, 'hub', GRANT_STATE_SECRET);
    assert.equal(unb64(s.data?.['redemptions.to-west.json']), local);
    assert.ok(s.data?.['issued.json'] && s.data['revoked.json']);
  });
});
