/**
 * `token issue --kube`: an AccessGrant Custom Resource whose one-time code only this command knows (the grant
 * holds its SHA-256, as on a host site); the router serves the grant and writes its URL and CA into the status;
 * then the token file is written as on a host site. `token redeem --kube`: an AccessToken Custom Resource from a
 * token file; the router redeems it and makes the Link of the same name.
 */
import { resolve } from 'node:path';
import {
  API_VERSION,
  tryParseDuration,
  validateResourceOf,
  type AccessTokenResource,
  type Condition,
} from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { checkObject, issueMessage } from '../../kube/reconcile/spec.js';
import { generateCode, hashCode, readTokenFile, writeTokenFile } from '../../site/grants/index.js';
import { optString, parseInteger, usageError, type Context, type OptionSpec } from '../command.js';
import { kubeTarget, type KubeTarget } from './connect.js';
import { createCr, deleteCr, getCr, newCr } from './crs.js';
import { namespaceSite } from './site.js';
import { falseCondition, waitForStatus } from './wait.js';

/** `token issue --kube --wait`: how long to wait for the router to serve the grant. */
export const ISSUE_WAIT_OPTION: Record<string, OptionSpec> = {
  wait: {
    type: 'string',
    value: 'SECONDS',
    help: 'with --kube: how long to wait for the router to serve the grant (default 30)',
  },
};

function conditionText(c: Condition): string {
  return `${c.reason ?? c.status}${c.message ? `: ${c.message}` : ''}`;
}

function checked(kind: 'AccessGrant' | 'AccessToken', obj: ReturnType<typeof newCr>, verb: string): void {
  const c = checkObject(obj);
  if (!c.ok) throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `${verb}: ${issueMessage(c)}`);
}

async function siteAcceptsLinks(t: KubeTarget): Promise<string> {
  const site = await namespaceSite(t);
  if (!site)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `namespace ${t.namespace} has no Site; create one with 'caravan site create NAME --kube --link-access'`,
    );
  const spec = (site.spec ?? {}) as { linkAccess?: unknown };
  if (!spec.linkAccess)
    throw new CaravanError(
      ErrorCodes.NO_LINK_ACCESS,
      `site ${site.metadata.name} (namespace ${t.namespace}) does not accept links: its Site has no spec.linkAccess`,
    );
  return site.metadata.name;
}

export async function kubeTokenIssue(ctx: Context): Promise<void> {
  const file = resolve(ctx.cwd, ctx.args[0] as string);
  if (optString(ctx, 'host') !== undefined)
    throw usageError(
      "--host does not apply with --kube: the grant's address comes from the Site's link access",
    );
  const expiry = optString(ctx, 'expiry');
  if (expiry !== undefined && !(tryParseDuration(expiry)! > 0))
    throw usageError(`--expiry must be a duration such as 30s, 15m, 1h or 2d (got '${expiry}')`);
  const redemptions = parseInteger(optString(ctx, 'redemptions'), '--redemptions', 1, 2 ** 31 - 1);
  const cost = parseInteger(optString(ctx, 'cost'), '--cost', 1, 2 ** 31 - 1);
  const wait = parseInteger(optString(ctx, 'wait'), '--wait', 1, 3600) ?? 30;
  const t = await kubeTarget(ctx);
  const siteName = await siteAcceptsLinks(t);
  const { randomBytes } = await import('node:crypto');
  const name =
    optString(ctx, 'name') ?? `${siteName.slice(0, 50).replace(/-+$/, '')}-${randomBytes(4).toString('hex')}`;
  const code = generateCode();
  const obj = newCr('AccessGrant', name, t.namespace, {
    ...(redemptions !== undefined ? { redemptions } : {}),
    ...(expiry !== undefined ? { expiry } : {}),
    ...(cost !== undefined ? { cost } : {}),
    codeHash: hashCode(code),
  });
  checked('AccessGrant', obj, 'token issue');
  await createCr(t, obj);
  let served: { url: string; ca: string; expiresAt?: string };
  try {
    served = await waitForStatus<typeof served>(
      t,
      'AccessGrant',
      name,
      wait,
      `the router to serve grant ${name}`,
      (o) => {
        const url = o?.status?.['url'];
        const ca = o?.status?.['ca'];
        if (typeof url === 'string' && url && typeof ca === 'string' && ca) {
          const e = o?.status?.['expiresAt'];
          return { done: { url, ca, ...(typeof e === 'string' ? { expiresAt: e } : {}) } };
        }
        const bad =
          falseCondition(o, 'Configured') ?? falseCondition(o, 'Ready', ['NoLinkAccess', 'BindFailed']);
        return bad
          ? {
              failed: new CaravanError(
                ErrorCodes.NO_LINK_ACCESS,
                `the router cannot serve grant ${name}: ${conditionText(bad)}`,
              ),
            }
          : undefined;
      },
    );
  } catch (e) {
    // the code is known only here: a grant without its token can never be redeemed
    await deleteCr(t, 'AccessGrant', name).catch(() => undefined);
    throw e;
  }
  const token = validateResourceOf(
    'AccessToken',
    {
      apiVersion: API_VERSION,
      kind: 'AccessToken',
      metadata: { name },
      spec: {
        url: served.url,
        code,
        ca: served.ca,
        ...(cost !== undefined ? { cost } : {}),
        ...(served.expiresAt ? { expiresAt: served.expiresAt } : {}),
        redemptions: redemptions ?? 1,
      },
    },
    'token issue',
  ) as AccessTokenResource;
  await writeTokenFile(file, token);
  const data = {
    namespace: t.namespace,
    site: siteName,
    grant: name,
    file,
    url: served.url,
    ...(served.expiresAt ? { expiresAt: served.expiresAt } : {}),
  };
  ctx.out.emit(data, () => {
    ctx.out.line(`Token written to ${ctx.args[0]}`);
    ctx.out.line(`  grant ${name} in namespace ${t.namespace}, redeemed at ${served.url}`);
    ctx.out.line('At the site that should link here, run:');
    ctx.out.line(`  caravan token redeem ${ctx.args[0]}`);
  });
}

export async function kubeTokenRedeem(ctx: Context): Promise<void> {
  const file = resolve(ctx.cwd, ctx.args[0] as string);
  if (optString(ctx, 'proxy') !== undefined) throw usageError('--proxy does not apply with --kube');
  const cost = parseInteger(optString(ctx, 'cost'), '--cost', 1, 2 ** 31 - 1);
  const wait = parseInteger(optString(ctx, 'wait'), '--wait', 0, 3600) ?? 30;
  const token = await readTokenFile(file);
  const name = optString(ctx, 'name') ?? token.metadata.name;
  const t = await kubeTarget(ctx);
  const obj = newCr('AccessToken', name, t.namespace, {
    ...token.spec,
    ...(cost !== undefined ? { cost } : {}),
  });
  checked('AccessToken', obj, 'token redeem');
  await createCr(t, obj);
  let link: string | undefined;
  if (wait > 0) {
    link = await waitForStatus<string>(
      t,
      'AccessToken',
      name,
      wait,
      `the router to redeem token ${name} and make Link ${name}`,
      async (o) => {
        // the router names the Link after the token
        if (await getCr(t, 'Link', name)) return { done: name };
        const bad = falseCondition(o, 'Configured') ?? falseCondition(o, 'Ready', ['RedeemFailed']);
        return bad
          ? {
              failed: new CaravanError(
                ErrorCodes.TOKEN_INVALID,
                `the router could not redeem token ${name}: ${conditionText(bad)}`,
              ),
            }
          : undefined;
      },
    );
  }
  ctx.out.emit({ namespace: t.namespace, token: name, ...(link ? { link } : {}) }, () => {
    ctx.out.line(`AccessToken ${name} created in namespace ${t.namespace}`);
    if (link) ctx.out.line(`Link ${link} made; check it with 'caravan link status ${link} --kube'`);
    else ctx.out.line(`The router redeems it; check with 'caravan link status ${name} --kube'`);
  });
}
