/**
 * Router identity: every router holds an Ed25519 key pair, and its router id is derived from the public key, so
 * the id proves itself. An id is `<site>-<fingerprint>`: the site name (at most 36 characters of it) and 26 base32
 * characters (130 bits) of SHA-256 over the raw public key. Whoever signs with the key behind an id is that router;
 * nobody else can make a signature that verifies, whatever name they claim. Advertisements are signed with it
 * (docs/adr/0007-self-certifying-router-ids.md), and the grant server issues link certificates naming the id only to
 * a redeemer that proves it holds the key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { CaravanError, ErrorCodes } from './errors.js';
import { NAME_PATTERN } from './names.js';

/** Longest site-name prefix in a router id (36 + '-' + 26 = 63, a DNS label). */
export const ROUTER_ID_SITE_CHARS = 36;
const FINGERPRINT_CHARS = 26;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** `<site prefix>-<fingerprint>`, all lowercase. */
const SELF_CERTIFYING = /^([a-z0-9](?:[a-z0-9-]{0,34}[a-z0-9])?)-([a-z2-7]{26})$/;

/** Raw Ed25519 public keys are 32 bytes: base64url without padding, 43 characters. */
const RAW_KEY_BYTES = 32;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length >= chars) break;
  }
  return out;
}

/** The 26-character fingerprint of a raw public key (base64url). */
export function fingerprint(publicKey: string): string {
  return base32(createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest(), FINGERPRINT_CHARS);
}

/** The router id of a site's key. */
export function routerIdFor(site: string, publicKey: string): string {
  if (!NAME_PATTERN.test(site)) {
    throw new CaravanError(ErrorCodes.PEER_IDENTITY, `invalid site name ${JSON.stringify(site)}`);
  }
  const prefix = site.slice(0, ROUTER_ID_SITE_CHARS).replace(/-+$/, '');
  return `${prefix}-${fingerprint(publicKey)}`;
}

/** True for an id of the form routerIdFor() makes. */
export function isSelfCertifyingId(id: string): boolean {
  return SELF_CERTIFYING.test(id);
}

/** The site-name prefix of a self-certifying id (undefined for other ids). */
export function siteNameOf(id: string): string | undefined {
  return SELF_CERTIFYING.exec(id)?.[1];
}

/** Whether `id` is one that site `site` could own (its prefix is the site's name, truncated as routerIdFor does). */
export function idBelongsToSite(id: string, site: string): boolean {
  const prefix = siteNameOf(id);
  return (
    prefix !== undefined &&
    NAME_PATTERN.test(site) &&
    site.slice(0, ROUTER_ID_SITE_CHARS).replace(/-+$/, '') === prefix
  );
}

/** Whether the raw public key `publicKey` (base64url) is the key behind `id`. */
export function keyMatchesRouterId(publicKey: string, id: string): boolean {
  const m = SELF_CERTIFYING.exec(id);
  if (!m || !isRawPublicKey(publicKey)) return false;
  return fingerprint(publicKey) === m[2];
}

function isRawPublicKey(k: unknown): k is string {
  return typeof k === 'string' && k.length === 43 && /^[A-Za-z0-9_-]+$/.test(k);
}

export interface RouterIdentity {
  readonly routerId: string;
  readonly site: string;
  /** raw Ed25519 public key, base64url */
  readonly publicKey: string;
  /** signs bytes with the private key; base64url signature */
  sign(data: Uint8Array): string;
}

class KeyIdentity implements RouterIdentity {
  readonly routerId: string;
  readonly publicKey: string;
  constructor(
    readonly site: string,
    private readonly key: KeyObject,
  ) {
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    this.publicKey = spki.subarray(SPKI_PREFIX.length).toString('base64url');
    this.routerId = routerIdFor(site, this.publicKey);
  }
  sign(data: Uint8Array): string {
    return sign(null, data, this.key).toString('base64url');
  }
}

/** A new identity for site `site`; `pem` is the private key to store (PKCS#8). */
export function generateIdentity(site: string): { identity: RouterIdentity; pem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    identity: new KeyIdentity(site, privateKey),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** The identity of a stored private key (PKCS#8 PEM, Ed25519). */
export function loadIdentity(site: string, pem: string): RouterIdentity {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new CaravanError(ErrorCodes.CERT, 'the router identity key cannot be read', { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CaravanError(
      ErrorCodes.CERT,
      `the router identity key is ${key.asymmetricKeyType}, not ed25519`,
    );
  }
  return new KeyIdentity(site, key);
}

const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 4096;

function publicKeyObject(publicKey: string): KeyObject | undefined {
  let k = keyCache.get(publicKey);
  if (k) return k;
  if (!isRawPublicKey(publicKey)) return undefined;
  const raw = Buffer.from(publicKey, 'base64url');
  if (raw.length !== RAW_KEY_BYTES) return undefined;
  try {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(publicKey, k);
  return k;
}

/** Verifies an Ed25519 signature (base64url) by a raw public key (base64url); false for anything malformed. */
export function verifySignature(publicKey: string, data: Uint8Array, signature: unknown): boolean {
  if (typeof signature !== 'string' || signature.length !== 86) return false;
  const k = publicKeyObject(publicKey);
  if (!k) return false;
  try {
    return verify(null, data, k, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * What the routing engine needs to sign its own advertisements and verify others': the key of each
 * advertisement must be the key behind its router id, and the signature must verify.
 */
export interface AdvertisementAuthenticator {
  readonly key: string;
  sign(data: Uint8Array): string;
  verify(id: string, key: string, data: Uint8Array, signature: string): boolean;
}

export function advertisementAuthenticator(identity: RouterIdentity): AdvertisementAuthenticator {
  return {
    key: identity.publicKey,
    sign: (data) => identity.sign(data),
    verify: (id, key, data, signature) =>
      keyMatchesRouterId(key, id) && verifySignature(key, data, signature),
  };
}

/** Domain separation: a proof for the grant server can never be mistaken for a signed advertisement. */
const PROOF_CONTEXT = 'caravan link certificate key v1\n';

/** The bytes a router signs to prove to a grant server that the CSR's key belongs to it. */
export function linkCertificateProofBytes(routerId: string, csrPublicKeySpki: Uint8Array): Buffer {
  const digest = createHash('sha256').update(csrPublicKeySpki).digest('hex');
  return Buffer.from(`${PROOF_CONTEXT}${routerId}\n${digest}`, 'utf8');
}

/** `{id, key, proof}` a redeemer sends with its CSR. */
export interface RouterProof {
  id: string;
  key: string;
  proof: string;
}

export function routerProof(identity: RouterIdentity, csrPublicKeySpki: Uint8Array): RouterProof {
  return {
    id: identity.routerId,
    key: identity.publicKey,
    proof: identity.sign(linkCertificateProofBytes(identity.routerId, csrPublicKeySpki)),
  };
}

/**
 * The router id a proof establishes for the owner of `csrPublicKeySpki`, or a reason why it establishes none.
 */
export function provenRouterId(
  proof: unknown,
  site: string,
  csrPublicKeySpki: Uint8Array,
): { routerId: string } | { refused: string } {
  if (typeof proof !== 'object' || proof === null) return { refused: 'the request carries no router proof' };
  const p = proof as Record<string, unknown>;
  if (typeof p.id !== 'string' || typeof p.key !== 'string')
    return { refused: 'the router proof is malformed' };
  if (!isSelfCertifyingId(p.id)) return { refused: 'the router id is not a self-certifying id' };
  if (!idBelongsToSite(p.id, site)) return { refused: `router id ${p.id} does not belong to site ${site}` };
  if (!keyMatchesRouterId(p.key, p.id)) return { refused: 'the key does not match the router id' };
  if (!verifySignature(p.key, linkCertificateProofBytes(p.id, csrPublicKeySpki), p.proof)) {
    return { refused: 'the router proof does not verify' };
  }
  return { routerId: p.id };
}
