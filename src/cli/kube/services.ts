/** `listener|connector list|status|delete --kube`: the Listener and Connector Custom Resources of a namespace. */
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { Context } from '../command.js';
import { conditionPairs } from '../conditions-view.js';
import { renderPairs } from '../output.js';
import { printConnectors, printListeners } from '../commands/service-common.js';
import type { ConnectorRow, ListenerRow } from '../services.js';
import { routingKeyText } from '../services.js';
import { kubeTarget, type KubeTarget } from './connect.js';
import { deleteCr, listCrs } from './crs.js';
import { kubeConnectorRows, kubeListenerRows } from './views.js';

type ServiceKind = 'Listener' | 'Connector';

async function rowsOf(t: KubeTarget, kind: ServiceKind): Promise<Array<ListenerRow | ConnectorRow>> {
  const objs = await listCrs(t, kind);
  return kind === 'Listener' ? kubeListenerRows(objs) : kubeConnectorRows(objs);
}

function printRows(
  ctx: Context,
  kind: ServiceKind,
  rows: Array<ListenerRow | ConnectorRow>,
  empty: string,
): void {
  if (kind === 'Listener') printListeners(ctx, rows as ListenerRow[], empty);
  else printConnectors(ctx, rows as ConnectorRow[], empty);
}

export function kubeServiceList(kind: ServiceKind) {
  return async (ctx: Context): Promise<void> => {
    const t = await kubeTarget(ctx);
    const rows = await rowsOf(t, kind);
    ctx.out.emit(rows, () =>
      printRows(ctx, kind, rows, `Namespace ${t.namespace} has no ${kind.toLowerCase()}s.`),
    );
  };
}

function detail(ctx: Context, kind: ServiceKind, r: ListenerRow | ConnectorRow): void {
  const pairs: Array<[string, string]> = [[kind, r.name]];
  if (r.type === '-') {
    pairs.push(['State', `${ctx.out.state('invalid')}: the router does not apply its spec`]);
    if ('error' in r && r.error) pairs.push(['Problem', r.error]);
  } else if (kind === 'Listener') {
    const l = r as ListenerRow;
    pairs.push(['Type', l.type], ['Routing key', routingKeyText(l)], ['Service', l.address]);
    pairs.push(['Distribution', l.distribution]);
    if (l.allow) pairs.push(['Allowed clients', l.allow.length ? l.allow.join(', ') : 'none']);
  } else {
    const c = r as ConnectorRow;
    pairs.push(['Type', c.type], ['Routing key', c.routingKey], ['Target', c.target]);
  }
  const conds = conditionPairs(r.status?.conditions);
  if (conds.length) pairs.push(...conds);
  else pairs.push(['Conditions', "none yet: the namespace's router has not written a status"]);
  ctx.out.stdout.write(renderPairs(pairs));
}

export function kubeServiceStatus(kind: ServiceKind) {
  return async (ctx: Context): Promise<void> => {
    const t = await kubeTarget(ctx);
    const rows = await rowsOf(t, kind);
    const name = ctx.args[0];
    if (name === undefined)
      return ctx.out.emit(rows, () =>
        printRows(ctx, kind, rows, `Namespace ${t.namespace} has no ${kind.toLowerCase()}s.`),
      );
    const r = rows.find((x) => x.name === name);
    if (!r)
      throw new CaravanError(
        ErrorCodes.KUBE_NOT_FOUND,
        `no ${kind.toLowerCase()} named '${name}' in namespace ${t.namespace}${rows.length ? ` (${kind.toLowerCase()}s: ${rows.map((x) => x.name).join(', ')})` : ''}`,
      );
    ctx.out.emit(r, () => detail(ctx, kind, r));
  };
}

export function kubeDelete(kind: 'Listener' | 'Connector' | 'Link') {
  return async (ctx: Context): Promise<void> => {
    const t = await kubeTarget(ctx);
    const name = ctx.args[0] as string;
    await deleteCr(t, kind, name);
    ctx.out.emit({ namespace: t.namespace, kind, name, deleted: true }, () =>
      ctx.out.line(
        `${kind} ${name} deleted from namespace ${t.namespace}; the router of the namespace applies it`,
      ),
    );
  };
}
