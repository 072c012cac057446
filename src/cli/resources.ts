/**
 * Applying and deleting resources in a site directory, as `caravan apply -f` / `caravan delete -f` and every
 * create verb do: read and validate everything first (each problem names its file, resource and field path),
 * check the site as a whole (one Site, no port clashes), then write atomically. Nothing is written when
 * anything is invalid.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  ResourceError,
  parseDocuments,
  parseResources,
  type ParseOptions,
  resourceKey,
  resourcesToYaml,
  toYaml,
  type LinkResource,
  type ListenerResource,
  type Resource,
  type ResourceIssue,
  type SiteResource,
  withNextGeneration,
} from '../api/index.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { writeFileAtomic } from '../site/atomic.js';
import { checkResourceText, readResourceFile } from '../site/resource-file.js';
import { resourceFileName, SITE_SUBDIRS } from '../site/site-dir.js';

export interface InputResource {
  resource: Resource;
  source: string;
  /** the document as written (no defaults): what `apply --kube` sends */
  raw?: unknown;
}

/**
 * Reads resources from files, directories (their *.yaml / *.yml files, sorted) and `-` (stdin). Validates them
 * all (with `parse.check`, the host validator by default); throws one ResourceError listing every problem of
 * every input.
 */
export async function readInputs(
  specs: readonly string[],
  cwd: string,
  readStdin: () => Promise<string>,
  parse: ParseOptions = {},
): Promise<InputResource[]> {
  if (specs.length === 0) throw new CaravanError(ErrorCodes.USAGE, '-f FILE|DIR|- is required');
  const files: Array<{ path?: string; source: string }> = [];
  for (const spec of specs) {
    if (spec === '-') {
      files.push({ source: '<stdin>' });
      continue;
    }
    const p = resolve(cwd, spec);
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot read ${spec}: ${errorMessage(e)}`, { cause: e });
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.ya?ml$/i.test(n) && !n.startsWith('.')).sort();
      if (names.length === 0) throw new CaravanError(ErrorCodes.USAGE, `no *.yaml files in ${spec}`);
      for (const n of names) files.push({ path: join(p, n), source: join(spec, n) });
    } else files.push({ path: p, source: spec });
  }
  const out: InputResource[] = [];
  const issues: ResourceIssue[] = [];
  for (const f of files) {
    let text: string;
    try {
      text =
        f.path === undefined
          ? checkResourceText(await readStdin(), f.source)
          : await readResourceFile(f.path, f.source);
    } catch (e) {
      if (e instanceof ResourceError) {
        issues.push(...e.issues);
        continue;
      }
      throw new CaravanError(ErrorCodes.CONFIG_IO, `cannot read ${f.source}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    try {
      const parsed = parseDocuments(text, f.source, parse);
      if (parsed.issues.length > 0) throw new ResourceError(parsed.issues);
      parsed.resources.forEach((resource, i) => out.push({ resource, source: f.source, raw: parsed.raw[i] }));
    } catch (e) {
      if (e instanceof ResourceError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (issues.length > 0) throw new ResourceError(issues);
  if (out.length === 0) {
    throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `no resources in ${specs.join(', ')}`);
  }
  // the same resource twice in the input
  const seen = new Map<string, string>();
  for (const r of out) {
    const key = resourceKey(r.resource);
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({
        source: r.source,
        resource: label(r.resource),
        path: 'metadata.name',
        message: `${label(r.resource)} appears twice (also in ${first})`,
      });
    } else seen.set(key, r.source);
  }
  if (issues.length > 0) throw new ResourceError(issues);
  return out;
}

function label(r: Resource): string {
  return `${r.kind} "${r.metadata.name}"`;
}

/** The resources of one file in `resources/`, or undefined when it is not valid (it is left alone). */
interface SiteFile {
  /** `resources/x.yaml` */
  source: string;
  resources: Resource[] | undefined;
}

async function readSiteFiles(dir: string): Promise<SiteFile[]> {
  const resDir = join(dir, SITE_SUBDIRS.resources);
  let names: string[];
  try {
    names = (await readdir(resDir)).filter((n) => /\.ya?ml$/i.test(n) && !n.startsWith('.')).sort();
  } catch (e) {
    throw new CaravanError(ErrorCodes.CONFIG_IO, `${dir} is not a site directory (no resources/)`, {
      cause: e,
    });
  }
  const out: SiteFile[] = [];
  for (const n of names) {
    const source = `${SITE_SUBDIRS.resources}/${n}`;
    let resources: Resource[] | undefined;
    try {
      resources = parseResources(await readResourceFile(join(dir, source), source), source);
    } catch {
      resources = undefined;
    }
    out.push({ source, resources });
  }
  return out;
}

/** Every valid resource of a site directory with its file. */
export async function siteResources(dir: string): Promise<InputResource[]> {
  const files = await readSiteFiles(dir);
  return files.flatMap((f) => (f.resources ?? []).map((resource) => ({ resource, source: f.source })));
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: string;
  name: string;
  action: ApplyAction;
  /** File written, relative to the site directory. */
  file: string;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** Cross-resource checks of the site as it would be after the change. */
function checkMerged(siteName: string, merged: InputResource[], incoming: Set<string>): ResourceIssue[] {
  const issues: ResourceIssue[] = [];
  const sites = merged.filter((m) => m.resource.kind === 'Site');
  for (const s of sites) {
    if (incoming.has(resourceKey(s.resource)) && s.resource.metadata.name !== siteName) {
      issues.push({
        source: s.source,
        resource: label(s.resource),
        path: 'metadata.name',
        message: `this site is named "${siteName}"; a site directory holds exactly one Site`,
      });
    }
  }
  const binds: Array<{ host: string; port: number; m: InputResource; path: string }> = [];
  const site = sites.find((s) => s.resource.metadata.name === siteName)?.resource as SiteResource | undefined;
  const siteSrc = sites.find((s) => s.resource.metadata.name === siteName);
  if (site?.spec.linkAccess && site.spec.linkAccess.port !== 0 && siteSrc) {
    binds.push({
      host: site.spec.linkAccess.host,
      port: site.spec.linkAccess.port,
      m: siteSrc,
      path: 'spec.linkAccess.port',
    });
  }
  for (const m of merged) {
    if (m.resource.kind !== 'Listener') continue;
    const spec = (m.resource as ListenerResource).spec;
    binds.push({ host: spec.host, port: spec.port, m, path: 'spec.port' });
  }
  for (let i = 0; i < binds.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = binds[j]!;
      const b = binds[i]!;
      if (a.port !== b.port) continue;
      if (a.host !== b.host && !WILDCARD.has(a.host) && !WILDCARD.has(b.host)) continue;
      // report on the incoming one
      const [x, y] = incoming.has(resourceKey(b.m.resource)) ? [b, a] : [a, b];
      if (!incoming.has(resourceKey(x.m.resource))) continue;
      issues.push({
        source: x.m.source,
        resource: label(x.m.resource),
        path: x.path,
        message: `port ${x.port} on ${x.host} is already used by ${label(y.m.resource)} (${y.host}:${y.port})`,
      });
      break;
    }
  }
  return issues;
}

/**
 * Writes `incoming` into the site directory: each resource replaces the file (or the document of a
 * multi-document file) that defines it, or goes to `resources/<kind>-<name>.yaml`. A Site keeps its router id
 * when the applied one has none. Validates the result as a whole before writing anything.
 */
export async function applyResources(
  dir: string,
  siteName: string,
  incoming: InputResource[],
): Promise<ApplyResult[]> {
  const files = await readSiteFiles(dir);
  const where = new Map<string, { file: SiteFile; resource: Resource }>();
  for (const f of files)
    for (const r of f.resources ?? []) where.set(resourceKey(r), { file: f, resource: r });

  const prepared = incoming.map((i) => {
    const r = structuredClone(i.resource);
    const prev = where.get(resourceKey(r));
    if (r.kind === 'Site' && prev && !r.spec.routerId) {
      const id = (prev.resource as SiteResource).spec.routerId;
      if (id) r.spec.routerId = id;
    }
    // the CLI owns metadata.generation on a host site: 1 when created, +1 whenever the spec changes
    return { resource: withNextGeneration(prev?.resource, r), source: i.source };
  });
  const incomingKeys = new Set(prepared.map((p) => resourceKey(p.resource)));
  const merged: InputResource[] = [
    ...[...where.values()]
      .filter((w) => !incomingKeys.has(resourceKey(w.resource)))
      .map((w) => ({ resource: w.resource, source: w.file.source })),
    ...prepared,
  ];
  const issues = checkMerged(siteName, merged, incomingKeys);
  if (issues.length > 0) throw new ResourceError(issues);

  // group the writes by file
  const results: ApplyResult[] = [];
  const rewrites = new Map<string, Resource[]>();
  for (const p of prepared) {
    const key = resourceKey(p.resource);
    const prev = where.get(key);
    const { kind, metadata } = p.resource;
    if (!prev) {
      const file = resourceFileName(kind, metadata.name);
      rewrites.set(file, [p.resource]);
      results.push({ kind, name: metadata.name, action: 'created', file });
      continue;
    }
    const same = toYaml(prev.resource) === toYaml(p.resource);
    const list = rewrites.get(prev.file.source) ?? [...(prev.file.resources ?? [])];
    const idx = list.findIndex((r) => resourceKey(r) === key);
    list[idx] = p.resource;
    if (!same) rewrites.set(prev.file.source, list);
    results.push({
      kind,
      name: metadata.name,
      action: same ? 'unchanged' : 'configured',
      file: prev.file.source,
    });
  }
  for (const [file, list] of rewrites) {
    await writeFileAtomic(join(dir, file), list.length === 1 ? toYaml(list[0]!) : resourcesToYaml(list));
  }
  return results;
}

export interface DeleteResult {
  kind: string;
  name: string;
  action: 'deleted' | 'not found';
  file?: string;
}

/**
 * Removes resources from the site directory (the document, or the file when it held only that resource).
 * Every resource must exist unless `ignoreNotFound`; the Site itself cannot be deleted this way. A deleted
 * Link also loses its certificate folder `runtime/links/<name>/`.
 */
export async function deleteResources(
  dir: string,
  targets: Array<{ kind: string; name: string; source?: string }>,
  opts: { ignoreNotFound?: boolean } = {},
): Promise<DeleteResult[]> {
  const files = await readSiteFiles(dir);
  const where = new Map<string, SiteFile>();
  for (const f of files) for (const r of f.resources ?? []) where.set(resourceKey(r), f);
  const issues: ResourceIssue[] = [];
  for (const t of targets) {
    const key = `${t.kind}/${t.name}`;
    if (t.kind === 'Site') {
      issues.push({
        ...(t.source ? { source: t.source } : {}),
        resource: `Site "${t.name}"`,
        path: 'kind',
        message: `a site cannot delete its own Site resource; use 'caravan site delete'`,
      });
    } else if (!where.has(key) && !opts.ignoreNotFound) {
      issues.push({
        ...(t.source ? { source: t.source } : {}),
        resource: `${t.kind} "${t.name}"`,
        path: 'metadata.name',
        message: `not found in ${relative(process.cwd(), join(dir, SITE_SUBDIRS.resources)) || dir}`,
      });
    }
  }
  if (issues.length > 0) throw new ResourceError(issues);
  const remaining = new Map<string, Resource[]>();
  const results: DeleteResult[] = [];
  for (const t of targets) {
    const key = `${t.kind}/${t.name}`;
    const f = where.get(key);
    if (!f) {
      results.push({ kind: t.kind, name: t.name, action: 'not found' });
      continue;
    }
    const list = (remaining.get(f.source) ?? [...(f.resources ?? [])]).filter((r) => resourceKey(r) !== key);
    remaining.set(f.source, list);
    results.push({ kind: t.kind, name: t.name, action: 'deleted', file: f.source });
  }
  for (const [file, list] of remaining) {
    if (list.length === 0) await rm(join(dir, file), { force: true });
    else await writeFileAtomic(join(dir, file), list.length === 1 ? toYaml(list[0]!) : resourcesToYaml(list));
  }
  for (const t of targets) {
    if (
      t.kind === 'Link' &&
      results.some((r) => r.kind === 'Link' && r.name === t.name && r.action === 'deleted')
    ) {
      await rm(join(dir, 'runtime', 'links', t.name), { recursive: true, force: true });
    }
  }
  return results;
}

/** Resources of one kind in a site directory. */
export async function resourcesOfKind<K extends Resource['kind']>(
  dir: string,
  kind: K,
): Promise<Array<Extract<Resource, { kind: K }>>> {
  return (await siteResources(dir))
    .map((s) => s.resource)
    .filter((r): r is Extract<Resource, { kind: K }> => r.kind === kind);
}

export type { LinkResource };
