/**
 * AccessTokens of the namespace redeemed into Links: for each token that has no Link of its name yet, the
 * redemption (src/kube/state, the same protocol as `caravan token redeem`) gives a Link and its Secret, which are
 * created (Secret first, so the Link never runs without its certificates). A failure is kept with the token's
 * spec and reported in the token's status (`RedeemFailed`) through the facts; the token is tried again only when
 * its spec changes (a status write does not count), since a grant's code works once and a retry of a refused one would only be refused again.
 */
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { KubeApi, KubeObject } from '../api.js';
import {
  ROUTER_IDENTITY_SECRET,
  SECRET_KEYS,
  decodeSecretValue,
  type CaravanObject,
  type SecretObject,
} from '../reconcile/index.js';
import { stableJson } from '../reconcile/diff.js';
import { kindRef, SECRETS } from './refs.js';

export type Redeem = (opts: {
  token: CaravanObject;
  site: CaravanObject;
  identityKey: string;
}) => Promise<{ link: CaravanObject; secret: SecretObject }>;

export class TokenRedeemer {
  /** token name → why it failed, and for which spec */
  private readonly failed = new Map<string, { spec: string; error: string }>();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly redeem: Redeem,
    private readonly log: Logger,
  ) {}

  /** AccessToken name → why its redemption failed (for the core's facts). */
  failures(): Record<string, string> {
    return Object.fromEntries([...this.failed].map(([k, v]) => [k, v.error]));
  }

  /** Redeems what needs it; returns how many Links were made. Never throws. */
  async run(
    site: CaravanObject,
    resources: readonly CaravanObject[],
    secrets: readonly SecretObject[],
  ): Promise<number> {
    const links = new Set(resources.filter((r) => r.kind === 'Link').map((r) => r.metadata.name));
    const tokens = resources.filter(
      (r) => r.kind === 'AccessToken' && r.metadata.deletionTimestamp === undefined,
    );
    for (const name of [...this.failed.keys()])
      if (!tokens.some((t) => t.metadata.name === name)) this.failed.delete(name);
    const identity = decodeSecretValue(
      secrets.find((s) => s.metadata.name === ROUTER_IDENTITY_SECRET)?.data?.[SECRET_KEYS.identity],
    );
    if (!identity) return 0;
    let made = 0;
    for (const token of tokens) {
      const name = token.metadata.name;
      if (links.has(name)) {
        this.failed.delete(name);
        continue;
      }
      const f = this.failed.get(name);
      if (f && f.spec === stableJson(token.spec)) continue;
      try {
        const { link, secret } = await this.redeem({ token, site, identityKey: identity });
        await this.create(SECRETS, secret as KubeObject);
        await this.create(kindRef('Link'), link as KubeObject);
        this.failed.delete(name);
        made++;
        this.log.info('access token redeemed', { token: name, link: name });
      } catch (e) {
        const error = errorMessage(e);
        this.failed.set(name, { spec: stableJson(token.spec), error });
        this.log.warn('access token not redeemed', {
          token: name,
          code: isCaravanError(e) ? e.code : undefined,
          error,
        });
      }
    }
    return made;
  }

  private async create(ref: typeof SECRETS, obj: KubeObject): Promise<void> {
    try {
      await this.api.create(ref, this.namespace, obj);
    } catch (e) {
      if (!(isCaravanError(e) && e.code === ErrorCodes.KUBE_ALREADY_EXISTS)) throw e;
    }
  }
}
