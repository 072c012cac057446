/**
 * The site's server certificate names its router id (subject CN) so a dialing router can check that the router
 * it reached is the one its `hi` claims. A certificate from before router identities (CN = the site name) is
 * reissued by the site's CA at start, keeping its names and key usage.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadCerts } from './certs/lazy.js';
import { writeFileAtomic } from './atomic.js';
import { fileExists, sitePaths } from './grants/state.js';

/** The subject CN of a PEM certificate ('' when it has none or cannot be read). */
export function commonNameOf(pem: string): string {
  try {
    const subject = new X509Certificate(pem).subject;
    for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  } catch {
    return '';
  }
  return '';
}

/**
 * Reissues runtime/server.crt (with a new key) when it does not name `routerId`. Returns true when it did.
 * Nothing happens when the site has no CA key (its certificates are managed elsewhere).
 */
export async function ensureServerCertificate(
  siteDir: string,
  routerId: string,
  siteName: string,
): Promise<boolean> {
  const p = sitePaths(siteDir);
  if (!(await fileExists(p.serverCert)) || !(await fileExists(p.caKey))) return false;
  const current = await readFile(p.serverCert, 'utf8');
  if (commonNameOf(current) === routerId) return false;
  const certs = await loadCerts();
  const info = certs.certificateInfo(current);
  const ca = { certPem: await readFile(p.caCert, 'utf8'), keyPem: await readFile(p.caKey, 'utf8') };
  const issued = await certs.issueCertificate(ca, {
    commonName: routerId,
    subject: { commonName: routerId, organization: siteName },
    usage: 'server',
    dnsNames: info.dnsNames,
    ips: info.ips,
  });
  await writeFileAtomic(p.serverKey, issued.keyPem, 0o600);
  await writeFileAtomic(p.serverCert, issued.certPem);
  return true;
}
