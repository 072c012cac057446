import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import {
  createCsrForKey,
  createKeyAndCsr,
  readCsr,
  createCa,
  signCsr,
  certificateInfo,
} from '../../src/site/certs/index.js';
import {
  RevocationSet,
  codeMatches,
  decideRedemption,
  generateCode,
  hashCode,
  issueToken,
  normalizeSerial,
  parseToken,
  redeemToken,
  renewalDueAt,
  renewalRetryMs,
  revokeLink,
  tokenHosts,
  type IssuedCert,
} from '../../src/site/grants/index.js';
import { grantNameFromPath, grantUrl, renewUrlFor } from '../../src/site/grants/logic.js';

test('codes: random, URL-safe, only their hash is compared', () => {
  const a = generateCode();
  const b = generateCode();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  const h = hashCode(a);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(hashCode(a), h, 'deterministic');
  assert.equal(codeMatches(a, { codeHash: h }), true);
  assert.equal(codeMatches(b, { codeHash: h }), false);
  assert.equal(codeMatches(a.slice(0, -1) + 'x', { codeHash: h }), false, 'one changed character');
  assert.equal(codeMatches('abc', { code: 'abc' }), true, 'a clear-text code written by hand');
  assert.equal(codeMatches('abc', {}), false, 'a grant with no code accepts nothing');
  assert.equal(codeMatches('abc', { codeHash: 'zz' }), false, 'a malformed hash accepts nothing');
});

test('redemption decision: unknown, then code, then expiry, then count', () => {
  const ok = { exists: true, codeOk: true, expiresAt: 2000, redemptions: 2, redeemed: 1 };
  assert.deepEqual(decideRedemption('g', ok, 1000), { ok: true, status: 200 });
  const d = (over: Partial<typeof ok>, now = 1000) => decideRedemption('g', { ...ok, ...over }, now);
  assert.equal(d({ exists: false, codeOk: false }).code, ErrorCodes.GRANT_UNKNOWN);
  assert.equal(d({ exists: false }).status, 404);
  // a wrong code on an expired, used-up grant reveals nothing but "wrong code"
  assert.equal(d({ codeOk: false, redeemed: 5 }, 5000).code, ErrorCodes.GRANT_BAD_CODE);
  assert.equal(d({}, 2000).code, ErrorCodes.GRANT_EXPIRED, 'expired at the instant of expiry');
  assert.equal(d({ redeemed: 2 }, 1999).code, ErrorCodes.GRANT_USED_UP);
  assert.equal(d({ redeemed: 2 }, 3000).code, ErrorCodes.GRANT_EXPIRED, 'expiry is reported before count');
  for (const r of [d({ exists: false }), d({ codeOk: false }), d({}, 3000), d({ redeemed: 9 })]) {
    assert.ok(r.status >= 400 && r.status < 500);
    assert.ok(r.message && !r.message.includes('\n'));
  }
});

test('token hosts: explicit, configured, specific bind host, machine addresses, loopback', () => {
  const ifs = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '10.0.0.5', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
    ],
    eth1: [{ address: '192.168.1.9', family: 4, internal: false }],
  };
  assert.deepEqual(tokenHosts({ host: '0.0.0.0', hosts: ['a'] }, ifs, ['x', 'x', 'y']), ['x', 'y']);
  assert.deepEqual(tokenHosts({ host: '0.0.0.0', hosts: ['hub.example'] }, ifs), ['hub.example']);
  assert.deepEqual(tokenHosts({ host: '10.1.1.1' }, ifs), ['10.1.1.1']);
  assert.deepEqual(tokenHosts({ host: '0.0.0.0' }, ifs), ['10.0.0.5', '192.168.1.9']);
  assert.deepEqual(tokenHosts({ host: '::' }, { lo: ifs.lo }), ['127.0.0.1']);
});

test('URLs, paths and serials', () => {
  assert.equal(grantUrl('127.0.0.1', 8443, 'g-1'), 'https://127.0.0.1:8443/v1/grants/g-1');
  assert.equal(grantUrl('fd00::1', 8443, 'g'), 'https://[fd00::1]:8443/v1/grants/g');
  assert.equal(renewUrlFor('https://[fd00::1]:8443/v1/grants/g'), 'https://[fd00::1]:8443/v1/renew');
  assert.equal(grantNameFromPath('/v1/grants/hub-1'), 'hub-1');
  assert.equal(grantNameFromPath('/v1/grants/'), undefined);
  assert.equal(grantNameFromPath('/v1/grants/a/b'), undefined);
  assert.equal(normalizeSerial('00:0a:BC'), 'ABC');
  assert.equal(normalizeSerial('0abc'), normalizeSerial('ABC'));
  assert.equal(normalizeSerial('00'), '0');
});

test('renewal is due when a third of the lifetime remains; retries are bounded', () => {
  assert.equal(renewalDueAt(9000, 6000), 7000);
  assert.equal(renewalDueAt(30 * 86_400_000, 30 * 86_400_000), 20 * 86_400_000);
  assert.equal(renewalRetryMs(6000), 1000);
  assert.equal(renewalRetryMs(100_000), 10_000);
  assert.equal(renewalRetryMs(30 * 86_400_000), 300_000);
});

test('revocation set: by serial and by link identity (covers renewals)', () => {
  const rec = (serial: string, id: string, site: string): IssuedCert => ({
    serial,
    id,
    site,
    grant: 'g',
    issuedAt: '2030-01-01T00:00:00Z',
    notAfter: '2030-02-01T00:00:00Z',
    lifetimeMs: 1000,
  });
  const set = new RevocationSet(
    [rec('AA01', 'id-east', 'east'), rec('AA02', 'id-east', 'east'), rec('BB01', 'id-west', 'west')],
    [{ target: 'east', at: '', ids: ['id-east'], serials: ['AA01'], sites: ['east'] }],
  );
  assert.match(set.refusal('aa01') ?? '', /revoked \(site east, serial AA01\)/);
  assert.match(set.refusal('00AA02') ?? '', /site east/, 'a renewed certificate of a revoked link');
  assert.equal(set.refusal('BB01'), undefined);
  assert.equal(set.refusal('CC'), undefined, 'certificates not issued by a grant are not refused here');
});

test('token files: anything but one valid AccessToken is TOKEN_INVALID with a one-line message', () => {
  for (const text of [
    '',
    'not: [yaml',
    'kind: AccessToken\n',
    'apiVersion: caravan.dev/v1alpha1\nkind: Link\n',
  ]) {
    assert.throws(
      () => parseToken(text, 't.token'),
      (e: unknown) => isCaravanError(e, ErrorCodes.TOKEN_INVALID) && !e.message.includes('\n'),
      JSON.stringify(text),
    );
  }
});

test('a token says when it expires; one long expired is refused without asking its grant server', async () => {
  const ca = await createCa({ commonName: 'x CA' });
  const token = (expiresAt: string): unknown => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'AccessToken',
    metadata: { name: 'g' },
    // port 9 (discard): nothing listens, so asking the server would be GRANT_UNREACHABLE, not GRANT_EXPIRED
    spec: {
      url: 'https://127.0.0.1:9/v1/grants/g',
      code: 'a'.repeat(32),
      ca: ca.certPem,
      expiresAt,
      redemptions: 2,
    },
  });
  const old = new Date(Date.now() - 3600_000).toISOString();
  const parsed = parseToken(JSON.stringify(token(old)), 't.token');
  assert.equal(parsed.spec.expiresAt, old);
  assert.equal(parsed.spec.redemptions, 2);
  await assert.rejects(redeemToken('/nonexistent-site', parsed), (e: unknown) => {
    assert.ok(isCaravanError(e, ErrorCodes.GRANT_EXPIRED), String(e));
    assert.match((e as Error).message, /expired at .* ask the issuing site for a new one/);
    return true;
  });
  assert.throws(
    () => parseToken(JSON.stringify(token('soon')), 't.token'),
    (e: unknown) => isCaravanError(e, ErrorCodes.TOKEN_INVALID),
  );
});

test('CSR for an existing key: same public key, verified signature', async () => {
  const { keyPem } = await createKeyAndCsr({ commonName: 'west' });
  const csr = await createCsrForKey({ keyPem, commonName: 'west' });
  assert.equal((await readCsr(csr)).commonName, 'west');
  const ca = await createCa({ commonName: 'hub CA' });
  const a = certificateInfo(await signCsr(ca, csr, { usage: 'client', validityMs: 6000 }));
  const b = certificateInfo(await signCsr(ca, csr, { usage: 'client', validityMs: 6000 }));
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.ok(b.notAfter.getTime() - Date.now() <= 6000);
});

test('issueToken refuses without link access; revokeLink names what it knows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cv-grants-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'resources'), { recursive: true });
  await writeFile(
    join(dir, 'resources', 'site.yaml'),
    'apiVersion: caravan.dev/v1alpha1\nkind: Site\nmetadata:\n  name: west\n',
  );
  await assert.rejects(issueToken(dir), (e: unknown) => {
    assert.ok(isCaravanError(e, ErrorCodes.NO_LINK_ACCESS));
    assert.match(e.message, /site "west" does not accept links: create the site with --link-access/);
    return true;
  });
  await assert.rejects(revokeLink(dir, 'east'), (e: unknown) => isCaravanError(e, ErrorCodes.LINK_NOT_FOUND));
});
