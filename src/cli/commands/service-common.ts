/** Printing and deleting listeners and connectors (shared by their list/status/delete commands). */
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { CommandSpec, Context } from '../command.js';
import { renderPairs } from '../output.js';
import { deleteResources, resourcesOfKind } from '../resources.js';
import { routerState, type RouterState } from '../router.js';
import {
  connectorRows,
  listenerRows,
  routingKeyText,
  yesNo,
  type ConnectorRow,
  type ListenerKeyRow,
  type ListenerRow,
} from '../services.js';
import { contextSite } from '../sites.js';
import { conditionPairs, readyText } from '../conditions-view.js';
import {
  API_VERSION,
  validateResourceOf,
  type Condition,
  type ConnectorResource,
  type ListenerResource,
} from '../../api/index.js';
import { optBool, optList, optString, usageError } from '../command.js';
import { appliedNote, createResource, printResource, printsResource } from './common.js';
import { isKube } from '../kube/connect.js';
import { kubeCreate } from '../kube/create.js';

export function portArg(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/**
 * `listener create` / `connector create`: build the resource from `<name> <port>` and the options named in
 * `fields` (CLI option -> spec field), validate it, then print it (`-o yaml|json`) or write it to the site.
 */
export async function createService<K extends 'Listener' | 'Connector'>(
  ctx: Context,
  kind: K,
  fields: ReadonlyArray<readonly [string, string]>,
  describe: (r: K extends 'Listener' ? ListenerResource : ConnectorResource) => string,
  flags: ReadonlyArray<readonly [string, string]> = [],
  lists: ReadonlyArray<readonly [string, string]> = [],
  more?: (spec: Record<string, unknown>) => void,
): Promise<void> {
  const [name, port] = ctx.args as [string, string];
  if (!/^\d+$/.test(port)) throw usageError(`port must be an integer 1-65535 (got '${port}')`);
  const spec: Record<string, unknown> = { port: portArg(port) };
  for (const [opt, field] of fields) {
    const v = optString(ctx, opt);
    if (v !== undefined) spec[field] = v;
  }
  for (const [opt, field] of flags) if (optBool(ctx, opt)) spec[field] = true;
  for (const [opt, field] of lists) {
    const v = optList(ctx, opt);
    if (v.length > 0) spec[field] = v;
  }
  more?.(spec);
  if (isKube(ctx)) return kubeCreate(ctx, kind, name, spec, describe);
  const r = validateResourceOf(
    kind,
    { apiVersion: API_VERSION, kind, metadata: { name }, spec },
    `${kind.toLowerCase()} create`,
  ) as K extends 'Listener' ? ListenerResource : ConnectorResource;
  if (printsResource(ctx)) return printResource(ctx, r);
  const site = await contextSite(ctx);
  const res = await createResource(ctx, site, r);
  const note = await appliedNote(site);
  ctx.out.emit({ ...res, site: site.name }, () =>
    ctx.out.line(`${kind} ${name} created: ${describe(r)} (${res.file}); ${note}`),
  );
}

/** The rows of one kind for `list` and `status`, with the site and whether its router runs. */
async function serviceData<R>(
  ctx: Context,
  rowsOf: (dir: string, status: RouterState['status']) => Promise<R[]>,
): Promise<{ site: string; running: boolean; rows: R[] }> {
  const site = await contextSite(ctx);
  const st = await routerState(site.dir);
  return { site: site.name, running: st.running, rows: await rowsOf(site.dir, st.status) };
}

export function listenerData(ctx: Context): Promise<{ site: string; running: boolean; rows: ListenerRow[] }> {
  return serviceData(ctx, async (dir, s) => listenerRows(await resourcesOfKind(dir, 'Listener'), s));
}

export function connectorData(
  ctx: Context,
): Promise<{ site: string; running: boolean; rows: ConnectorRow[] }> {
  return serviceData(ctx, async (dir, s) => connectorRows(await resourcesOfKind(dir, 'Connector'), s));
}

export function printListeners(ctx: Context, rows: ListenerRow[], empty: string): void {
  ctx.out.table(
    ['NAME', 'TYPE', 'ROUTING KEY', 'ADDRESS', 'MATCHED', 'CONNECTORS AT', 'READY'],
    rows.map((r) => [
      r.name,
      r.type,
      routingKeyText(r),
      r.address,
      r.error ? ctx.out.state('error') : ctx.out.state(yesNo(r.matched)),
      r.destinations?.length ? [...new Set(r.destinations.map((d) => d.site))].join(',') : '-',
      readyText(ctx.out, r.status?.conditions),
    ]),
    empty,
  );
}

export function printConnectors(ctx: Context, rows: ConnectorRow[], empty: string): void {
  ctx.out.table(
    ['NAME', 'TYPE', 'ROUTING KEY', 'TARGET', 'HEALTHY', 'ADVERTISED', 'ALSO AT', 'READY'],
    rows.map((r) => [
      r.name,
      r.type,
      r.routingKey,
      r.target,
      ctx.out.state(yesNo(r.healthy)),
      ctx.out.state(yesNo(r.advertised)),
      r.otherSites?.length ? r.otherSites.map((d) => d.site).join(',') : '-',
      readyText(ctx.out, r.status?.conditions),
    ]),
    empty,
  );
}

function notFound(kind: string, name: string, site: string, names: string[]): CaravanError {
  return new CaravanError(
    ErrorCodes.INVALID_RESOURCE,
    `no ${kind.toLowerCase()} named '${name}' at site ${site}${names.length ? ` (${kind.toLowerCase()}s: ${names.join(', ')})` : ''}`,
  );
}

function formatStats(stats: Record<string, number>): string {
  return Object.entries(stats)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function listenerDetail(ctx: Context, r: ListenerRow, running: boolean): void {
  if (r.type === '-') return invalidDetail(ctx, 'Listener', r);
  const pairs: Array<[string, string]> = [
    ['Listener', r.name],
    ['Type', r.type],
    ...(r.keys ? [] : [['Routing key', r.routingKey] as [string, string]]),
    ['Address', r.address],
    ['Distribution', r.distribution],
  ];
  if (r.allow) pairs.push(['Allowed clients', r.allow.length ? r.allow.join(', ') : 'none']);
  if (r.keys) {
    pairs.push([
      'Routing keys',
      r.strategy === 'weighted'
        ? 'weighted: connections are shared by weight among the keys that have a reachable connector'
        : 'priority: each connection goes to the first key that has a reachable connector',
    ]);
    for (const k of r.keys) pairs.push([`  ${k.routingKey}`, keyDetail(ctx, r, k, running)]);
    if (!running) pairs.push(['Matched', 'unknown (the router is not running)']);
    else if (!r.matched)
      pairs.push(['Matched', `${ctx.out.state('no')}: no connector for any of these keys is reachable`]);
  } else if (!running) pairs.push(['Matched', 'unknown (the router is not running)']);
  else {
    pairs.push([
      'Matched',
      r.matched
        ? `${ctx.out.state('yes')}: connectors at ${(r.destinations ?? []).map((d) => `${d.site} (cost ${d.cost}, ${d.connectors})`).join(', ')}`
        : `${ctx.out.state('no')}: no connector with routing key ${r.routingKey} is reachable in the network`,
    ]);
  }
  if (r.error) pairs.push(['Error', r.error]);
  if (r.stats) pairs.push(['Stats', formatStats(r.stats)]);
  pairs.push(...conditionPairs(r.status?.conditions));
  ctx.out.stdout.write(renderPairs(pairs));
}

/** A resource the router could not apply: only its conditions are known. */
function invalidDetail(
  ctx: Context,
  kind: string,
  r: { name: string; status?: { conditions: Condition[] } },
): void {
  ctx.out.stdout.write(
    renderPairs([
      [kind, r.name],
      ['State', `${ctx.out.state('invalid')}: the router does not apply its spec`],
      ...conditionPairs(r.status?.conditions),
    ]),
  );
}

/** One key of a listener with several: its weight, where its connectors are, connections sent to it. */
function keyDetail(ctx: Context, r: ListenerRow, k: ListenerKeyRow, running: boolean): string {
  const parts: string[] = [];
  if (r.strategy === 'weighted') parts.push(`weight ${k.weight}`);
  if (running) {
    parts.push(
      k.matched
        ? `${ctx.out.state('yes')}: connectors at ${(k.destinations ?? []).map((d) => `${d.site} (cost ${d.cost}, ${d.connectors})`).join(', ')}`
        : `${ctx.out.state('no')}: no connector reachable`,
    );
    parts.push(`${k.routed ?? 0} connections`);
  }
  return parts.join('; ') || '-';
}

export function connectorDetail(ctx: Context, r: ConnectorRow, running: boolean): void {
  if (r.type === '-') return invalidDetail(ctx, 'Connector', r);
  const pairs: Array<[string, string]> = [
    ['Connector', r.name],
    ['Type', r.type],
    ['Routing key', r.routingKey],
    ['Target', r.target],
  ];
  if (!running) pairs.push(['State', 'unknown (the router is not running)']);
  else {
    pairs.push(['Healthy', ctx.out.state(yesNo(r.healthy))]);
    pairs.push([
      'Advertised',
      `${ctx.out.state(yesNo(r.advertised))}${r.advertised ? ' (listeners anywhere in the network reach it)' : ''}`,
    ]);
    pairs.push(['Listeners here', r.localListeners?.length ? r.localListeners.join(', ') : 'none']);
    pairs.push([
      'Listeners in the network',
      r.listenerSites?.length
        ? `at ${r.listenerSites.join(', ')}`
        : 'none anywhere: no client can reach this connector yet',
    ]);
    pairs.push([
      'Also at',
      r.otherSites?.length
        ? r.otherSites.map((d) => `${d.site} (cost ${d.cost})`).join(', ')
        : 'no other site',
    ]);
  }
  if (r.stats) pairs.push(['Stats', formatStats(r.stats)]);
  pairs.push(...conditionPairs(r.status?.conditions));
  ctx.out.stdout.write(renderPairs(pairs));
}

/** `<kind> list`: the rows as a table, and a note when the site's router is not running. */
export function listCommand<R>(
  kind: 'Listener' | 'Connector',
  summary: string,
  data: (ctx: Context) => Promise<{ site: string; running: boolean; rows: R[] }>,
  print: (ctx: Context, rows: R[], empty: string) => void,
): CommandSpec {
  const noun = kind.toLowerCase();
  return {
    name: `${noun} list`,
    summary,
    examples: [`caravan ${noun} list`, `caravan ${noun} list -o yaml`],
    async run(ctx) {
      const d = await data(ctx);
      ctx.out.emit(d.rows, () => {
        print(ctx, d.rows, `Site ${d.site} has no ${noun}s.`);
        if (!d.running) ctx.out.note(`(site ${d.site} is not running)`);
      });
    },
  };
}

export async function statusOf(ctx: Context, kind: 'Listener' | 'Connector'): Promise<void> {
  if (kind === 'Listener') {
    const d = await listenerData(ctx);
    return showStatus(ctx, kind, d, printListeners, listenerDetail);
  }
  const d = await connectorData(ctx);
  return showStatus(ctx, kind, d, printConnectors, connectorDetail);
}

/** `<kind> status [name]`: the list, or one row in detail (not found: an error naming the ones there are). */
function showStatus<R extends { name: string }>(
  ctx: Context,
  kind: 'Listener' | 'Connector',
  d: { site: string; running: boolean; rows: R[] },
  list: (ctx: Context, rows: R[], empty: string) => void,
  detail: (ctx: Context, r: R, running: boolean) => void,
): void {
  const name = ctx.args[0];
  if (name === undefined) {
    return ctx.out.emit(d.rows, () => list(ctx, d.rows, `Site ${d.site} has no ${kind.toLowerCase()}s.`));
  }
  const r = d.rows.find((x) => x.name === name);
  if (!r)
    throw notFound(
      kind,
      name,
      d.site,
      d.rows.map((x) => x.name),
    );
  return ctx.out.emit(r, () => detail(ctx, r, d.running));
}

export function deleteCommand(kind: 'Listener' | 'Connector'): CommandSpec {
  const noun = kind.toLowerCase();
  return {
    name: `${noun} delete`,
    summary: `delete a ${noun}`,
    synopsis: '<name>',
    args: { min: 1, max: 1 },
    examples: [`caravan ${noun} delete db`],
    async run(ctx) {
      const site = await contextSite(ctx);
      const name = ctx.args[0] as string;
      const all = await resourcesOfKind(site.dir, kind);
      if (!all.some((r) => r.metadata.name === name))
        throw notFound(
          kind,
          name,
          site.name,
          all.map((r) => r.metadata.name),
        );
      await deleteResources(site.dir, [{ kind, name }]);
      const note = await appliedNote(site);
      ctx.out.emit({ site: site.name, kind, name, deleted: true }, () =>
        ctx.out.line(`${kind} ${name} deleted; ${note}`),
      );
    },
  };
}
