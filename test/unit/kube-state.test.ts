/**
 * The state folder of a Kubernetes router pod (src/kube/state): Secret keys as files and the rules that keep the
 * router's own writes (materializeSecretFiles), and the mirror that copies them back (SecretMirror), here against
 * a small in-memory Secret store with the API's resourceVersion rule and on a ManualClock, so the periodic scan and
 * the backoff after a failure run exactly when the clock says. The real client and API stand-in are in
 * test/integration/kube-state.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { CaravanError, ErrorCodes, isCaravanError } from '../../src/errors.js';
import type { KubeApi, KubeObject } from '../../src/kube/api.js';
import type { SecretFile, SecretObject } from '../../src/kube/reconcile/index.js';
import { SecretMirror, materializeSecretFiles } from '../../src/kube/state/index.js';
import { memoryLogger } from '../../src/observe/log.js';
import { waitFor } from '../support/wait.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
const secret = (name: string, data: Record<string, string>, rv = '1'): SecretObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'caravan-kstate-unit-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const FILES: SecretFile[] = [
  { secret: 'id', key: 'identity.key', path: 'runtime/identity.key' },
  { secret: 'gs', key: 'issued.json', path: 'runtime/grants/issued.json', mirror: true },
  { secret: 'gs', key: 'redemptions.', path: 'runtime/grants/redemptions', mirror: true, dir: true },
];

test('materialize: plain keys are copied and removed with their key; the router’s own files are kept', async (t) => {
  const dir = await tmp(t);
  const at = (p: string): string => join(dir, p);
  let secrets = [
    secret('id', { 'identity.key': 'KEY' }),
    secret('gs', { 'issued.json': 'I1', 'redemptions.g.json': 'R1', 'bad key!': 'x' }),
  ];
  const first = await materializeSecretFiles(dir, FILES, secrets);
  assert.deepEqual(first, [
    at('runtime/grants/issued.json'),
    at('runtime/grants/redemptions/g.json'),
    at('runtime/identity.key'),
  ]);
  assert.equal((await stat(at('runtime/identity.key'))).mode & 0o777, 0o600);
  assert.equal((await stat(at('runtime/grants/redemptions'))).mode & 0o777, 0o700);
  assert.deepEqual(await materializeSecretFiles(dir, FILES, secrets), [], 'nothing to do the second time');

  // the router counts a redemption: a Secret still holding the old count does not overwrite it
  await writeFile(at('runtime/grants/redemptions/g.json'), 'R2');
  assert.deepEqual(await materializeSecretFiles(dir, FILES, secrets), []);
  assert.equal(await readFile(at('runtime/grants/redemptions/g.json'), 'utf8'), 'R2');
  // someone edits the Secret of a file the router has not changed: the edit is written
  secrets = [secrets[0]!, secret('gs', { 'issued.json': 'I-edited', 'redemptions.g.json': 'R1' })];
  assert.deepEqual(await materializeSecretFiles(dir, FILES, secrets), [at('runtime/grants/issued.json')]);
  assert.equal(await readFile(at('runtime/grants/issued.json'), 'utf8'), 'I-edited');
  // a grant-state Secret recreated empty removes none of the router's files (the mirror refills it)
  secrets = [secrets[0]!, secret('gs', {})];
  assert.deepEqual(await materializeSecretFiles(dir, FILES, secrets), []);
  assert.equal(await readFile(at('runtime/grants/issued.json'), 'utf8'), 'I-edited');
  // a plain key that is gone removes its file; an entry no longer listed removes its file
  assert.deepEqual(await materializeSecretFiles(dir, FILES, [secret('id', {}), secrets[1]!]), [
    at('runtime/identity.key'),
  ]);
  assert.deepEqual(await materializeSecretFiles(dir, [FILES[0]!], secrets), [
    at('runtime/grants/issued.json'),
    at('runtime/grants/redemptions/g.json'),
    at('runtime/identity.key'),
  ]);
  await assert.rejects(stat(at('runtime/grants/issued.json')), /ENOENT/);
});

test('materialize refuses paths that leave the state folder, before writing anything', async (t) => {
  const dir = await tmp(t);
  for (const path of ['/etc/passwd', '../x', 'runtime/../../x']) {
    await assert.rejects(
      materializeSecretFiles(
        dir,
        [FILES[0]!, { secret: 'l', key: 'tls.crt', path }],
        [secret('id', { 'identity.key': 'K' }), secret('l', { 'tls.crt': 'C' })],
      ),
      (e: unknown) => isCaravanError(e) && e.code === ErrorCodes.KUBE_INVALID && e.message.includes(path),
    );
  }
  await assert.rejects(stat(join(dir, 'runtime/identity.key')), /ENOENT/);
});

/** Secrets in memory with the API's rules: 404 for a missing one, 409 for a stale resourceVersion. */
class FakeSecrets {
  readonly store = new Map<string, SecretObject>();
  rv = 10;
  updates = 0;
  failNext = 0;
  readonly api = {
    get: <T extends KubeObject>(_r: unknown, _ns: string, name: string): Promise<T> => {
      const s = this.store.get(name);
      if (!s) return Promise.reject(new CaravanError(ErrorCodes.KUBE_NOT_FOUND, `secret ${name} not found`));
      return Promise.resolve(structuredClone(s) as T);
    },
    update: <T extends KubeObject>(_r: unknown, _ns: string, obj: T): Promise<T> => {
      const o = obj as unknown as SecretObject;
      const cur = this.store.get(o.metadata.name);
      if (this.failNext > 0) {
        this.failNext--;
        return Promise.reject(new CaravanError(ErrorCodes.KUBE_API, 'update secrets: HTTP 500'));
      }
      if (!cur) return Promise.reject(new CaravanError(ErrorCodes.KUBE_NOT_FOUND, 'not found'));
      if (cur.metadata.resourceVersion !== o.metadata.resourceVersion)
        return Promise.reject(new CaravanError(ErrorCodes.KUBE_CONFLICT, 'the object has been modified'));
      const next = { ...structuredClone(o), metadata: { ...o.metadata, resourceVersion: String(++this.rv) } };
      this.store.set(o.metadata.name, next);
      this.updates++;
      return Promise.resolve(structuredClone(next) as unknown as T);
    },
  } as unknown as KubeApi;
  put(s: SecretObject): SecretObject {
    const next = { ...s, metadata: { ...s.metadata, resourceVersion: String(++this.rv) } };
    this.store.set(s.metadata.name, next);
    return next;
  }
}

test('the mirror scans on the injected clock, skips no-ops, backs off after a failure and mirrors renewals', async (t) => {
  const dir = await tmp(t);
  const clock = new ManualClock();
  const fake = new FakeSecrets();
  const log = memoryLogger('warn');
  const gs = fake.put(secret('gs', { 'issued.json': 'I1' }));
  const link = fake.put(secret('caravan-link-x', { 'tls.crt': 'OLD', 'tls.key': 'K' }));
  const files: SecretFile[] = [
    ...FILES.slice(1),
    { secret: 'caravan-link-x', key: 'tls.crt', path: 'runtime/links/x/client.crt', mirror: true },
    { secret: 'caravan-link-x', key: 'tls.key', path: 'runtime/links/x/client.key' },
  ];
  await materializeSecretFiles(dir, files, [gs, link]);
  const mirror = new SecretMirror({
    api: fake.api,
    namespace: 'ns',
    stateDir: dir,
    logger: log,
    clock,
    scanIntervalMs: 5000,
    backoff: { initialMs: 1000, maxMs: 1000 },
  });
  t.after(() => mirror.stop());
  mirror.setFiles(files, [gs, link]);
  mirror.start();
  clock.advance(0);
  await waitFor(() => mirror.stats.scans >= 1, { what: 'the first scan' });
  assert.equal(fake.updates, 0, 'files equal to their Secrets are not written');

  // a new redemption file and a renewed certificate, found by the periodic scan
  await mkdir(join(dir, 'runtime/grants/redemptions'), { recursive: true });
  await writeFile(join(dir, 'runtime/grants/redemptions/g2.json'), 'R1');
  await writeFile(join(dir, 'runtime/links/x/client.crt'), 'NEW');
  // the API fails: nothing is written until the backoff has passed on the clock
  fake.failNext = 1000;
  clock.advance(5000);
  await waitFor(() => mirror.stats.failures >= 2, { what: 'failed writes of both Secrets' });
  assert.equal(fake.updates, 0);
  assert.ok(
    log.lines.some((l) => l.includes('cannot copy router state into secret') && l.includes('HTTP 500')),
  );
  fake.failNext = 0;
  clock.advance(1000);
  await waitFor(
    () =>
      unb64(fake.store.get('gs')?.data?.['redemptions.g2.json']) === 'R1' &&
      unb64(fake.store.get('caravan-link-x')?.data?.['tls.crt']) === 'NEW',
    { what: 'the retried writes' },
  );
  assert.equal(unb64(fake.store.get('caravan-link-x')?.data?.['tls.key']), 'K', 'other keys are kept');
  const written = fake.updates;
  await mirror.flush();
  assert.equal(fake.updates, written, 'nothing changed, nothing written');

  // a stale copy from a watch that has not caught up does not make the mirror write the same again
  mirror.setFiles(files, [gs, link]);
  await mirror.flush();
  assert.equal(fake.updates, written);
});
