/**
 * The site's server certificate renews itself (src/site/server-cert-renewal.ts): real certificates and files, a
 * manual clock instead of waiting weeks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { memoryLogger } from '../../src/observe/log.js';
import { certificateInfo, createCa, issueCertificate } from '../../src/site/certs/index.js';
import { ServerCertRenewal } from '../../src/site/server-cert-renewal.js';
import { waitFor } from '../support/wait.js';

const DAY = 24 * 3600_000;

async function siteWithServerCert(validityMs = 90 * DAY) {
  const dir = await mkdtemp(join(tmpdir(), 'cv-srvrenew-'));
  await mkdir(join(dir, 'runtime'));
  const ca = await createCa({ commonName: 'hub site CA' });
  const server = await issueCertificate(ca, {
    commonName: 'r-hub',
    subject: { commonName: 'r-hub', organization: 'hub' },
    usage: 'server',
    dnsNames: ['hub.example'],
    ips: ['192.0.2.7'],
    validityMs,
  });
  await writeFile(join(dir, 'runtime', 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'runtime', 'ca.key'), ca.keyPem);
  await writeFile(join(dir, 'runtime', 'server.crt'), server.certPem);
  await writeFile(join(dir, 'runtime', 'server.key'), server.keyPem);
  return { dir, ca, server, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A renewal on a manual clock that counts renewals and the looks that found the certificate not yet due. */
function renewalOf(dir: string, clock: ManualClock) {
  const log = memoryLogger('debug');
  let renewed = 0;
  const renewal = new ServerCertRenewal({ dir, clock, logger: log, onRenewed: () => void renewed++ });
  const count = (what: string): number => log.lines.filter((l) => l.includes(what)).length;
  return {
    renewal,
    log,
    renewed: () => renewed,
    looks: () => count('server certificate renewal scheduled'),
    failures: () => count('server certificate renewal failed'),
  };
}

const serverCert = (dir: string): Promise<string> => readFile(join(dir, 'runtime', 'server.crt'), 'utf8');

test('the server certificate is renewed once a third of its lifetime remains: same key, subject and names', async () => {
  const s = await siteWithServerCert();
  const clock = new ManualClock(Date.now());
  const r = renewalOf(s.dir, clock);
  try {
    await r.renewal.start();
    assert.equal(r.looks(), 1);
    assert.equal(await serverCert(s.dir), s.server.certPem, 'a fresh certificate is kept');
    clock.advance(59 * DAY);
    await waitFor(() => r.looks() === 2, { what: 'the renewal to look again' });
    assert.equal(r.renewed(), 0, 'not renewed before two thirds of its lifetime');
    assert.equal(await serverCert(s.dir), s.server.certPem);
    clock.advance(2 * DAY);
    await waitFor(() => r.renewed() === 1, { what: 'the renewal' });
    const pem = await serverCert(s.dir);
    const before = certificateInfo(s.server.certPem);
    const after = certificateInfo(pem);
    assert.equal(after.commonName, 'r-hub');
    assert.equal(after.organization, 'hub');
    assert.deepEqual(after.dnsNames, ['hub.example']);
    assert.deepEqual(after.ips, ['192.0.2.7']);
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.ok(after.notAfter.getTime() >= clock.now() + 89 * DAY, 'valid for the same lifetime from now');
    const x = new X509Certificate(pem);
    assert.ok(x.publicKey.equals(createPublicKey(s.server.keyPem)), 'the same key');
    assert.ok(x.checkIssued(new X509Certificate(s.ca.certPem)), 'signed by the site CA');
    assert.ok(r.log.lines.some((l) => l.includes('server certificate renewed')));
    // and the renewed one is not renewed again until it falls due itself
    await waitFor(() => r.looks() === 3, { what: 'the next look' });
    assert.equal(r.renewed(), 1);
  } finally {
    r.renewal.stop();
    await s.remove();
  }
});

test('a certificate already due at start is renewed at once; a failure is logged and tried again', async () => {
  const s = await siteWithServerCert(3 * DAY);
  const clock = new ManualClock(Date.now() + 2.5 * DAY);
  const r = renewalOf(s.dir, clock);
  try {
    // the CA certificate is missing for now: the renewal fails, says why, and does not give up
    await unlink(join(s.dir, 'runtime', 'ca.crt'));
    await r.renewal.start();
    assert.equal(r.renewed(), 0);
    assert.equal(r.failures(), 1);
    await writeFile(join(s.dir, 'runtime', 'ca.crt'), s.ca.certPem);
    clock.advance(3600_000);
    await waitFor(() => r.renewed() === 1, { what: 'the retried renewal' });
    assert.ok(certificateInfo(await serverCert(s.dir)).notAfter.getTime() > clock.now() + 2 * DAY);
  } finally {
    r.renewal.stop();
    await s.remove();
  }
});

test('a site without its CA key (certificates managed elsewhere) is left alone', async () => {
  const s = await siteWithServerCert(3 * DAY);
  const clock = new ManualClock(Date.now() + 2.5 * DAY);
  const r = renewalOf(s.dir, clock);
  try {
    await unlink(join(s.dir, 'runtime', 'ca.key'));
    await r.renewal.start();
    clock.advance(DAY);
    assert.equal(r.renewed(), 0);
    assert.equal(r.failures(), 0);
    assert.equal(r.looks(), 0, 'nothing scheduled');
    assert.equal(await serverCert(s.dir), s.server.certPem);
  } finally {
    r.renewal.stop();
    await s.remove();
  }
});

test('a CA about to expire: renewed once, then a warning instead of renewing in a loop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cv-srvrenew-'));
  await mkdir(join(dir, 'runtime'));
  const ca = await createCa({ commonName: 'old site CA', validityMs: 2 * DAY });
  const server = await issueCertificate(ca, { commonName: 'r-old', usage: 'server', validityMs: 3 * DAY });
  await writeFile(join(dir, 'runtime', 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'runtime', 'ca.key'), ca.keyPem);
  await writeFile(join(dir, 'runtime', 'server.crt'), server.certPem);
  await writeFile(join(dir, 'runtime', 'server.key'), server.keyPem);
  // a minute before the CA expires: a renewed certificate cannot outlive the CA, so it is due at once again
  const clock = new ManualClock(Date.now() + 2 * DAY - 60_000);
  const r = renewalOf(dir, clock);
  try {
    await r.renewal.start();
    assert.equal(r.renewed(), 1);
    const renewed = certificateInfo(await serverCert(dir));
    assert.ok(renewed.notAfter.getTime() <= certificateInfo(ca.certPem).notAfter.getTime());
    assert.ok(r.log.lines.some((l) => l.includes('the site CA expires soon')));
    clock.advance(30 * 60_000);
    assert.equal(r.renewed(), 1, 'not renewed again');
  } finally {
    r.renewal.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
