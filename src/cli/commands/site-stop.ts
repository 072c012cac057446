import { CaravanError, ErrorCodes } from '../../errors.js';
import { optString, parseInteger, type CommandSpec } from '../command.js';
import { readPid, removePid, routerState, stopProcess, supervisorState } from '../router.js';
import { contextSite, type SiteRef } from '../sites.js';

/**
 * Stops a site's router if it runs: its supervisor first (which passes the stop on and does not restart it),
 * then the router itself if it is still there. Resolves with the router's pid (the supervisor's when no router
 * ran; undefined when neither was running).
 */
export async function stopSite(site: SiteRef, timeoutMs = 15_000): Promise<{ pid?: number; how?: string }> {
  const sup = await supervisorState(site.dir);
  let pid = (await readPid(site.dir)) ?? (await routerState(site.dir, 2000)).pid;
  let how: string | undefined;
  if (sup?.alive) {
    how = await stopProcess(sup.pid, timeoutMs);
    pid ??= sup.pid;
  }
  if (pid !== undefined && pid !== sup?.pid) {
    const r = await stopProcess(pid, timeoutMs);
    if (how === undefined || r !== 'gone') how = r;
  }
  if (pid === undefined) return {};
  await removePid(site.dir);
  return { pid, how };
}

export const siteStop: CommandSpec = {
  name: 'site stop',
  summary: "stop the site's router and wait until it is gone",
  synopsis: '[options]',
  options: {
    timeout: { type: 'string', value: 'SECONDS', help: 'send SIGKILL after this long (default 15)' },
  },
  examples: ['caravan site stop', 'caravan site stop --site west'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const timeout = parseInteger(optString(ctx, 'timeout'), '--timeout', 1, 3600) ?? 15;
    const r = await stopSite(site, timeout * 1000);
    if (r.pid === undefined) {
      throw new CaravanError(ErrorCodes.SITE_NOT_RUNNING, `site ${site.name} is not running`);
    }
    ctx.out.emit({ site: site.name, pid: r.pid, result: r.how }, () =>
      ctx.out.line(
        r.how === 'killed'
          ? `Site ${site.name} did not stop within ${timeout} s; killed (pid ${r.pid})`
          : `Site ${site.name} stopped (pid ${r.pid})`,
      ),
    );
  },
};
