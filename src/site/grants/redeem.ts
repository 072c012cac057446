/**
 * Redeeming an access token at the dialing site (`caravan token redeem`): a new key and CSR, the CSR signed by the
 * accepting site's CA through its grant server, then the link's certificates and its Link resource written —
 * all or nothing.
 */
import { resolve } from 'node:path';
import {
  API_VERSION,
  DEFAULTS,
  NAME_PATTERN,
  ResourceError,
  defaultLinkTls,
  validateResourceOf,
  type AccessTokenResource,
  type HostPort,
  type LinkResource,
} from '../../api/index.js';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { certificateInfo, createKeyAndCsr, csrPublicKey, verifyIssuedBy } from '../certs/index.js';
import { idBelongsToSite, isSelfCertifyingId, routerProof, type RouterIdentity } from '../../identity.js';
import { isName } from '../../names.js';
import { ensureSiteIdentity } from '../identity-file.js';
import { readSiteResources, writeResource } from '../site-dir.js';
import { postJson } from './client.js';
import { readSite } from './issue.js';
import { installLinkFiles } from './link-files.js';
import { renewUrlFor } from './logic.js';
import type { LinkGrantInfo } from './state.js';

export interface RedeemOptions {
  /** Link cost; default the token's, else the grant's. */
  cost?: number;
  /** Link name; default the accepting site's name (made unique). An existing link of this name is replaced. */
  linkName?: string;
  /** HTTP proxy (`http://[user:password@]host:port`) for the redemption and, in the Link, for the link itself */
  proxy?: string;
}

/** What the grant server answers to a redemption. */
export interface RedeemAnswer {
  certificate: string;
  ca: string;
  endpoints: HostPort[];
  linkName?: string;
  site?: string;
  /** the accepting site's router id: the link checks that the server it reaches is this router */
  routerId?: string;
  cost?: number;
  lifetimeMs?: number;
}

/** How far past its expiry a token is refused without asking the grant server (clocks of two sites differ). */
const EXPIRY_SKEW_MS = 5 * 60 * 1000;

function invalid(message: string, cause?: unknown): CaravanError {
  return new CaravanError(ErrorCodes.TOKEN_INVALID, message, cause === undefined ? undefined : { cause });
}

function checkToken(token: AccessTokenResource): AccessTokenResource {
  try {
    return validateResourceOf('AccessToken', token, 'token');
  } catch (e) {
    const first = e instanceof ResourceError ? e.issues[0] : undefined;
    throw invalid(
      `the token is not valid: ${first ? [first.path, first.message].filter(Boolean).join(': ') : errorMessage(e)}`,
      e,
    );
  }
}

function checkAnswer(a: unknown, where: string): RedeemAnswer {
  const x = a as Partial<RedeemAnswer> | null;
  const ok =
    x !== null &&
    typeof x === 'object' &&
    typeof x.certificate === 'string' &&
    typeof x.ca === 'string' &&
    Array.isArray(x.endpoints) &&
    x.endpoints.length > 0 &&
    x.endpoints.every((e) => typeof e?.host === 'string' && Number.isInteger(e?.port)) &&
    (x.site === undefined || isName(x.site)) &&
    (x.linkName === undefined || isName(x.linkName)) &&
    (x.routerId === undefined ||
      (typeof x.routerId === 'string' &&
        isSelfCertifyingId(x.routerId) &&
        (x.site === undefined || idBelongsToSite(x.routerId, x.site))));
  if (!ok)
    throw new CaravanError(ErrorCodes.PROTOCOL, `the grant server at ${where} sent a malformed answer`);
  return x as RedeemAnswer;
}

/** A link name not used by another Link of the site: `base`, `base-2`, `base-3`, ... */
function uniqueName(base: string, taken: Set<string>): string {
  const b = NAME_PATTERN.test(base) ? base.slice(0, 56).replace(/-+$/, '') : 'link';
  if (!taken.has(b)) return b;
  for (let i = 2; ; i++) if (!taken.has(`${b}-${i}`)) return `${b}-${i}`;
}

/** What a grant server gave for a redemption, checked: the link's key and certificate and how to renew it. */
export interface LinkCertificate {
  /** the token as validated */
  token: AccessTokenResource;
  answer: RedeemAnswer;
  /** PEM: the link's private key, its certificate and the CA that issued it (the peer's site CA) */
  keyPem: string;
  certificate: string;
  ca: string;
  /** what renewal needs (grant.json beside the certificate) */
  grantInfo: LinkGrantInfo;
}

export interface RedeemingRouter {
  siteName: string;
  identity: RouterIdentity;
}

export interface LinkCertificateRequest {
  /**
   * This router's identity and its site's name (the certificate's organization; the router id must belong to
   * it), asked for once the token passed the local checks.
   */
  router: () => RedeemingRouter | Promise<RedeemingRouter>;
  /** the Link name to report to the grant server (checked to be a DNS label) */
  linkName?: string;
  proxy?: string;
  /** wall time in ms, for the local expiry check; default Date.now() */
  now?: () => number;
}

/**
 * The protocol of a redemption, without writing anything: checks the token, makes a key and CSR, proves the
 * router's identity, asks the grant server, and checks the certificate it sends (issued by the token's CA, naming
 * this router). Rejects with TOKEN_INVALID, USAGE (a bad link name), GRANT_UNKNOWN, GRANT_EXPIRED, GRANT_USED_UP,
 * GRANT_BAD_CODE, GRANT_UNREACHABLE, PEER_IDENTITY or PROTOCOL (one line naming the cause).
 */
export async function requestLinkCertificate(
  token: AccessTokenResource,
  req: LinkCertificateRequest,
): Promise<LinkCertificate> {
  const now = req.now ?? Date.now;
  const t = checkToken(token);
  try {
    certificateInfo(t.spec.ca);
  } catch (e) {
    throw invalid(`the token's CA certificate cannot be read: ${errorMessage(e)}`, e);
  }
  if (req.linkName !== undefined && !NAME_PATTERN.test(req.linkName)) {
    throw new CaravanError(
      ErrorCodes.USAGE,
      `invalid link name ${JSON.stringify(req.linkName)}: must be a DNS label`,
    );
  }
  // The grant server decides; this only saves a round trip (and an "unreachable" where the truth is "expired")
  // for a token that expired long enough ago that no clock difference explains it.
  const expires = t.spec.expiresAt === undefined ? NaN : Date.parse(t.spec.expiresAt);
  if (now() - expires > EXPIRY_SKEW_MS) {
    throw new CaravanError(
      ErrorCodes.GRANT_EXPIRED,
      `this token expired at ${t.spec.expiresAt}: ask the issuing site for a new one ('caravan token issue')`,
    );
  }
  const { siteName, identity } = await req.router();
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: identity.routerId });
  const router = routerProof(identity, await csrPublicKey(csrPem));
  const where = new URL(t.spec.url).host;
  const answer = checkAnswer(
    await postJson<unknown>(
      t.spec.url,
      {
        code: t.spec.code,
        csr: csrPem,
        site: siteName,
        router,
        ...(req.linkName ? { link: req.linkName } : {}),
      },
      { ca: t.spec.ca, ...(req.proxy !== undefined ? { proxy: req.proxy } : {}) },
    ),
    where,
  );
  if (!(await verifyIssuedBy(answer.certificate, t.spec.ca))) {
    throw invalid(`the certificate from the grant server at ${where} is not issued by the token's CA`);
  }
  const info = certificateInfo(answer.certificate);
  if (info.commonName !== identity.routerId) {
    throw invalid(
      `the grant server at ${where} issued a certificate for ${JSON.stringify(info.commonName)}, not this router (${identity.routerId})`,
    );
  }
  const grantInfo: LinkGrantInfo = {
    grantUrl: t.spec.url,
    renewUrl: renewUrlFor(t.spec.url),
    ...(answer.site ? { site: answer.site } : {}),
    commonName: info.commonName,
    ...(answer.routerId ? { peerRouterId: answer.routerId } : {}),
    lifetimeMs: answer.lifetimeMs ?? info.notAfter.getTime() - now(),
  };
  return {
    token: t,
    answer,
    keyPem,
    certificate: answer.certificate,
    ca: answer.ca.includes('BEGIN CERTIFICATE') ? answer.ca : t.spec.ca,
    grantInfo,
  };
}

/**
 * Redeems `token` for the site in `siteDir` and writes runtime/links/<name>/{ca.crt,client.crt,client.key,
 * grant.json} and the Link resource. Rejects with TOKEN_INVALID, GRANT_UNKNOWN, GRANT_EXPIRED, GRANT_USED_UP,
 * GRANT_BAD_CODE or GRANT_UNREACHABLE (one line naming the cause); on any failure nothing is written.
 */
export async function redeemToken(
  siteDir: string,
  token: AccessTokenResource,
  opts: RedeemOptions = {},
): Promise<LinkResource> {
  const dir = resolve(siteDir);
  const got = await requestLinkCertificate(token, {
    router: async () => {
      const siteName = (await readSite(dir)).metadata.name;
      return { siteName, identity: await ensureSiteIdentity(dir, siteName) };
    },
    ...(opts.linkName !== undefined ? { linkName: opts.linkName } : {}),
    ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}),
  });
  const { answer, token: t, grantInfo, keyPem } = got;

  const existing = (await readSiteResources(dir))
    .filter((s) => s.resource.kind === 'Link')
    .map((s) => s.resource.metadata.name);
  const name = opts.linkName ?? uniqueName(answer.linkName ?? answer.site ?? 'link', new Set(existing));
  const link = validateResourceOf(
    'Link',
    {
      apiVersion: API_VERSION,
      kind: 'Link',
      metadata: { name },
      spec: {
        endpoints: answer.endpoints.map((e) => ({ host: e.host, port: e.port })),
        cost: opts.cost ?? t.spec.cost ?? answer.cost ?? DEFAULTS.linkCost,
        tls: defaultLinkTls(name),
        ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}),
      },
    },
    'token redeem',
  );

  // All or nothing: the files go to a temporary folder that is renamed into place, then the Link is written.
  try {
    await installLinkFiles(
      dir,
      name,
      [
        { name: 'ca.crt', data: got.ca },
        { name: 'client.crt', data: got.certificate },
        { name: 'client.key', data: keyPem, mode: 0o600 },
        { name: 'grant.json', data: JSON.stringify(grantInfo, null, 2) + '\n', mode: 0o600 },
      ],
      () => writeResource(dir, link).then(() => undefined),
    );
  } catch (e) {
    if (e instanceof CaravanError) throw e;
    throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot write link ${name}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return link;
}
