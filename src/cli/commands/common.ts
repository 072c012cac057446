/** Helpers shared by several commands. */
import { resourceKey, toYaml, type Resource } from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { Context } from '../command.js';
import { applyResources, siteResources, type ApplyResult } from '../resources.js';
import { routerState } from '../router.js';
import type { SiteRef } from '../sites.js';

/** Create verbs print the resource instead of applying it when `-o yaml` or `-o json` is given. */
export function printsResource(ctx: Context): boolean {
  return ctx.outputExplicit && ctx.global.output !== 'table';
}

export function printResource(ctx: Context, r: Resource): void {
  if (ctx.global.output === 'json') ctx.out.line(JSON.stringify(r, null, 2));
  else ctx.out.stdout.write(toYaml(r));
}

/**
 * Writes a new resource into a site (refusing when one of that kind and name exists) and says whether the
 * running router picks it up now.
 */
export async function createResource(ctx: Context, site: SiteRef, r: Resource): Promise<ApplyResult> {
  const existing = (await siteResources(site.dir)).find((s) => resourceKey(s.resource) === resourceKey(r));
  if (existing) {
    throw new CaravanError(
      ErrorCodes.INVALID_RESOURCE,
      `${r.kind} "${r.metadata.name}" already exists in site ${site.name} (${existing.source}); delete it first or change it with 'caravan apply -f'`,
    );
  }
  const [res] = await applyResources(site.dir, site.name, [{ resource: r, source: 'command line' }]);
  return res as ApplyResult;
}

/** A hint about when changes take effect. */
export async function appliedNote(site: SiteRef): Promise<string> {
  const st = await routerState(site.dir, 1500);
  return st.running
    ? `the router of site ${site.name} applies it now`
    : `site ${site.name} is not running; it applies when started ('caravan site start')`;
}
