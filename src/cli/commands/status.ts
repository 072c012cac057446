import { type CommandSpec, type Context } from '../command.js';
import { linkRows } from '../links-view.js';
import { readyText, resourceStatus } from '../conditions-view.js';
import { resourcesOfKind } from '../resources.js';
import { connectorRows, listenerRows } from '../services.js';
import { siteView, since } from '../site-view.js';
import { printLinks } from './link-list.js';
import { printConnectors, printListeners } from './service-common.js';

export const status: CommandSpec = {
  name: 'status',
  summary: 'this site: router, links, listeners and connectors (matched or not)',
  examples: ['caravan status', 'caravan status --site west -o json'],
  async run(ctx) {
    const { site, state: st, routerId, mode, linkAccess: la } = await siteView(ctx);
    const s = st.status;
    const links = linkRows(await resourcesOfKind(site.dir, 'Link'), s);
    const listeners = listenerRows(await resourcesOfKind(site.dir, 'Listener'), s);
    const connectors = connectorRows(await resourcesOfKind(site.dir, 'Connector'), s);
    const data = {
      site: site.name,
      running: st.running,
      router: {
        id: routerId,
        mode,
        ...(st.pid !== undefined ? { pid: st.pid } : {}),
        ...(s ? { startedAt: s.router.startedAt, version: s.router.version } : {}),
        linkAccess: la,
        console: s?.router.console ?? null,
        ...resourceStatus(s, 'Site', site.name),
      },
      links,
      listeners,
      connectors,
    };
    ctx.out.emit(data, () => {
      const state = s
        ? `${ctx.out.state('running')}, pid ${st.pid}, up ${since(s.router.startedAt)}`
        : st.unresponsive
          ? `${ctx.out.state('starting')} (pid ${st.pid})`
          : ctx.out.state('stopped');
      ctx.out.line(
        `${ctx.out.style('bold', `Site ${site.name}`)}: router ${data.router.id} (${data.router.mode}), ${state}`,
      );
      ctx.out.line(`Link access: ${la ? `${la.host}:${la.port}` : 'no (this site only dials out)'}`);
      if (data.router.status) ctx.out.line(`Ready: ${readyText(ctx.out, data.router.status.conditions)}`);
      if (data.router.console) {
        const c = data.router.console;
        ctx.out.line(`Web console: ${c.url}${c.auth ? ' (credentials in runtime/console-credentials)' : ''}`);
      }
      section(ctx, 'Links', () => printLinks(ctx, links, '  (none)'));
      section(ctx, 'Listeners', () => printListeners(ctx, listeners, '  (none)'));
      section(ctx, 'Connectors', () => printConnectors(ctx, connectors, '  (none)'));
      if (!s) {
        ctx.out.line();
        ctx.out.line(
          `The router is not running: link states and matches are unknown ('caravan site start --detach').`,
        );
      }
    });
  },
};

/** One section of the view: a blank line, its title in bold, then what `body` prints. */
function section(ctx: Context, title: string, body: () => void): void {
  ctx.out.line();
  ctx.out.line(ctx.out.style('bold', title));
  body();
}
