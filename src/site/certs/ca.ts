/**
 * The site certificate authority (docs/design/sites.md): ECDSA P-256 keys, SHA-256 signatures, built with
 * @peculiar/x509 on Node's WebCrypto. A link's client certificate is issued by the accepting site's CA from a CSR,
 * so private keys never leave their site. Everything here is PEM in, PEM out; private keys are PKCS#8 PEM, which
 * Node's tls module accepts as is.
 */
import {
  X509Certificate as NodeX509Certificate,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs the Reflect metadata API; must come first
import * as x509 from '@peculiar/x509';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const subtle = webcrypto.subtle;
const EC_KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

import { CA_VALIDITY_MS, CERT_VALIDITY_MS, CLOCK_SKEW_MS } from './validity.js';

export { CA_VALIDITY_MS, CERT_VALIDITY_MS, CLOCK_SKEW_MS };

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export type CertUsage = 'client' | 'server' | 'both';

export interface CaOptions {
  commonName: string;
  /** Default 10 years. */
  validityMs?: number;
}

export interface SignOptions {
  usage: CertUsage;
  dnsNames?: string[];
  ips?: string[];
  /** Default 90 days. */
  validityMs?: number;
  /**
   * Start of validity. Default: now minus CLOCK_SKEW_MS. When given, notAfter = notBefore + validityMs
   * (otherwise notAfter = now + validityMs). Mostly for tests (expired certificates).
   */
  notBefore?: Date;
  /**
   * The subject of the certificate, set by the signer: the CSR's own subject is then ignored (a grant server
   * names the redeemer itself; nothing the redeemer wrote into its CSR reaches the certificate).
   */
  subject?: { commonName: string; organization?: string };
}

export interface IssueOptions extends SignOptions {
  commonName: string;
}

export interface CertificateInfo {
  /** RFC 4514-style subject, e.g. `CN=west`. */
  subject: string;
  issuer: string;
  /** Subject common name ('' when there is none). */
  commonName: string;
  /** Subject organization ('' when there is none); the site name, in the certificates Caravan issues. */
  organization: string;
  /** Uppercase hex, as in Node's `tls` `getPeerCertificate().serialNumber`. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** `AB:CD:...`, as in Node's `getPeerCertificate().fingerprint256`. */
  fingerprintSha256: string;
  /** Whether the certificate is a CA (basicConstraints CA=true). */
  isCa: boolean;
  dnsNames: string[];
  ips: string[];
}

function certError(message: string, cause?: unknown): CaravanError {
  return new CaravanError(
    ErrorCodes.CERT,
    cause === undefined ? message : `${message}: ${errorMessage(cause)}`,
    {
      cause,
    },
  );
}

function toPem(der: ArrayBuffer, label: string): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

function checkCommonName(cn: string): void {
  if (typeof cn !== 'string' || cn.length === 0 || cn.length > 64 || /[\n\r\0]/.test(cn)) {
    throw certError(`invalid common name ${JSON.stringify(cn)}: 1-64 characters, no line breaks`);
  }
}

function checkValidity(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw certError(`invalid validity ${ms} ms: must be > 0`);
}

/** A random positive serial number (16 bytes, first byte 0x01..0x7f: positive and no leading zero). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_KEY_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

const NODE_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Imports a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY") as a WebCrypto ECDSA signing key. */
async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; keyObject: KeyObject }> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (e) {
    throw certError('cannot read CA private key', e);
  }
  const curve = NODE_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
  if (keyObject.asymmetricKeyType !== 'ec' || !curve) {
    throw certError(
      `CA private key must be an ECDSA key on P-256, P-384 or P-521 (got ${keyObject.asymmetricKeyType})`,
    );
  }
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
  return { key, keyObject };
}

function parseCert(pem: string, what = 'certificate'): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (e) {
    throw certError(`cannot read ${what}`, e);
  }
}

/** Creates a self-signed CA certificate and its key. */
export async function createCa(opts: CaOptions): Promise<CertAndKey> {
  checkCommonName(opts.commonName);
  const validityMs = opts.validityMs ?? CA_VALIDITY_MS;
  checkValidity(validityMs);
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName] }],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + validityMs),
    keys,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** Creates a private key and a CSR for it (the key stays with the caller). */
export async function createKeyAndCsr(opts: {
  commonName: string;
}): Promise<{ keyPem: string; csrPem: string }> {
  checkCommonName(opts.commonName);
  const keys = await generateKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [opts.commonName] }],
    keys,
    signingAlgorithm: SIGNING_ALG,
  });
  return { keyPem: await exportKeyPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}

/**
 * A CSR for an existing private key (PKCS#8 or SEC1 PEM, ECDSA): certificate renewal keeps the link's key, so
 * only the certificate file changes.
 */
export async function createCsrForKey(opts: { keyPem: string; commonName: string }): Promise<string> {
  checkCommonName(opts.commonName);
  const { key, keyObject } = await importSigningKey(opts.keyPem);
  const curve = key.algorithm as webcrypto.EcKeyAlgorithm;
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  const publicKey = await subtle.importKey(
    'spki',
    spki,
    { name: 'ECDSA', namedCurve: curve.namedCurve },
    true,
    ['verify'],
  );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [opts.commonName] }],
    keys: { privateKey: key, publicKey },
    signingAlgorithm: SIGNING_ALG,
  });
  return csr.toString('pem') + '\n';
}

/** Reads a CSR, verifying its signature. Rejects with CaravanError(CERT) when it is malformed or tampered with. */
export async function readCsr(csrPem: string): Promise<{ commonName: string; subject: string }> {
  const csr = await parseAndVerifyCsr(csrPem);
  return { commonName: csr.subjectName.getField('CN')[0] ?? '', subject: csr.subject };
}

async function parseAndVerifyCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw certError('invalid certificate signing request', e);
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw certError('cannot verify the certificate signing request', e);
  }
  if (!ok) throw certError('certificate signing request has an invalid signature');
  return csr;
}

/**
 * Signs a CSR with the CA: a leaf certificate (CA=false, keyUsage digitalSignature, extKeyUsage per `usage`,
 * SAN from dnsNames/ips, AKI/SKI) with the CSR's subject and a random serial. Rejects with CaravanError(CERT)
 * when the CSR is malformed or its signature does not verify, or when the CA key does not match the CA cert.
 */
export async function signCsr(ca: CertAndKey, csrPem: string, opts: SignOptions): Promise<string> {
  const validityMs = opts.validityMs ?? CERT_VALIDITY_MS;
  checkValidity(validityMs);
  if (!['client', 'server', 'both'].includes(opts.usage)) {
    throw certError(`invalid usage ${JSON.stringify(opts.usage)}: expected client, server or both`);
  }
  const csr = await parseAndVerifyCsr(csrPem);
  const caCert = parseCert(ca.certPem, 'CA certificate');
  const bc = caCert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw certError('the CA certificate is not a CA (basicConstraints CA=false or missing)');
  const { key: signingKey, keyObject } = await importSigningKey(ca.keyPem);
  const caSpki = Buffer.from(caCert.publicKey.rawData);
  const keySpki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  if (!caSpki.equals(keySpki)) throw certError('the CA private key does not match the CA certificate');

  const eku: string[] = [];
  if (opts.usage === 'server' || opts.usage === 'both') eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (opts.usage === 'client' || opts.usage === 'both') eku.push(x509.ExtendedKeyUsage.clientAuth);

  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
    caSki
      ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId)
      : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  const names: x509.JsonGeneralNames = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) {
    try {
      extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
    } catch (e) {
      throw certError('invalid subject alternative name', e);
    }
  }

  const now = Date.now();
  const notBefore = opts.notBefore ?? new Date(now - CLOCK_SKEW_MS);
  const notAfter = new Date((opts.notBefore ? opts.notBefore.getTime() : now) + validityMs);
  if (notAfter.getTime() > caCert.notAfter.getTime() && notAfter.getTime() > now) {
    // Never outlive the CA: clients would reject the chain once the CA expires anyway.
    notAfter.setTime(caCert.notAfter.getTime());
  }
  let cert: x509.X509Certificate;
  try {
    cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: opts.subject ? subjectName(opts.subject) : csr.subjectName,
      issuer: caCert.subjectName,
      notBefore,
      notAfter,
      publicKey: csr.publicKey,
      signingKey,
      signingAlgorithm: SIGNING_ALG,
      extensions,
    });
  } catch (e) {
    throw certError('cannot sign the certificate', e);
  }
  return cert.toString('pem') + '\n';
}

function subjectName(s: { commonName: string; organization?: string }): x509.JsonName {
  checkCommonName(s.commonName);
  if (s.organization !== undefined) checkCommonName(s.organization);
  return s.organization !== undefined
    ? [{ CN: [s.commonName] }, { O: [s.organization] }]
    : [{ CN: [s.commonName] }];
}

/** The CSR's public key (DER SubjectPublicKeyInfo), after checking its signature. */
export async function csrPublicKey(csrPem: string): Promise<Buffer> {
  const csr = await parseAndVerifyCsr(csrPem);
  return Buffer.from(csr.publicKey.rawData);
}

/** Convenience: a new key, a CSR for it and the CA's signature; returns the certificate and the key. */
export async function issueCertificate(ca: CertAndKey, opts: IssueOptions): Promise<CertAndKey> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: opts.commonName });
  const { commonName: _cn, ...signOpts } = opts;
  signOpts.subject ??= { commonName: opts.commonName };
  const certPem = await signCsr(ca, csrPem, signOpts);
  return { certPem, keyPem };
}

/** Facts about a PEM certificate (the first one, when the PEM holds several). */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = parseCert(pem);
  let node: NodeX509Certificate;
  try {
    node = new NodeX509Certificate(pem);
  } catch (e) {
    throw certError('cannot read certificate', e);
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const json = san ? san.names.toJSON() : [];
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    organization: cert.subjectName.getField('O')[0] ?? '',
    serialNumber: node.serialNumber.toUpperCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprintSha256: node.fingerprint256,
    isCa: node.ca,
    dnsNames: json.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: json.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/**
 * Whether `certPem` was signed by the CA in `caCertPem` and is valid at `at` (default now). Does not check
 * revocation.
 */
export async function verifyIssuedBy(
  certPem: string,
  caCertPem: string,
  at: Date = new Date(),
): Promise<boolean> {
  const cert = parseCert(certPem);
  const caCert = parseCert(caCertPem, 'CA certificate');
  if (cert.issuer !== caCert.subject) return false;
  try {
    return await cert.verify({ publicKey: caCert.publicKey, date: at });
  } catch {
    return false;
  }
}
