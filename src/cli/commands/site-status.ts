import { type CommandSpec } from '../command.js';
import { humanDuration, renderPairs } from '../output.js';
import { routerLogFile } from '../router.js';
import { siteView, since } from '../site-view.js';

export const siteStatus: CommandSpec = {
  name: 'site status',
  summary: "whether the site's router runs, its pid, router id and link access",
  description:
    'For a detached start it also shows the supervisor (pid, phase) and its restarts with the last exit\n' +
    '(a cause such as "killed by SIGKILL", when, after how long). With -o json|yaml: supervisor: {pid,\n' +
    'running, phase, restarts, lastExit: {at, cause, code, signal, uptimeMs, pid}, nextRestartAt?, reason?}.',
  examples: ['caravan site status', 'caravan site status --site hub -o json'],
  async run(ctx) {
    const { site, state: st, routerId, mode, linkAccess: la } = await siteView(ctx);
    const s = st.status;
    const sup = st.supervisor;
    const data = {
      site: site.name,
      dir: site.dir,
      running: st.running,
      ...(st.unresponsive ? { responding: false } : {}),
      ...(st.pid !== undefined ? { pid: st.pid } : {}),
      routerId,
      mode,
      linkAccess: la,
      ...(s
        ? {
            startedAt: s.router.startedAt,
            version: s.router.version,
            links: { up: s.links.filter((l) => l.state === 'up').length, total: s.links.length },
            listeners: s.listeners.length,
            connectors: s.connectors.length,
          }
        : {}),
      ...(sup
        ? {
            supervisor: {
              pid: sup.pid,
              running: sup.alive,
              phase: sup.phase,
              restarts: sup.restarts,
              ...(sup.lastExit
                ? {
                    lastExit: {
                      at: sup.lastExit.at,
                      cause: sup.lastExit.cause,
                      code: sup.lastExit.code,
                      signal: sup.lastExit.signal,
                      uptimeMs: sup.lastExit.uptimeMs,
                      ...(sup.lastExit.pid !== undefined ? { pid: sup.lastExit.pid } : {}),
                    },
                  }
                : {}),
              ...(sup.nextRestartAt ? { nextRestartAt: sup.nextRestartAt } : {}),
              ...(sup.reason ? { reason: sup.reason } : {}),
            },
          }
        : {}),
    };
    ctx.out.emit(data, () => {
      const state = st.status
        ? `${ctx.out.state('running')} (pid ${st.pid}, up ${since(s!.router.startedAt)})`
        : st.unresponsive
          ? `${ctx.out.state('starting')} (pid ${st.pid}; admin socket not answering; see ${routerLogFile(site.dir)})`
          : sup?.alive
            ? `${ctx.out.state('starting')} (supervisor pid ${sup.pid}, ${sup.phase}${sup.nextRestartAt ? `; next start ${sup.nextRestartAt}` : ''})`
            : ctx.out.state('stopped');
      const pairs: Array<[string, string]> = [
        ['Site', site.name],
        ['Directory', site.dir],
        ['State', state],
        ['Router', `${data.routerId} (${data.mode})`],
        ['Link access', la ? `${la.host}:${la.port}` : 'no'],
      ];
      if (sup) {
        pairs.push([
          'Supervisor',
          sup.alive ? `pid ${sup.pid} (${sup.phase})` : `not running (${sup.reason ?? sup.phase})`,
        ]);
        const last = sup.lastExit;
        pairs.push([
          'Restarts',
          last
            ? `${sup.restarts} (last exit: ${last.cause}, ${since(last.at)} ago, after ${humanDuration(last.uptimeMs)})`
            : String(sup.restarts),
        ]);
      }
      if (s) {
        pairs.push(['Links', `${data.links!.up} up of ${data.links!.total}`]);
        pairs.push(['Services', `${s.listeners.length} listener(s), ${s.connectors.length} connector(s)`]);
      }
      ctx.out.stdout.write(renderPairs(pairs));
    });
  },
};
