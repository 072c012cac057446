import { readSiteIdentity } from '../../site/identity-file.js';
import { type CommandSpec } from '../command.js';
import { humanDuration, renderPairs } from '../output.js';
import { routerLogFile, routerState } from '../router.js';
import { contextSite, readSiteResource } from '../sites.js';

export const siteStatus: CommandSpec = {
  name: 'site status',
  summary: "whether the site's router runs, its pid, router id and link access",
  examples: ['caravan site status', 'caravan site status --site hub -o json'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const res = await readSiteResource(site.dir);
    const st = await routerState(site.dir);
    const s = st.status;
    const la = s?.router.linkAccess ?? res.spec.linkAccess;
    const data = {
      site: site.name,
      dir: site.dir,
      running: st.running,
      ...(st.unresponsive ? { responding: false } : {}),
      ...(st.pid !== undefined ? { pid: st.pid } : {}),
      routerId:
        s?.router.id ??
        (await readSiteIdentity(site.dir, site.name).catch(() => undefined))?.routerId ??
        site.name,
      mode: s?.router.mode ?? res.spec.mode,
      linkAccess: la ? { host: la.host, port: la.port } : null,
      ...(s
        ? {
            startedAt: s.router.startedAt,
            version: s.router.version,
            links: { up: s.links.filter((l) => l.state === 'up').length, total: s.links.length },
            listeners: s.listeners.length,
            connectors: s.connectors.length,
          }
        : {}),
    };
    ctx.out.emit(data, () => {
      const state = st.status
        ? `${ctx.out.state('running')} (pid ${st.pid}, up ${humanDuration(Date.now() - Date.parse(s!.router.startedAt))})`
        : st.unresponsive
          ? `${ctx.out.state('starting')} (pid ${st.pid}; admin socket not answering; see ${routerLogFile(site.dir)})`
          : ctx.out.state('stopped');
      const pairs: Array<[string, string]> = [
        ['Site', site.name],
        ['Directory', site.dir],
        ['State', state],
        ['Router', `${data.routerId} (${data.mode})`],
        ['Link access', la ? `${la.host}:${la.port}` : 'no'],
      ];
      if (s) {
        pairs.push(['Links', `${data.links!.up} up of ${data.links!.total}`]);
        pairs.push(['Services', `${s.listeners.length} listener(s), ${s.connectors.length} connector(s)`]);
      }
      ctx.out.stdout.write(renderPairs(pairs));
    });
  },
};
