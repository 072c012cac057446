/**
 * The data of the Secrets the reconcile core asks the controller to create with `generate`: the router's identity
 * key, the site CA, and the link-access server certificate signed by that CA. The same material a host site makes
 * with `caravan site create` and at its router's first start (runtime/identity.key, ca.crt/ca.key,
 * server.crt/server.key), so a namespace's router is set up exactly like a host's.
 */
import { CaravanError, ErrorCodes } from '../../errors.js';
import { generateIdentity } from '../../identity.js';
import { loadCerts } from '../../site/certs/lazy.js';
import { SECRET_KEYS, decode, routerIdOfKey } from '../reconcile/secrets.js';
import type { SecretMaterial, SecretObject } from '../reconcile/index.js';

const encode = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function secretKey(existing: readonly SecretObject[], name: string, key: string, what: string): string {
  const s = existing.find((x) => x.metadata.name === name);
  const v = decode(s?.data?.[key]);
  if (v === undefined || v === '') {
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `cannot make ${what}: Secret ${name} ${s ? `has no key ${key}` : 'does not exist yet'}`,
    );
  }
  return v;
}

/**
 * The `data` (base64) of a Secret to create. `existing` are the Secrets of the namespace, including those created
 * earlier in the same round (the server certificate needs the CA and the identity key). Rejects with a
 * CaravanError (KUBE_NOT_FOUND when a Secret it builds on is missing, CERT when one holds no usable key).
 */
export async function generateSecretData(
  material: SecretMaterial,
  existing: readonly SecretObject[],
): Promise<Record<string, string>> {
  switch (material.kind) {
    case 'identity-key': {
      const { pem } = generateIdentity(material.site);
      return { [SECRET_KEYS.identity]: encode(pem) };
    }
    case 'site-ca': {
      const ca = await (await loadCerts()).createCa({ commonName: `${material.commonName} site CA` });
      return { [SECRET_KEYS.ca.cert]: encode(ca.certPem), [SECRET_KEYS.ca.key]: encode(ca.keyPem) };
    }
    case 'server-cert': {
      const what = 'the server certificate';
      const ca = {
        certPem: secretKey(existing, material.caSecret, SECRET_KEYS.ca.cert, what),
        keyPem: secretKey(existing, material.caSecret, SECRET_KEYS.ca.key, what),
      };
      const site = material.site ?? material.commonName;
      let cn = material.commonName;
      if (material.identitySecret !== undefined) {
        const s = existing.find((x) => x.metadata.name === material.identitySecret);
        secretKey(existing, material.identitySecret, SECRET_KEYS.identity, what);
        const id = routerIdOfKey(site, s?.data?.[SECRET_KEYS.identity]);
        if ('problem' in id)
          throw new CaravanError(
            ErrorCodes.CERT,
            `cannot make ${what}: Secret ${material.identitySecret} ${id.problem}`,
          );
        cn = id.routerId;
      }
      const cert = await (
        await loadCerts()
      ).issueCertificate(ca, {
        commonName: cn,
        subject: { commonName: cn, organization: site },
        usage: 'server',
      });
      return {
        [SECRET_KEYS.server.cert]: encode(cert.certPem),
        [SECRET_KEYS.server.key]: encode(cert.keyPem),
      };
    }
  }
}
