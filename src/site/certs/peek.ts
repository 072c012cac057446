/**
 * What a router needs to know about a certificate it holds — its validity and subject names — read with Node's
 * built-in X.509 parser. Scheduling a renewal must not load `@peculiar/x509` (site/certs/lazy.ts): every router
 * with a link or link access schedules one at start, and that library with its Reflect polyfill costs about
 * 12 MB of RSS (docs/design/performance.md, "Idle memory").
 */
import { X509Certificate } from 'node:crypto';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';

export interface CertificatePeek {
  notBefore: Date;
  notAfter: Date;
  /** subject CN ('' when there is none) */
  commonName: string;
  /** subject O ('' when there is none): the site name, in the certificates Caravan issues */
  organization: string;
}

/** Validity and subject names of a PEM certificate; a CERT error when it cannot be read. */
export function peekCertificate(pem: string): CertificatePeek {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new CaravanError(ErrorCodes.CERT, `cannot read certificate: ${errorMessage(e)}`, { cause: e });
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()))
    throw new CaravanError(
      ErrorCodes.CERT,
      `cannot read certificate validity ('${cert.validFrom}', '${cert.validTo}')`,
    );
  return { notBefore, notAfter, ...subjectNames(cert.subject) };
}

/** CN and O of Node's subject string: one `KEY=value` per line. */
function subjectNames(subject: string): { commonName: string; organization: string } {
  let commonName = '';
  let organization = '';
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=') && commonName === '') commonName = line.slice(3);
    else if (line.startsWith('O=') && organization === '') organization = line.slice(2);
  }
  return { commonName, organization };
}
