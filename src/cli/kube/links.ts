/** `link list|status --kube`: the Link Custom Resources of a namespace, with the states the router wrote. */
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { Context } from '../command.js';
import { printLinks } from '../commands/link-list.js';
import { conditionPairs } from '../conditions-view.js';
import { renderPairs } from '../output.js';
import { kubeTarget } from './connect.js';
import { listCrs } from './crs.js';
import { kubeLinkRows } from './views.js';

export async function kubeLinkList(ctx: Context): Promise<void> {
  const t = await kubeTarget(ctx);
  const rows = kubeLinkRows(await listCrs(t, 'Link'));
  ctx.out.emit(rows, () => printLinks(ctx, rows, `Namespace ${t.namespace} has no links.`));
}

export async function kubeLinkStatus(ctx: Context): Promise<void> {
  const name = ctx.args[0];
  if (name === undefined) return kubeLinkList(ctx);
  const t = await kubeTarget(ctx);
  const rows = kubeLinkRows(await listCrs(t, 'Link'));
  const r = rows.find((x) => x.name === name);
  if (!r)
    throw new CaravanError(
      ErrorCodes.KUBE_NOT_FOUND,
      `no link named '${name}' in namespace ${t.namespace}${rows.length ? ` (links: ${rows.map((x) => x.name).join(', ')})` : ''}`,
    );
  ctx.out.emit(r, () => {
    const pairs: Array<[string, string]> = [
      ['Link', r.name],
      ['Direction', 'outbound (this site dials)'],
      ['State', ctx.out.state(r.state)],
      ['Cost', r.cost !== undefined ? String(r.cost) : '-'],
    ];
    if (r.endpoints) pairs.push(['Endpoints', r.endpoints.join(', ')]);
    pairs.push(...conditionPairs(r.status?.conditions));
    ctx.out.stdout.write(renderPairs(pairs));
  });
}
