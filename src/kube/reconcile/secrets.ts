/**
 * State a Kubernetes site keeps in Secrets, so a router pod deleted and recreated comes back with the same id,
 * certificates, links and grant state. Names, data keys and the file each key becomes in the pod (the
 * `runtime/` layout of a site directory) are fixed here. The rule: a Secret that exists is never regenerated
 * or rewritten by the reconcile core, whoever made it (a platform team may bring its own CA); a missing one is
 * created with an owner reference to the Site, so deleting the Site deletes them. Pure.
 */
import type { LinkResource, SiteResource } from '../../api/index.js';
import type { DesiredSecret, SecretFile, SecretMaterial } from './model.js';
import type { KubeMeta, SecretObject } from './objects.js';
import { ownedAnnotations, ownedLabels, ownerReference } from './ownership.js';

export const SITE_CA_SECRET = 'caravan-site-ca';
export const SERVER_SECRET = 'caravan-site-server';
export const ROUTER_ID_SECRET = 'caravan-router-id';
export const GRANT_STATE_SECRET = 'caravan-grant-state';
/** Client certificates of a Link, made when an AccessToken is redeemed (or by hand). */
export const linkSecretName = (link: string): string => `caravan-link-${link}`;

export const SECRET_KEYS = {
  ca: { cert: 'ca.crt', key: 'ca.key' },
  server: { cert: 'tls.crt', key: 'tls.key' },
  routerId: 'router-id',
  /** grant state: issued certificates, revocations, and one redemption count per grant */
  grants: {
    issued: 'issued.json',
    revoked: 'revoked.json',
    redemption: (g: string) => `redemptions.${g}.json`,
  },
  link: { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key', grant: 'grant.json' },
} as const;

/** Files of the grant-state Secret below stateDir (the grant server keeps them; the controller syncs them back). */
export function grantStateFile(key: string): string | undefined {
  if (key === SECRET_KEYS.grants.issued) return 'runtime/grants/issued.json';
  if (key === SECRET_KEYS.grants.revoked) return 'runtime/grants/revoked.json';
  const m = /^redemptions\.([a-z0-9-]+)\.json$/.exec(key);
  return m ? `runtime/grants/redemptions/${m[1]}.json` : undefined;
}

const ROUTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A router id derived from the Site (name and uid): stable for the Site's life, stored once, never rederived. */
export function derivedRouterId(site: KubeMeta): string {
  const suffix = (site.uid ?? '').replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
  if (!suffix) return site.name;
  return `${site.name.slice(0, 62 - suffix.length)}-${suffix}`;
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
  /** Site problems: a Secret that exists but lacks a key, or a stored router id that is not one. */
  siteIssues: string[];
  /** Names of needed site Secrets that do not exist yet. */
  missing: string[];
  /** The router id: spec.routerId, else the stored one, else the one the create action stores. */
  routerId: string;
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
  const byName = new Map(input.observed.map((s) => [s.metadata.name, s]));
  const plan: SecretPlan = {
    desired: [],
    files: [],
    siteIssues: [],
    missing: [],
    routerId: site.resource.spec.routerId ?? derivedRouterId(site.meta),
    linkIssues: new Map(),
  };
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

  // router id: kept across pod restarts (spec.routerId, when set, wins)
  const idSecret = need(
    secret(namespace, ROUTER_ID_SECRET, site.meta, 'router-id', {
      [SECRET_KEYS.routerId]: encode(plan.routerId),
    }),
    [SECRET_KEYS.routerId],
  );
  const stored = decode(idSecret?.data?.[SECRET_KEYS.routerId])?.trim();
  if (stored !== undefined && stored !== '' && !ROUTER_ID.test(stored))
    plan.siteIssues.push(`Secret ${ROUTER_ID_SECRET} key ${SECRET_KEYS.routerId} is not a router id`);
  else if (stored && site.resource.spec.routerId === undefined) plan.routerId = stored;

  const la = site.resource.spec.linkAccess;
  const tls = site.resource.spec.tls;
  if (la && tls) {
    need(
      secret(namespace, SITE_CA_SECRET, site.meta, 'site-ca', {}),
      [SECRET_KEYS.ca.cert, SECRET_KEYS.ca.key],
      { kind: 'site-ca', commonName: site.resource.metadata.name },
    );
    plan.files.push(
      { secret: SITE_CA_SECRET, key: SECRET_KEYS.ca.cert, path: tls.ca },
      { secret: SITE_CA_SECRET, key: SECRET_KEYS.ca.key, path: 'runtime/ca.key' },
    );
    need(
      secret(namespace, SERVER_SECRET, site.meta, 'server', {}, 'kubernetes.io/tls'),
      [SECRET_KEYS.server.cert, SECRET_KEYS.server.key],
      { kind: 'server-cert', commonName: site.resource.metadata.name, caSecret: SITE_CA_SECRET },
    );
    plan.files.push(
      { secret: SERVER_SECRET, key: SECRET_KEYS.server.cert, path: tls.cert },
      { secret: SERVER_SECRET, key: SECRET_KEYS.server.key, path: tls.key },
    );
    const grants = need(secret(namespace, GRANT_STATE_SECRET, site.meta, 'grant-state', {}), []);
    for (const key of Object.keys(grants?.data ?? {}).sort()) {
      const path = grantStateFile(key);
      if (path) plan.files.push({ secret: GRANT_STATE_SECRET, key, path });
    }
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
    plan.files.push(
      { secret: name, key: keys.ca, path: t.ca },
      { secret: name, key: keys.cert, path: t.cert },
      { secret: name, key: keys.key, path: t.key },
    );
    if (have.data?.[keys.grant] !== undefined)
      plan.files.push({ secret: name, key: keys.grant, path: `runtime/links/${link.meta.name}/grant.json` });
  }
  return plan;
}
