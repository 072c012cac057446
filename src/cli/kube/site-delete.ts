/**
 * `site delete --kube`: deletes the namespace's Site Custom Resource. The Secrets the router made for it (CA, keys,
 * certificates, grant state) and its link-access Service carry owner references to the Site, so the cluster's
 * garbage collector removes them with it; the router of the namespace stops running the site. As on a host site,
 * a site whose router runs it is deleted only with `--force`; here "runs it" means the router has written the
 * Site's status (a Ready condition that is True).
 */
import { CaravanError, ErrorCodes } from '../../errors.js';
import { optBool, type Context } from '../command.js';
import { kubeTarget } from './connect.js';
import { deleteCr } from './crs.js';
import { namespaceSite } from './site.js';
import { condition } from './views.js';

export async function kubeSiteDelete(ctx: Context): Promise<void> {
  const t = await kubeTarget(ctx);
  const site = await namespaceSite(t);
  const wanted = ctx.args[0];
  if (!site)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `namespace ${t.namespace} has no Site${wanted !== undefined ? ` named '${wanted}'` : ''}: nothing to delete`,
    );
  const name = site.metadata.name;
  if (wanted !== undefined && wanted !== name)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `no site named '${wanted}' in namespace ${t.namespace} (its Site is ${name})`,
    );
  const ready = condition(site, 'Ready');
  if (ready?.status === 'True' && !optBool(ctx, 'force'))
    throw new CaravanError(
      ErrorCodes.SITE_RUNNING,
      `site ${name} is running in namespace ${t.namespace} (its Ready condition is True): deleting it removes its CA and keys, and links made with its tokens stop working; use --force to delete it anyway`,
    );
  await deleteCr(t, 'Site', name);
  ctx.out.emit({ namespace: t.namespace, site: name, deleted: true }, () =>
    ctx.out.line(
      `Site ${name} deleted from namespace ${t.namespace}; its Secrets (CA, keys, certificates) and link-access Service are owned by it and go with it, and the router of the namespace stops running the site`,
    ),
  );
}
