import { resolve } from 'node:path';
import type { LinkStatusView } from '../../admin/types.js';
import { readTokenFile } from '../../site/grants/index.js';
import { redeemToken } from '../../site/grants/index.js';
import { optString, parseInteger, type CommandSpec } from '../command.js';
import { parseProxyUrl } from '../../http-proxy.js';
import { siteOfRouter } from '../names.js';
import { withoutPassword } from '../links-view.js';
import { adminClient, routerState } from '../router.js';
import { contextSite } from '../sites.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const tokenRedeem: CommandSpec = {
  name: 'token redeem',
  summary: 'link this site to the site that issued a token',
  synopsis: '<file> [options]',
  description:
    "Redeems the token at the issuing site's grant server: this site gets a link certificate signed by the\n" +
    "other site's CA (its private key never leaves this site) and a Link resource. The link dials out, so\n" +
    'this site needs no inbound connectivity. When the router runs, waits for the link to come up.',
  args: { min: 1, max: 1 },
  options: {
    cost: { type: 'string', value: 'N', help: "link cost (default: the token's)" },
    name: { type: 'string', value: 'LINK', help: "link name (default: the other site's name)" },
    proxy: {
      type: 'string',
      value: 'URL',
      help: 'dial through this HTTP proxy, http://[user:password@]host:port (redemption, link, renewals)',
    },
    wait: {
      type: 'string',
      value: 'SECONDS',
      help: 'how long to wait for the link to come up (default 15; 0: do not wait)',
    },
  },
  examples: [
    'caravan token redeem hub.token',
    'caravan token redeem hub.token --cost 5 --name backup-hub',
    'caravan token redeem hub.token --proxy http://proxy.corp.example:3128',
  ],
  async run(ctx) {
    const site = await contextSite(ctx);
    const file = resolve(ctx.cwd, ctx.args[0] as string);
    const cost = parseInteger(optString(ctx, 'cost'), '--cost', 1, 2 ** 31 - 1);
    const linkName = optString(ctx, 'name');
    const proxy = optString(ctx, 'proxy');
    if (proxy !== undefined) parseProxyUrl(proxy); // a bad URL fails here, before anything is redeemed
    const wait = parseInteger(optString(ctx, 'wait'), '--wait', 0, 3600) ?? 15;
    const token = await readTokenFile(file);
    const link = await redeemToken(site.dir, token, {
      ...(cost !== undefined ? { cost } : {}),
      ...(linkName !== undefined ? { linkName } : {}),
      ...(proxy !== undefined ? { proxy } : {}),
    });
    const name = link.metadata.name;
    const endpoints = link.spec.endpoints.map((e) => `${e.host}:${e.port}`);
    let view: LinkStatusView | undefined;
    const state = await routerState(site.dir, 1500);
    if (state.status && wait > 0) {
      const client = await adminClient(site.dir, 2000);
      const deadline = Date.now() + wait * 1000;
      while (Date.now() < deadline) {
        const st = await client.status().catch(() => undefined);
        view = st?.links.find((l) => l.name === name && l.direction === 'out') ?? view;
        if (view?.state === 'up') break;
        await sleep(200);
      }
    }
    const data = {
      site: site.name,
      link: name,
      endpoints,
      cost: link.spec.cost,
      running: state.running,
      ...(view ? { state: view.state, ...(view.neighbor ? { peer: view.neighbor } : {}) } : {}),
      ...(view?.lastError ? { lastError: view.lastError } : {}),
    };
    ctx.out.emit(data, () => {
      ctx.out.line(
        `Link ${name} created: dials ${endpoints.join(', ')}${proxy !== undefined ? ` via ${withoutPassword(proxy)}` : ''} (cost ${link.spec.cost})`,
      );
      if (!state.running) {
        ctx.out.line(
          `Site ${site.name} is not running: the link comes up when it starts ('caravan site start --detach').`,
        );
      } else if (view?.state === 'up') {
        ctx.out.line(
          `Link ${name} is ${ctx.out.state('up')}${view.neighbor ? ` (to site ${siteOfRouter(view.neighbor)})` : ''}.`,
        );
      } else if (wait > 0) {
        ctx.out.line(
          `Link ${name} is ${ctx.out.state(view?.state ?? 'connecting')}${view?.lastError ? `: ${view.lastError}` : ''}; check it with 'caravan link status ${name}'.`,
        );
      }
    });
  },
};
