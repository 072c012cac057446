/**
 * A hub keeps accepting links after its first server certificate expired: real router processes, a server
 * certificate made to live 9 s (the router renews it with the site CA's key when a third of its lifetime is left,
 * and loads it into the link acceptor and the grant server without a restart), and a site that dials the hub
 * only after the first certificate expired.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { certificateInfo, createCsrForKey, issueCertificate, signCsr } from '../../src/site/certs/index.js';
import { freePort } from '../support/ports.js';
import { stopAllProcesses, type ManagedProcess } from '../support/proc.js';
import { makeTempRoot, siteOf, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
const LIFETIME_MS = 9000;

describe('the server certificate is renewed while the router runs', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let hubProc: ManagedProcess;
  let client: { certPem: string; keyPem: string };
  let firstSerial = '';
  let firstNotAfter = 0;

  /** The serial of the certificate the server on `port` presents (a client certificate from the hub's CA). */
  const servedSerial = (port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({
        host: HOST,
        port,
        ca: hub.ca!.certPem,
        cert: client.certPem,
        key: client.keyPem,
        minVersion: 'TLSv1.3',
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => {
        const serial = s.getPeerCertificate().serialNumber.toUpperCase();
        s.destroy();
        resolve(serial);
      });
      s.once('error', reject);
    });

  before(async () => {
    root = await makeTempRoot('server-renew');
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: await freePort() },
    });
    // a server certificate for the hub's own key that lives only LIFETIME_MS from now
    const serverCrt = join(hub.dir, 'runtime', 'server.crt');
    const current = certificateInfo(await readFile(serverCrt, 'utf8'));
    const key = await readFile(join(hub.dir, 'runtime', 'server.key'), 'utf8');
    const csr = await createCsrForKey({ keyPem: key, commonName: current.commonName });
    const short = await signCsr(hub.ca!, csr, {
      usage: 'server',
      validityMs: LIFETIME_MS,
      notBefore: new Date(),
      subject: { commonName: current.commonName, organization: 'hub' },
    });
    await writeFile(serverCrt, short);
    firstSerial = certificateInfo(short).serialNumber;
    firstNotAfter = certificateInfo(short).notAfter.getTime();
    client = await issueCertificate(hub.ca!, { commonName: 'probe', usage: 'client' });
    hubProc = hub.start();
  });

  after(async () => {
    await stopAllProcesses();
    await root?.remove();
  });

  test('new handshakes get the renewed certificate; a site dialing after the first expired links', async () => {
    const st = await hub.ready();
    const linkPort = st.router.linkAccess?.port ?? 0;
    assert.ok(linkPort > 0);
    assert.equal(await servedSerial(linkPort), firstSerial, 'the short-lived certificate is served at first');
    const renewedSerial = await waitFor(
      async () => {
        const s = await servedSerial(linkPort).catch(() => undefined);
        return s !== undefined && s !== firstSerial ? s : undefined;
      },
      { timeoutMs: LIFETIME_MS + 5000, what: 'the link port to serve a renewed certificate' },
    );
    const onDisk = certificateInfo(await readFile(join(hub.dir, 'runtime', 'server.crt'), 'utf8'));
    assert.ok(onDisk.notAfter.getTime() > firstNotAfter, 'the renewed certificate outlives the first');
    assert.equal(onDisk.commonName, hub.routerId, 'it still names the router id');
    // the grant server presents it too
    const grantPort = Number(
      JSON.parse(await readFile(join(hub.dir, 'runtime', 'grants', 'server.json'), 'utf8')).port,
    );
    const grantSerial = await servedSerial(grantPort);
    assert.notEqual(grantSerial, firstSerial, 'the grant server serves a renewed certificate');
    assert.ok(hubProc.output.includes('server certificate renewed'), 'the router logs the renewal');
    assert.ok(renewedSerial.length > 0);

    // once the first certificate has expired, a new site dials the hub and its link comes up
    await waitFor(() => Date.now() > firstNotAfter + 500 || undefined, {
      timeoutMs: LIFETIME_MS + 5000,
      what: 'the first server certificate to expire',
    });
    const west = await TestSite.create(root.dir, { name: 'west' });
    await west.linkTo(hub, { endpoints: [{ host: HOST, port: linkPort }] });
    west.start();
    await waitFor(
      async () => {
        const s = await west.status().catch(() => undefined);
        return s?.links.some((l) => l.state === 'up' && siteOf(l.neighbor) === 'hub') || undefined;
      },
      { timeoutMs: 15_000, what: 'west to link to the hub after the first certificate expired' },
    );
  });
});
