import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { isSelfCertifyingId } from '../identity.js';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot read TLS ${what} ${path}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  };
  return {
    ca: await read('CA', files.ca),
    cert: await read('certificate', files.cert),
    key: await read('key', files.key),
  };
}

/**
 * One secure context per identity, built once and reused for every connection (re-parsing key and certificates
 * per connection is measurably expensive). TLS 1.3 only; the peer must present a certificate from `ca`.
 */
export function buildSecureContext(m: TlsMaterial): tls.SecureContext {
  try {
    return tls.createSecureContext({ ca: m.ca, cert: m.cert, key: m.key, minVersion: 'TLSv1.3' });
  } catch (e) {
    throw new CaravanError(ErrorCodes.CERT, `invalid TLS material: ${errorMessage(e)}`, { cause: e });
  }
}

/** Explain a TLS verification failure in words an operator can act on. */
export function describeTlsError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return `peer certificate is not issued by the trusted CA (${err.code})`;
    case 'CERT_HAS_EXPIRED':
      return 'peer certificate has expired';
    case 'CERT_NOT_YET_VALID':
      return 'peer certificate is not yet valid';
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'peer presented no client certificate';
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';

/**
 * The router id a verified link certificate names (its subject CN), or why it names none. `role` is what the
 * certificate is presented for: an accepting end checks client certificates, a dialing end the server's.
 */
export function linkPeerIdentity(
  cert: tls.PeerCertificate | undefined,
  role: 'client' | 'server',
): { routerId: string } | { refused: string } {
  if (!cert || Object.keys(cert).length === 0) return { refused: 'the peer presented no certificate' };
  const cn = cert.subject?.CN;
  const name = Array.isArray(cn) ? undefined : cn;
  if (typeof name !== 'string' || !isSelfCertifyingId(name)) {
    return {
      refused:
        `the peer certificate names ${JSON.stringify(String(cn ?? ''))}, not a router id ` +
        '(certificates from before router identities: renew them, see docs/adr/0007-self-certifying-router-ids.md)',
    };
  }
  const eku = (cert as tls.PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage;
  const want = role === 'client' ? EKU_CLIENT : EKU_SERVER;
  if (Array.isArray(eku) && !eku.includes(want)) {
    return { refused: `the peer certificate is not for ${role} use` };
  }
  return { routerId: name };
}
