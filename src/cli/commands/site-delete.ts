import { rm } from 'node:fs/promises';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { optBool, type CommandSpec } from '../command.js';
import { routerState } from '../router.js';
import { contextSite } from '../sites.js';
import { stopSite } from './site-stop.js';

export const siteDelete: CommandSpec = {
  name: 'site delete',
  summary: 'delete a site directory (its CA, certificates and resources)',
  synopsis: '[name] [--force]',
  description:
    'Refuses while the router runs unless --force is given (then it stops the router first).\n' +
    "With --kube: deletes the namespace's Site resource; the Secrets (CA, keys) and the link-access Service the\n" +
    'router made for it are owned by it and go with it. --force is needed while its Ready condition is True.',
  args: { min: 0, max: 1 },
  options: {
    force: { type: 'boolean', help: 'stop the router first if it runs (with --kube: delete a Ready site)' },
  },
  examples: [
    'caravan site delete west',
    'caravan site delete --site west --force',
    'caravan site delete --kube --namespace shop --force',
  ],
  async run(ctx) {
    const site = await contextSite(ctx, ctx.args[0]);
    const st = await routerState(site.dir, 2000);
    let stopped: number | undefined;
    if (st.running) {
      if (!optBool(ctx, 'force')) {
        throw new CaravanError(
          ErrorCodes.SITE_RUNNING,
          `site ${site.name} is running (pid ${st.pid}): stop it first ('caravan site stop') or use --force`,
        );
      }
      stopped = (await stopSite(site)).pid;
    }
    await rm(site.dir, { recursive: true, force: true });
    ctx.out.emit(
      { site: site.name, dir: site.dir, deleted: true, ...(stopped ? { stoppedPid: stopped } : {}) },
      () =>
        ctx.out.line(
          `Site ${site.name} deleted (${site.dir})${stopped ? `; its router (pid ${stopped}) was stopped` : ''}`,
        ),
    );
  },
};
