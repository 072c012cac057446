import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { isCaravanError, ErrorCodes } from '../../src/errors.js';
import {
  certificateInfo,
  createCa,
  createKeyAndCsr,
  issueCertificate,
  readCsr,
  signCsr,
  verifyIssuedBy,
  type CertAndKey,
} from '../../src/site/certs/index.js';
import { peekCertificate } from '../../src/site/certs/peek.js';

const DAY = 24 * 3600 * 1000;

interface ServerHandle {
  port: number;
  /** Server-side authorization errors (e.g. `CERT_HAS_EXPIRED`) of connections that were refused. */
  refusals: string[];
  /** Resolves with the authorization error of the next server-side connection that is refused. */
  nextRefusal(): Promise<string>;
  close(): Promise<void>;
}

/**
 * An echo server with mutual TLS: only clients with a certificate from `clientCa` are accepted
 * (requestCert + rejectUnauthorized). Node destroys a refused connection without an event, so the test grabs
 * each server-side TLS socket (through the `keylog` event, emitted during the handshake) and records its
 * `authorizationError` when it closes unauthorized.
 */
async function startServer(server: CertAndKey, clientCa: string): Promise<ServerHandle> {
  const refusals: string[] = [];
  const waiters: ((code: string) => void)[] = [];
  const seen = new WeakSet<tls.TLSSocket>();
  const srv = tls.createServer(
    {
      cert: server.certPem,
      key: server.keyPem,
      ca: [clientCa],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    },
  );
  srv.on('keylog', (_line: Buffer, socket: tls.TLSSocket) => {
    if (seen.has(socket)) return;
    seen.add(socket);
    socket.on('close', () => {
      if (!socket.authorized && socket.authorizationError) {
        const code = String(socket.authorizationError);
        refusals.push(code);
        waiters.shift()?.(code);
      }
    });
  });
  srv.on('tlsClientError', () => {});
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as AddressInfo).port,
    refusals,
    nextRefusal: () => new Promise((resolve) => waiters.push(resolve)),
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

/** Connects with a client certificate, sends `payload` and resolves with what comes back (or rejects). */
function exchange(port: number, client: CertAndKey, serverCa: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: [serverCa],
      cert: client.certPem,
      key: client.keyPem,
    });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('secureConnect', () => socket.write(payload));
    socket.on('data', (d: string) => {
      got += d;
      if (got.length >= payload.length) {
        socket.end();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${got.length} bytes`)));
  });
}

// One CA hierarchy shared by the tests (key generation is cheap, but keep the file quick).
const setup = (async () => {
  const ca1 = await createCa({ commonName: 'caravan site west' });
  const ca2 = await createCa({ commonName: 'caravan site east' });
  const server = await issueCertificate(ca1, {
    commonName: 'west',
    usage: 'server',
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const client1 = await issueCertificate(ca1, { commonName: 'link-hub', usage: 'client' });
  const client2 = await issueCertificate(ca2, { commonName: 'link-hub', usage: 'client' });
  return { ca1, ca2, server, client1, client2 };
})();

test('createCa makes a self-signed P-256 CA with a PKCS#8 key', async () => {
  const { ca1 } = await setup;
  assert.match(ca1.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(ca1.certPem, /^-----BEGIN CERTIFICATE-----\n/);
  const key = createPrivateKey(ca1.keyPem);
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const cert = new X509Certificate(ca1.certPem);
  assert.equal(cert.ca, true);
  assert.equal(cert.checkIssued(cert), true);
  assert.equal(cert.checkPrivateKey(key), true);
  const info = certificateInfo(ca1.certPem);
  assert.equal(info.commonName, 'caravan site west');
  assert.equal(info.subject, 'CN=caravan site west');
  assert.equal(info.issuer, info.subject);
  assert.equal(info.isCa, true);
  const years = (info.notAfter.getTime() - Date.now()) / (365 * DAY);
  assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`);
  assert.match(info.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(info.serialNumber, /^[0-9A-F]+$/);
});

test('issued certificates have the right extensions, SANs, serials and validity', async () => {
  const { ca1, server, client1 } = await setup;
  const s = new X509Certificate(server.certPem);
  assert.equal(s.ca, false);
  assert.equal(s.checkIssued(new X509Certificate(ca1.certPem)), true);
  assert.equal(s.checkPrivateKey(createPrivateKey(server.keyPem)), true);
  assert.deepEqual(s.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(s.checkHost('localhost'), 'localhost');
  assert.equal(s.checkIP('127.0.0.1'), '127.0.0.1');
  const c = new X509Certificate(client1.certPem);
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  const info = certificateInfo(server.certPem);
  assert.equal(info.commonName, 'west');
  assert.equal(info.issuer, 'CN=caravan site west');
  assert.deepEqual(info.dnsNames, ['localhost']);
  assert.deepEqual(info.ips, ['127.0.0.1']);
  assert.equal(info.isCa, false);
  assert.notEqual(info.serialNumber, certificateInfo(client1.certPem).serialNumber);
  const days = (info.notAfter.getTime() - Date.now()) / DAY;
  assert.ok(days > 89.9 && days < 90.1, `validity ${days} days`);
  assert.ok(info.notBefore.getTime() <= Date.now());
  assert.equal(await verifyIssuedBy(server.certPem, ca1.certPem), true);
  assert.equal(await verifyIssuedBy(server.certPem, (await setup).ca2.certPem), false);

  const both = await issueCertificate(ca1, { commonName: 'x', usage: 'both' });
  assert.deepEqual(new X509Certificate(both.certPem).keyUsage?.sort(), [
    '1.3.6.1.5.5.7.3.1',
    '1.3.6.1.5.5.7.3.2',
  ]);
});

test('mTLS: a client certificate from the same CA connects and exchanges bytes', async () => {
  const { ca1, server, client1 } = await setup;
  const srv = await startServer(server, ca1.certPem);
  try {
    const payload = 'hello caravan '.repeat(1000);
    assert.equal(await exchange(srv.port, client1, ca1.certPem, payload), payload);
    assert.deepEqual(srv.refusals, []);
  } finally {
    await srv.close();
  }
});

test('mTLS: a client certificate from another CA is refused by the server', async () => {
  const { ca1, server, client2 } = await setup;
  const srv = await startServer(server, ca1.certPem);
  try {
    const serverSaw = srv.nextRefusal();
    await assert.rejects(exchange(srv.port, client2, ca1.certPem, 'hello'));
    assert.match(await serverSaw, /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  } finally {
    await srv.close();
  }
});

test('mTLS: an expired client certificate is refused by the server', async () => {
  const { ca1, server } = await setup;
  const expired = await issueCertificate(ca1, {
    commonName: 'old',
    usage: 'client',
    notBefore: new Date(Date.now() - 3 * DAY),
    validityMs: DAY,
  });
  assert.ok(certificateInfo(expired.certPem).notAfter.getTime() < Date.now());
  const srv = await startServer(server, ca1.certPem);
  try {
    const serverSaw = srv.nextRefusal();
    await assert.rejects(exchange(srv.port, expired, ca1.certPem, 'hello'));
    assert.equal(await serverSaw, 'CERT_HAS_EXPIRED');
  } finally {
    await srv.close();
  }
});

test('mTLS: the client refuses an expired server certificate', async () => {
  const { ca1, client1 } = await setup;
  const expiredServer = await issueCertificate(ca1, {
    commonName: 'west',
    usage: 'server',
    dnsNames: ['localhost'],
    notBefore: new Date(Date.now() - 3 * DAY),
    validityMs: DAY,
  });
  const srv = await startServer(expiredServer, ca1.certPem);
  try {
    await assert.rejects(
      exchange(srv.port, client1, ca1.certPem, 'hello'),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CERT_HAS_EXPIRED');
        return true;
      },
    );
  } finally {
    await srv.close();
  }
});

test('mTLS: a server-only certificate cannot be used as a client certificate', async () => {
  const { ca1, server } = await setup;
  const serverOnly = await issueCertificate(ca1, { commonName: 'sneaky', usage: 'server' });
  const srv = await startServer(server, ca1.certPem);
  try {
    const serverSaw = srv.nextRefusal();
    await assert.rejects(exchange(srv.port, serverOnly, ca1.certPem, 'hello'));
    assert.equal(await serverSaw, 'INVALID_PURPOSE');
  } finally {
    await srv.close();
  }
});

test('signCsr: the key never leaves the requester; CSR subject is kept', async () => {
  const { ca1 } = await setup;
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: 'east' });
  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  assert.deepEqual(await readCsr(csrPem), { commonName: 'east', subject: 'CN=east' });
  const certPem = await signCsr(ca1, csrPem, { usage: 'client' });
  assert.equal(new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem)), true);
  assert.equal(certificateInfo(certPem).commonName, 'east');
});

test('signCsr rejects a tampered or malformed CSR with a CERT error', async () => {
  const { ca1 } = await setup;
  const { csrPem } = await createKeyAndCsr({ commonName: 'east' });
  const other = await createKeyAndCsr({ commonName: 'evil' });

  // Tamper: change a byte inside the subject CN ("east" → "fast") and re-encode.
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('east'));
  assert.ok(at > 0);
  der[at] = 'f'.charCodeAt(0);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const isCertError = (e: unknown): boolean => {
    assert.ok(isCaravanError(e, ErrorCodes.CERT), `expected a CERT error, got ${String(e)}`);
    return true;
  };
  await assert.rejects(signCsr(ca1, tampered, { usage: 'client' }), isCertError);
  await assert.rejects(readCsr(tampered), isCertError);

  // Swap the signature from another CSR.
  const derOther = Buffer.from(other.csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const mixed = Buffer.concat([der.subarray(0, der.length - 20), derOther.subarray(derOther.length - 20)]);
  await assert.rejects(
    signCsr(
      ca1,
      `-----BEGIN CERTIFICATE REQUEST-----\n${mixed.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`,
      {
        usage: 'client',
      },
    ),
    isCertError,
  );
  await assert.rejects(signCsr(ca1, 'not a csr', { usage: 'client' }), isCertError);
  // A CA key that does not belong to the CA certificate is refused too.
  const { ca2 } = await setup;
  await assert.rejects(
    signCsr({ certPem: ca1.certPem, keyPem: ca2.keyPem }, csrPem, { usage: 'client' }),
    isCertError,
  );
  // A leaf certificate cannot act as a CA.
  const leaf = await issueCertificate(ca1, { commonName: 'leaf', usage: 'client' });
  await assert.rejects(signCsr(leaf, csrPem, { usage: 'client' }), isCertError);
});

test("peekCertificate reads the validity and subject names that certificateInfo reads, with Node's parser", async () => {
  const { ca1 } = await setup;
  const cert = await issueCertificate(ca1, {
    commonName: 'west-abc',
    subject: { commonName: 'west-abc', organization: 'west' },
    usage: 'server',
    validityMs: 3 * DAY,
  });
  const full = certificateInfo(cert.certPem);
  const peek = peekCertificate(cert.certPem);
  // X.509 validity has a resolution of one second
  assert.equal(peek.notBefore.getTime(), Math.floor(full.notBefore.getTime() / 1000) * 1000);
  assert.equal(peek.notAfter.getTime(), Math.floor(full.notAfter.getTime() / 1000) * 1000);
  assert.equal(peek.commonName, 'west-abc');
  assert.equal(peek.organization, 'west');
  assert.equal(peekCertificate(ca1.certPem).organization, '');
  assert.throws(
    () => peekCertificate('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n'),
    (e: unknown) => isCaravanError(e) && e.code === ErrorCodes.CERT,
  );
});
