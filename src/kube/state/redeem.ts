/**
 * Redeeming an AccessToken resource of the namespace: the same protocol as `caravan token redeem`
 * (src/site/grants/redeem.ts, requestLinkCertificate) with the router identity from its Secret, but instead of
 * files the result is a Link resource and its Secret (linkSecret()), both owned by the Site, for the controller to
 * create. The Link has the token's name, which is how the reconcile core tells that the token was redeemed.
 */
import {
  API_VERSION,
  DEFAULTS,
  validateResourceOf,
  ResourceError,
  type AccessTokenResource,
  type LinkResource,
} from '../../api/index.js';
import { systemClock, type Clock } from '../../clock.js';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { loadIdentity, type RouterIdentity } from '../../identity.js';
import { requestLinkCertificate } from '../../site/grants/redeem.js';
import type { CaravanObject, SecretObject } from '../reconcile/index.js';
import { ownedAnnotations, ownedLabels, ownerReference } from '../reconcile/ownership.js';
import { linkSecret } from '../reconcile/secrets.js';

/** Label on a Link made from an AccessToken: the token's name. */
export const ACCESS_TOKEN_LABEL = 'caravan.dev/access-token';

export interface RedeemAccessTokenOptions {
  /** The AccessToken Custom Resource (its spec is validated here). */
  token: CaravanObject;
  /** The namespace's Site Custom Resource: its name is the site's, its uid owns what is made. */
  site: CaravanObject;
  /** The router's identity key (PKCS#8 PEM, as in the identity Secret), or the identity loaded from it. */
  identityKey: string | RouterIdentity;
  /** Namespace of the objects made; default the token's. */
  namespace?: string;
  /** HTTP proxy to reach the grant server through (the Link then uses it too). */
  proxy?: string;
  /** For the local expiry check; default the system clock. */
  clock?: Clock;
}

/**
 * Redeems the token at its issuing site's grant server. Rejects with a CaravanError whose message is one line
 * for the token's status: TOKEN_INVALID, GRANT_UNKNOWN, GRANT_EXPIRED, GRANT_USED_UP, GRANT_BAD_CODE,
 * GRANT_UNREACHABLE, PEER_IDENTITY, PROTOCOL, or CERT (an identity key that is not one). Nothing is written: the
 * caller creates the Secret and then the Link.
 */
export async function redeemAccessToken(
  opts: RedeemAccessTokenOptions,
): Promise<{ link: CaravanObject; secret: SecretObject }> {
  const { token, site } = opts;
  const name = token.metadata.name;
  const siteName = site.metadata.name;
  const namespace = opts.namespace ?? token.metadata.namespace ?? site.metadata.namespace ?? '';
  const clock = opts.clock ?? systemClock;
  const resource = {
    apiVersion: API_VERSION,
    kind: 'AccessToken',
    metadata: { name },
    spec: token.spec,
  } as AccessTokenResource;
  const got = await requestLinkCertificate(resource, {
    router: () => ({
      siteName,
      identity:
        typeof opts.identityKey === 'string' ? loadIdentity(siteName, opts.identityKey) : opts.identityKey,
    }),
    linkName: name,
    ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}),
    now: () => clock.now(),
  });
  const spec = {
    endpoints: got.answer.endpoints.map((e) => ({ host: e.host, port: e.port })),
    cost: got.token.spec.cost ?? got.answer.cost ?? DEFAULTS.linkCost,
    ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}),
  };
  try {
    validateResourceOf(
      'Link',
      { apiVersion: API_VERSION, kind: 'Link', metadata: { name }, spec } as LinkResource,
      'token redeem',
    );
  } catch (e) {
    const first = e instanceof ResourceError ? e.issues[0] : undefined;
    throw new CaravanError(
      ErrorCodes.PROTOCOL,
      `the grant server's answer does not make a valid Link: ${first ? `${first.path}: ${first.message}` : errorMessage(e)}`,
      { cause: e },
    );
  }
  const link: CaravanObject = {
    apiVersion: API_VERSION,
    kind: 'Link',
    metadata: {
      name,
      namespace,
      labels: { ...ownedLabels('Site', siteName), [ACCESS_TOKEN_LABEL]: name },
      annotations: ownedAnnotations(),
      ownerReferences: [ownerReference('Site', site.metadata)],
    },
    spec,
  };
  const secret = linkSecret(namespace, site.metadata, name, {
    ca: got.ca,
    cert: got.certificate,
    key: got.keyPem,
    grant: JSON.stringify(got.grantInfo, null, 2) + '\n',
  });
  return { link, secret };
}
