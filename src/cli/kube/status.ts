/** `caravan status --kube`: the namespace's Site, Links, Listeners and Connectors with their conditions. */
import type { Context } from '../command.js';
import { printLinks } from '../commands/link-list.js';
import { printConnectors, printListeners } from '../commands/service-common.js';
import { renderPairs } from '../output.js';
import { kubeTarget } from './connect.js';
import { listCrs } from './crs.js';
import { namespaceSite, siteData, siteLines } from './site.js';
import { kubeConnectorRows, kubeLinkRows, kubeListenerRows } from './views.js';

export async function kubeStatus(ctx: Context): Promise<void> {
  const t = await kubeTarget(ctx);
  const site = await namespaceSite(t);
  const links = kubeLinkRows(await listCrs(t, 'Link'));
  const listeners = kubeListenerRows(await listCrs(t, 'Listener'));
  const connectors = kubeConnectorRows(await listCrs(t, 'Connector'));
  ctx.out.emit({ ...siteData(t, site), links, listeners, connectors }, () => {
    if (site) ctx.out.stdout.write(renderPairs(siteLines(ctx, t, site)));
    else
      ctx.out.line(
        `Namespace ${t.namespace} has no Site ('caravan site create NAME --kube --namespace ${t.namespace}').`,
      );
    ctx.out.line();
    ctx.out.line(ctx.out.style('bold', 'Links'));
    printLinks(ctx, links, '  (none)');
    ctx.out.line();
    ctx.out.line(ctx.out.style('bold', 'Listeners'));
    printListeners(ctx, listeners, '  (none)');
    ctx.out.line();
    ctx.out.line(ctx.out.style('bold', 'Connectors'));
    printConnectors(ctx, connectors, '  (none)');
  });
}
