import { spawn } from 'node:child_process';
import { loadSiteDir } from '../../site/site-dir.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { optBool, optString, parseInteger, type CommandSpec } from '../command.js';
import { removePid, routerArgs, routerLogFile, routerState, startDetached, writePid } from '../router.js';
import { contextSite } from '../sites.js';

export const siteStart: CommandSpec = {
  name: 'site start',
  summary: "start the site's router (foreground, or --detach)",
  synopsis: '[options]',
  description:
    'In the foreground the router logs to stderr and stops on Ctrl-C. With --detach it runs in the\n' +
    'background under a supervisor that starts it again when it dies (pid in runtime/router.pid,\n' +
    'supervisor state in runtime/supervisor.json, logs in logs/router.log); the command returns once\n' +
    'the router answers on its admin socket.',
  options: {
    detach: { type: 'boolean', short: 'd', help: 'run in the background' },
    'log-level': { type: 'string', value: 'LEVEL', help: 'debug | info | warn | error (default info)' },
    timeout: {
      type: 'string',
      value: 'SECONDS',
      help: 'with --detach: how long to wait for the router (default 30)',
    },
  },
  examples: ['caravan site start --detach', 'caravan site start --site west --log-level debug'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const state = await routerState(site.dir, 2000);
    if (state.running) {
      throw new CaravanError(
        ErrorCodes.SITE_RUNNING,
        state.pid !== undefined
          ? `site ${site.name} is already running (pid ${state.pid})`
          : `site ${site.name} is already running: its supervisor (pid ${state.supervisor?.pid}) is about to start the router again`,
      );
    }
    // refuse early, with field paths, when the site directory is invalid
    await loadSiteDir(site.dir);
    const logLevel = optString(ctx, 'log-level');
    if (optBool(ctx, 'detach')) {
      const timeout = parseInteger(optString(ctx, 'timeout'), '--timeout', 1, 3600) ?? 30;
      const st = await startDetached(site, {
        ...(logLevel ? { logLevel } : {}),
        timeoutMs: timeout * 1000,
        env: ctx.env,
      });
      ctx.out.emit(
        { site: site.name, pid: st.router.pid, router: st.router.id, log: routerLogFile(site.dir) },
        () =>
          ctx.out.line(
            `Site ${site.name} started (router ${st.router.id}, pid ${st.router.pid}); logs: ${routerLogFile(site.dir)}`,
          ),
      );
      return;
    }
    const child = spawn(process.execPath, routerArgs(site.dir, logLevel), { stdio: 'inherit', env: ctx.env });
    if (child.pid !== undefined) await writePid(site.dir, child.pid);
    // Ctrl-C reaches the router through the terminal's process group; SIGTERM/SIGHUP are passed on.
    const onInt = (): void => undefined;
    const onTerm = (): void => void child.kill('SIGTERM');
    const onHup = (): void => void child.kill('SIGHUP');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    const code = await new Promise<number>((resolve) => {
      child.on('exit', (c, sig) => resolve(c ?? (sig === 'SIGINT' || sig === 'SIGTERM' ? 0 : 1)));
      child.on('error', () => resolve(1));
    });
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
    if (child.pid !== undefined) await removePid(site.dir, child.pid);
    return code;
  },
};
