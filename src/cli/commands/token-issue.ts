import { resolve } from 'node:path';
import { tryParseDuration } from '../../api/index.js';
import { issueToken, writeTokenFile } from '../../site/grants/index.js';
import { optList, optString, parseInteger, usageError, type CommandSpec } from '../command.js';
import { humanDuration } from '../output.js';
import { routerState } from '../router.js';
import { contextSite } from '../sites.js';

export const tokenIssue: CommandSpec = {
  name: 'token issue',
  summary: 'let other sites link to this one: write an access token file',
  synopsis: '<file> [options]',
  description:
    'Creates an AccessGrant at this site (which must accept links) and writes the matching AccessToken to\n' +
    'FILE (mode 0600: it holds a one-time secret). Hand the file to the other site, which runs\n' +
    "'caravan token redeem FILE'. The running router serves the grant at once.",
  args: { min: 1, max: 1 },
  options: {
    redemptions: { type: 'string', value: 'N', help: 'how many sites may redeem it (default 1)' },
    expiry: {
      type: 'string',
      value: 'DURATION',
      help: 'how long it can be redeemed: 30s, 15m, 1h, 2d (default 15m)',
    },
    cost: { type: 'string', value: 'N', help: 'cost of links made with it (default 1)' },
    host: {
      type: 'string',
      multiple: true,
      value: 'H',
      help: 'host name or address the other site dials (default: from the Site)',
    },
    name: { type: 'string', value: 'NAME', help: 'grant name (default <site>-<random>)' },
  },
  examples: [
    'caravan token issue west.token',
    'caravan token issue many.token --redemptions 5 --expiry 1h --host hub.example.net',
  ],
  async run(ctx) {
    const site = await contextSite(ctx);
    const file = resolve(ctx.cwd, ctx.args[0] as string);
    const expiry = optString(ctx, 'expiry');
    if (expiry !== undefined && !(tryParseDuration(expiry)! > 0)) {
      throw usageError(`--expiry must be a duration such as 30s, 15m, 1h or 2d (got '${expiry}')`);
    }
    const redemptions = parseInteger(optString(ctx, 'redemptions'), '--redemptions', 1, 2 ** 31 - 1);
    const cost = parseInteger(optString(ctx, 'cost'), '--cost', 1, 2 ** 31 - 1);
    const hosts = optList(ctx, 'host');
    const name = optString(ctx, 'name');
    const { grant, token } = await issueToken(site.dir, {
      ...(redemptions !== undefined ? { redemptions } : {}),
      ...(expiry !== undefined ? { expiry } : {}),
      ...(cost !== undefined ? { cost } : {}),
      ...(hosts.length ? { hosts } : {}),
      ...(name !== undefined ? { name } : {}),
    });
    await writeTokenFile(file, token);
    const running = (await routerState(site.dir, 1500)).running;
    const expiresAt = grant.status?.expiresAt;
    const data = {
      site: site.name,
      grant: grant.metadata.name,
      file,
      url: token.spec.url,
      redemptions: grant.spec.redemptions,
      expiry: grant.spec.expiry,
      ...(expiresAt ? { expiresAt } : {}),
      cost: grant.spec.cost,
      running,
    };
    ctx.out.emit(data, () => {
      const until = expiresAt
        ? ` (until ${expiresAt}, in ${humanDuration(Date.parse(expiresAt) - Date.now())})`
        : '';
      ctx.out.line(`Token written to ${ctx.args[0]}`);
      ctx.out.line(
        `  grant ${grant.metadata.name}: ${grant.spec.redemptions} redemption${grant.spec.redemptions === 1 ? '' : 's'}, expires ${grant.spec.expiry}${until}, link cost ${grant.spec.cost}`,
      );
      ctx.out.line(`  redeemed at ${token.spec.url}`);
      if (!running) {
        ctx.out.line(
          `Site ${site.name} is not running: start it ('caravan site start --detach') before the token is redeemed.`,
        );
      }
      ctx.out.line('At the site that should link here, run:');
      ctx.out.line(`  caravan token redeem ${ctx.args[0]}`);
    });
  },
};
