/**
 * State a Kubernetes site keeps in Secrets, so a router pod deleted and recreated comes back with the same id,
 * certificates, links and grant state. Names, data keys and the file each key becomes in the pod (the
 * `runtime/` layout of a site directory) are fixed here. The rule: a Secret that exists is never regenerated
 * or rewritten by the reconcile core, whoever made it (a platform team may bring its own CA); a missing one is
 * created with an owner reference to the Site, so deleting the Site deletes them. Pure.
 */
import { isAbsolute, posix } from 'node:path';
import type { AccessGrantResource, LinkResource, SiteResource } from '../../api/index.js';
import { errorMessage } from '../../errors.js';
import { loadIdentity } from '../../identity.js';
import { hashCode } from '../../site/grants/logic.js';
import type { DesiredSecret, SecretFile, SecretMaterial } from './model.js';
import type { KubeMeta, SecretObject } from './objects.js';
import { ownedAnnotations, ownedLabels, ownerReference } from './ownership.js';

export const SITE_CA_SECRET = 'caravan-site-ca';
export const SERVER_SECRET = 'caravan-site-server';
/** The router's Ed25519 identity key; the router id is derived from it (docs/adr/0007). */
export const ROUTER_IDENTITY_SECRET = 'caravan-router-identity';
/** @deprecated the Secret holds the identity key now, not an id: use ROUTER_IDENTITY_SECRET */
export const ROUTER_ID_SECRET = ROUTER_IDENTITY_SECRET;
export const GRANT_STATE_SECRET = 'caravan-grant-state';
/** Client certificates of a Link, made when an AccessToken is redeemed (or by hand). */
export const linkSecretName = (link: string): string => `caravan-link-${link}`;

export const SECRET_KEYS = {
  ca: { cert: 'ca.crt', key: 'ca.key' },
  server: { cert: 'tls.crt', key: 'tls.key' },
  /** PKCS#8 PEM of the router's Ed25519 identity key */
  identity: 'identity.key',
  /** grant state: issued certificates, revocations, and one redemption count per grant */
  grants: {
    issued: 'issued.json',
    revoked: 'revoked.json',
    /** prefix of the per-grant keys: `redemptions.<grant>.json` */
    redemptionPrefix: 'redemptions.',
    redemption: (g: string) => `redemptions.${g}.json`,
  },
  link: { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', grant: 'grant.json' },
} as const;

/** Where the Secret keys of state become files below stateDir (the `runtime/` layout of a site directory). */
export const STATE_PATHS = {
  identityKey: 'runtime/identity.key',
  caKey: 'runtime/ca.key',
  issued: 'runtime/grants/issued.json',
  revoked: 'runtime/grants/revoked.json',
  redemptions: 'runtime/grants/redemptions',
} as const;

/** Files of the grant-state Secret below stateDir (the grant server keeps them; the controller syncs them back). */
export function grantStateFile(key: string): string | undefined {
  if (key === SECRET_KEYS.grants.issued) return STATE_PATHS.issued;
  if (key === SECRET_KEYS.grants.revoked) return STATE_PATHS.revoked;
  const m = /^redemptions\.([a-z0-9-]+)\.json$/.exec(key);
  return m ? `${STATE_PATHS.redemptions}/${m[1]}.json` : undefined;
}

/**
 * The router id behind the identity key of the Secret's data (base64 PKCS#8 PEM), or why there is none. Pure:
 * the public key is computed from the private key, no file or clock is read.
 */
export function routerIdOfKey(
  siteName: string,
  b64Pem: string | undefined,
): { routerId: string } | { problem: string } {
  const pem = decode(b64Pem);
  if (pem === undefined || pem.trim() === '') return { problem: `has no key ${SECRET_KEYS.identity}` };
  try {
    return { routerId: loadIdentity(siteName, pem).routerId };
  } catch (e) {
    return { problem: `key ${SECRET_KEYS.identity} is not a router identity key: ${errorMessage(e)}` };
  }
}

/** A relative path that stays below stateDir (no absolute path, no `..`): the only kind a Secret may fill. */
export function isStatePath(p: string): boolean {
  if (p === '' || isAbsolute(p) || p.includes('\0')) return false;
  const n = posix.normalize(p);
  return n === p.replace(/^\.\//, '') && n !== '.' && !n.startsWith('../') && n !== '..';
}

export const decode = (b64: string | undefined): string | undefined =>
  b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
const encode = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function secret(
  namespace: string,
  name: string,
  site: KubeMeta,
  purpose: string,
  data: Record<string, string>,
  type = 'Opaque',
): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { ...ownedLabels('Site', site.name), 'caravan.dev/secret': purpose },
      annotations: ownedAnnotations(),
      ownerReferences: [ownerReference('Site', site)],
    },
    type,
    data,
  };
}

/**
 * The Secret of a redeemed Link, as whoever redeems the AccessToken must create it: the link's CA, client
 * certificate and key (PEM text) and its grant info, owned by the Site like every other Secret of the site.
 */
export function linkSecret(
  namespace: string,
  site: KubeMeta,
  link: string,
  pem: { ca: string; cert: string; key: string; grant?: string },
): SecretObject {
  const k = SECRET_KEYS.link;
  const data: Record<string, string> = {
    [k.ca]: encode(pem.ca),
    [k.cert]: encode(pem.cert),
    [k.key]: encode(pem.key),
  };
  if (pem.grant !== undefined) data[k.grant] = encode(pem.grant);
  return secret(namespace, linkSecretName(link), site, 'link', data);
}

export interface SecretPlan {
  /** Secrets the site needs (missing ones become create actions). */
  desired: DesiredSecret[];
  /** Secret keys the router pod needs as files. */
  files: SecretFile[];
  /** Site problems: a Secret that exists but lacks a key, or an identity key that is not one. */
  siteIssues: string[];
  /** Names of needed site Secrets that do not exist yet. */
  missing: string[];
  /** The router id, derived from the identity key; undefined until its Secret exists and holds a key. */
  routerId?: string;
  /** Link name → why it cannot run (its Secret is missing or incomplete). */
  linkIssues: Map<string, string>;
}

function missingKeys(s: SecretObject, keys: readonly string[]): string[] {
  return keys.filter((k) => s.data?.[k] === undefined || s.data[k] === '');
}

export function planSecrets(input: {
  namespace: string;
  site: { meta: KubeMeta; resource: SiteResource };
  links: readonly { meta: KubeMeta; resource: LinkResource }[];
  observed: readonly SecretObject[];
}): SecretPlan {
  const { namespace, site } = input;
  const siteName = site.resource.metadata.name;
  const byName = new Map(input.observed.map((s) => [s.metadata.name, s]));
  const plan: SecretPlan = { desired: [], files: [], siteIssues: [], missing: [], linkIssues: new Map() };
  const need = (
    object: SecretObject,
    keys: readonly string[],
    generate?: SecretMaterial,
  ): SecretObject | undefined => {
    plan.desired.push(generate ? { object, generate } : { object });
    const have = byName.get(object.metadata.name);
    if (!have) {
      plan.missing.push(object.metadata.name);
      return undefined;
    }
    const lacking = missingKeys(have, keys);
    if (lacking.length > 0)
      plan.siteIssues.push(`Secret ${object.metadata.name} has no key ${lacking.join(', ')}`);
    return have;
  };

  // the identity key, made once: the router id derives from it (spec.routerId is ignored, as on a host site)
  const idSecret = need(
    secret(namespace, ROUTER_IDENTITY_SECRET, site.meta, 'router-identity', {}),
    [SECRET_KEYS.identity],
    { kind: 'identity-key', site: siteName },
  );
  if (idSecret && missingKeys(idSecret, [SECRET_KEYS.identity]).length === 0) {
    const id = routerIdOfKey(siteName, idSecret.data?.[SECRET_KEYS.identity]);
    if ('routerId' in id) plan.routerId = id.routerId;
    else plan.siteIssues.push(`Secret ${ROUTER_IDENTITY_SECRET} ${id.problem}`);
  }
  plan.files.push({
    secret: ROUTER_IDENTITY_SECRET,
    key: SECRET_KEYS.identity,
    path: STATE_PATHS.identityKey,
  });

  const la = site.resource.spec.linkAccess;
  const tls = site.resource.spec.tls;
  if (la && tls) {
    for (const p of [tls.ca, tls.cert, tls.key])
      if (!isStatePath(p))
        plan.siteIssues.push(`spec.tls path ${p} must be relative and stay below the state folder`);
    need(
      secret(namespace, SITE_CA_SECRET, site.meta, 'site-ca', {}),
      [SECRET_KEYS.ca.cert, SECRET_KEYS.ca.key],
      { kind: 'site-ca', commonName: siteName },
    );
    plan.files.push(
      { secret: SITE_CA_SECRET, key: SECRET_KEYS.ca.cert, path: tls.ca },
      { secret: SITE_CA_SECRET, key: SECRET_KEYS.ca.key, path: STATE_PATHS.caKey },
    );
    need(
      secret(namespace, SERVER_SECRET, site.meta, 'server', {}, 'kubernetes.io/tls'),
      [SECRET_KEYS.server.cert, SECRET_KEYS.server.key],
      {
        kind: 'server-cert',
        commonName: siteName,
        caSecret: SITE_CA_SECRET,
        identitySecret: ROUTER_IDENTITY_SECRET,
        site: siteName,
      },
    );
    // the router renews its server certificate (same key) before it expires: the new one goes back into the Secret
    plan.files.push(
      { secret: SERVER_SECRET, key: SECRET_KEYS.server.cert, path: tls.cert, mirror: true },
      { secret: SERVER_SECRET, key: SECRET_KEYS.server.key, path: tls.key },
    );
    // grant state: the grant server writes it, the controller copies it back (see SecretFile.mirror)
    need(secret(namespace, GRANT_STATE_SECRET, site.meta, 'grant-state', {}), []);
    const g = SECRET_KEYS.grants;
    plan.files.push(
      { secret: GRANT_STATE_SECRET, key: g.issued, path: STATE_PATHS.issued, mirror: true },
      { secret: GRANT_STATE_SECRET, key: g.revoked, path: STATE_PATHS.revoked, mirror: true },
      {
        secret: GRANT_STATE_SECRET,
        key: g.redemptionPrefix,
        path: STATE_PATHS.redemptions,
        mirror: true,
        dir: true,
      },
    );
  }

  for (const link of input.links) {
    const name = linkSecretName(link.meta.name);
    const have = byName.get(name);
    const keys = SECRET_KEYS.link;
    if (!have) {
      plan.linkIssues.set(link.meta.name, `Secret ${name} not found (redeem an AccessToken to make it)`);
      continue;
    }
    const lacking = missingKeys(have, [keys.ca, keys.cert, keys.key]);
    if (lacking.length > 0) {
      plan.linkIssues.set(link.meta.name, `Secret ${name} has no key ${lacking.join(', ')}`);
      continue;
    }
    const t = link.resource.spec.tls;
    const outside = [t.ca, t.cert, t.key].find((p) => !isStatePath(p));
    if (outside !== undefined) {
      plan.linkIssues.set(
        link.meta.name,
        `spec.tls path ${outside} must be relative and stay below the state folder (Secret ${name} fills it)`,
      );
      continue;
    }
    // renewal replaces the certificate (and may rewrite grant.json beside it): both go back into the Secret
    plan.files.push(
      { secret: name, key: keys.ca, path: t.ca },
      { secret: name, key: keys.cert, path: t.cert, mirror: true },
      { secret: name, key: keys.key, path: t.key },
    );
    if (have.data?.[keys.grant] !== undefined)
      plan.files.push({
        secret: name,
        key: keys.grant,
        path: posix.join(posix.dirname(t.cert), 'grant.json'),
        mirror: true,
      });
  }
  return plan;
}

/**
 * A grant's redemption count and expiry as the grant server keeps them (the key `redemptions.<grant>.json` of the
 * grant-state Secret, mirrored from the pod), for the grant's status; undefined when there is none, or when it
 * belongs to an earlier grant of the same name (another code).
 */
export function grantRedemptions(
  grantState: SecretObject | undefined,
  grant: AccessGrantResource,
): { redeemed: number; expiresAt?: string } | undefined {
  const text = decode(grantState?.data?.[SECRET_KEYS.grants.redemption(grant.metadata.name)]);
  if (text === undefined) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return undefined;
  }
  const s = state as { codeHash?: unknown; redeemed?: unknown; expiresAt?: unknown } | null;
  const codeHash =
    grant.spec.codeHash ?? (grant.spec.code !== undefined ? hashCode(grant.spec.code) : undefined);
  if (!s || typeof s.redeemed !== 'number' || !Number.isInteger(s.redeemed) || s.redeemed < 0)
    return undefined;
  if (codeHash === undefined || s.codeHash !== codeHash) return undefined;
  return {
    redeemed: s.redeemed,
    ...(typeof s.expiresAt === 'string' && Number.isFinite(Date.parse(s.expiresAt))
      ? { expiresAt: s.expiresAt }
      : {}),
  };
}
