/** The create verbs with `--kube`: the resource a host verb would write becomes a Custom Resource. */
import type { Kind, Resource } from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { checkObject, issueMessage } from '../../kube/reconcile/spec.js';
import type { Context } from '../command.js';
import { kubeTarget } from './connect.js';
import { createCr, newCr } from './crs.js';

/**
 * Checks `spec` as the router in Kubernetes mode will (the host validator plus the Kubernetes-only fields), then
 * prints the Custom Resource (`-o yaml|json`) or creates it. `describe` gets the checked resource.
 */
export async function kubeCreate<R extends Resource>(
  ctx: Context,
  kind: Kind,
  name: string,
  spec: Record<string, unknown>,
  describe: (r: R) => string,
): Promise<void> {
  const explicitNs = ctx.opts['namespace'];
  const printOnly = ctx.outputExplicit && ctx.global.output !== 'table';
  // printing needs no cluster; the namespace is the one given (or none)
  const t = printOnly ? undefined : await kubeTarget(ctx);
  const ns = t?.namespace ?? (typeof explicitNs === 'string' ? explicitNs : undefined);
  const obj = newCr(kind, name, ns ?? '', spec);
  if (ns === undefined) delete obj.metadata.namespace;
  const c = checkObject(obj);
  if (!c.ok)
    throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `${kind.toLowerCase()} create: ${issueMessage(c)}`);
  if (!t) {
    if (ctx.global.output === 'json') ctx.out.line(JSON.stringify(obj, null, 2));
    else {
      const { stringify } = await import('yaml');
      ctx.out.stdout.write(stringify(obj));
    }
    return;
  }
  const made = await createCr(t, obj);
  // a listener is reached at its Service in the cluster, not at an address of the pod
  const shown =
    kind === 'Listener' && c.extras.serviceName !== undefined
      ? { ...c.resource, spec: { ...c.resource.spec, host: c.extras.serviceName } }
      : c.resource;
  ctx.out.emit(made, () =>
    ctx.out.line(
      `${kind} ${name} created in namespace ${t.namespace}: ${describe(shown as R)}; the router of the namespace applies it ('caravan ${kind === 'Site' ? 'site status' : `${kind.toLowerCase()} status ${name}`} --kube')`,
    ),
  );
}
