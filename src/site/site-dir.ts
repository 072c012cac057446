/**
 * The site directory (docs/design/sites.md): `resources/` (desired state, user-editable YAML, multi-document),
 * `runtime/` (router id, CA and certificates, state), `logs/`. `loadSiteDir` turns it into the configuration a
 * router runs with; `writeResource` is how the CLI edits it when the router is stopped.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import {
  ResourceError,
  parseDocuments,
  parseResources,
  resourceKey,
  toYaml,
  validateResource,
  withNextGeneration,
  type AccessGrantResource,
  type AccessTokenResource,
  type ConnectorResource,
  type Kind,
  type LinkResource,
  type ListenerResource,
  type Resource,
  type ResourceIssue,
  type SiteResource,
  type TlsFiles,
} from '../api/index.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { isAtomicTempFile, writeFileAtomic } from './atomic.js';
import { readResourceFile } from './resource-file.js';
import { recoverLinkFolders } from './grants/link-files.js';

export const SITE_SUBDIRS = { resources: 'resources', runtime: 'runtime', logs: 'logs' } as const;

/** The router configuration loaded from a site directory. */
export interface SiteConfig {
  /** Absolute path of the site directory. */
  dir: string;
  site: SiteResource;
  links: LinkResource[];
  listeners: ListenerResource[];
  connectors: ConnectorResource[];
  grants: AccessGrantResource[];
  tokens: AccessTokenResource[];
  /** Where each resource came from: `Kind/name` → `resources/<file>` (relative to `dir`). */
  sources: Map<string, string>;
}

/** A resource with the file it was read from (relative to the site directory, e.g. `resources/db.yaml`). */
export interface SourcedResource {
  resource: Resource;
  source: string;
}

function isYamlFile(name: string): boolean {
  return /\.ya?ml$/i.test(name) && !name.startsWith('.') && !isAtomicTempFile(name);
}

function ioError(message: string, cause: unknown): CaravanError {
  return new CaravanError(ErrorCodes.CONFIG_IO, `${message}: ${errorMessage(cause)}`, { cause });
}

/** Names of the YAML files in `<dir>/resources`, sorted; rejects with CONFIG_IO when the folder is unreadable. */
async function listResourceFiles(dir: string): Promise<string[]> {
  const resDir = join(dir, SITE_SUBDIRS.resources);
  let entries;
  try {
    entries = await readdir(resDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CaravanError(
        ErrorCodes.CONFIG_IO,
        `${dir} is not a site directory: ${resDir} does not exist (create a site with \`caravan site create\`)`,
        { cause: e },
      );
    }
    throw ioError(`cannot read ${resDir}`, e);
  }
  const names: string[] = [];
  for (const e of entries) {
    if (!isYamlFile(e.name)) continue;
    if (e.isFile()) names.push(e.name);
    else if (e.isSymbolicLink()) {
      const st = await stat(join(resDir, e.name)).catch(() => undefined);
      if (st?.isFile()) names.push(e.name);
    }
  }
  return names.sort();
}

/** A resource of the site directory that is not applied: its kind and name could be read, its spec is invalid. */
export interface RejectedResource {
  kind: Kind;
  name: string;
  generation?: number;
  /** each problem, naming the field */
  issues: ResourceIssue[];
}

interface ReadResult {
  resources: SourcedResource[];
  rejected: RejectedResource[];
  /** every problem, file by file */
  issues: ResourceIssue[];
  /** problems that belong to no resource of known kind and name (YAML syntax, unknown kind, ...) */
  unattributed: ResourceIssue[];
}

async function readAll(abs: string): Promise<ReadResult> {
  const out: ReadResult = { resources: [], rejected: [], issues: [], unattributed: [] };
  for (const name of await listResourceFiles(abs)) {
    const source = `${SITE_SUBDIRS.resources}/${name}`;
    let text: string;
    try {
      text = await readResourceFile(join(abs, source), source);
    } catch (e) {
      if (e instanceof ResourceError) {
        // an oversized file: its resources cannot be named, so it rejects the directory like a YAML syntax error
        out.issues.push(...e.issues);
        out.unattributed.push(...e.issues);
        continue;
      }
      throw ioError(`cannot read ${join(abs, source)}`, e);
    }
    const parsed = parseDocuments(text, source);
    for (const resource of parsed.resources) out.resources.push({ resource, source });
    out.rejected.push(...parsed.rejected);
    out.issues.push(...parsed.issues);
    out.unattributed.push(...parsed.unattributed);
  }
  return out;
}

/**
 * Reads and validates every resource file of a site directory, without cross-resource checks. Rejects with
 * ResourceError (INVALID_RESOURCE) listing the problems of every file, or CaravanError(CONFIG_IO).
 */
export async function readSiteResources(dir: string): Promise<SourcedResource[]> {
  const r = await readAll(resolve(dir));
  if (r.issues.length > 0) throw new ResourceError(r.issues);
  return r.resources;
}

function label(r: Resource): string {
  return `${r.kind} "${r.metadata.name}"`;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/** Listeners (and the site's link access) that would bind the same port. */
function portConflicts(site: SourcedResource | undefined, listeners: SourcedResource[]): ResourceIssue[] {
  // udp listeners bind UDP ports; every other type (and the link access) binds TCP ports
  const binds: { host: string; port: number; s: SourcedResource; path: string; udp?: boolean }[] = [];
  const siteRes = site?.resource as SiteResource | undefined;
  if (site && siteRes?.spec.linkAccess && siteRes.spec.linkAccess.port !== 0) {
    binds.push({ ...siteRes.spec.linkAccess, s: site, path: 'spec.linkAccess.port' });
  }
  if (site && siteRes?.spec.linkAccess && siteRes.spec.linkAccess.grantPort !== 0) {
    const la = siteRes.spec.linkAccess;
    binds.push({ host: la.host, port: la.grantPort, s: site, path: 'spec.linkAccess.grantPort' });
  }
  for (const l of listeners) {
    const spec = (l.resource as ListenerResource).spec;
    binds.push({ host: spec.host, port: spec.port, s: l, path: 'spec.port', udp: spec.type === 'udp' });
  }
  const issues: ResourceIssue[] = [];
  for (let i = 0; i < binds.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = binds[j]!;
      const b = binds[i]!;
      if (a.port !== b.port || !!a.udp !== !!b.udp) continue;
      if (a.host !== b.host && !WILDCARD_HOSTS.has(a.host) && !WILDCARD_HOSTS.has(b.host)) continue;
      issues.push({
        source: b.s.source,
        resource: label(b.s.resource),
        path: b.path,
        message: `port ${b.port} on ${b.host} is already used by ${label(a.s.resource)} (${a.s.source}, ${a.host}:${a.port})`,
      });
      break;
    }
  }
  return issues;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Resolves some file-path fields of `o` against the site directory and reports files that do not exist. */
async function resolveFiles<T extends object>(
  dir: string,
  o: T,
  fields: ReadonlyArray<keyof T & string>,
  s: SourcedResource,
  path: string,
  issues: ResourceIssue[],
): Promise<T> {
  const out = { ...o };
  for (const field of fields) {
    const v = o[field];
    if (typeof v !== 'string') continue;
    const p = isAbsolute(v) ? v : resolve(dir, v);
    (out as Record<string, unknown>)[field] = p;
    if (!(await isFile(p))) {
      issues.push({
        source: s.source,
        resource: label(s.resource),
        path: `${path}.${field}`,
        message: `file not found: ${p}`,
      });
    }
  }
  return out;
}

/** Resolves TLS paths against the site directory and reports files that do not exist. */
function resolveTls(
  dir: string,
  tls: TlsFiles,
  s: SourcedResource,
  path: string,
  issues: ResourceIssue[],
): Promise<TlsFiles> {
  return resolveFiles(dir, tls, ['ca', 'cert', 'key'], s, path, issues);
}

/**
 * Loads a site directory into a router configuration. Requires exactly one Site; rejects duplicate
 * kind+name (naming both files), listeners that would bind the same port, and missing TLS files (the site's,
 * when it has linkAccess, and every link's). TLS paths (and a relative admin socket path) in the returned
 * resources are absolute. Rejects with ResourceError (INVALID_RESOURCE; one line per problem) or
 * CaravanError(CONFIG_IO) when the directory cannot be read.
 */
export async function loadSiteDir(dir: string): Promise<SiteConfig> {
  const { config, issues } = await loadSiteWith(dir);
  if (issues.length > 0) throw new ResourceError(issues);
  return config;
}

/** What a router runs with: the valid resources, and the ones it leaves out (with why). */
export interface LoadedSite {
  config: SiteConfig;
  rejected: RejectedResource[];
}

/**
 * Like loadSiteDir, but a Link, Listener, Connector, AccessGrant or AccessToken that is invalid (its spec, a
 * port clash, a missing file) is left out of the configuration and listed in `rejected` instead of failing the
 * whole directory. Problems that concern the site as a whole still reject: the Site resource itself, YAML
 * syntax, documents without a readable kind and name, duplicates.
 */
export async function loadSite(dir: string): Promise<LoadedSite> {
  const { config, rejected, fatal } = await loadSiteWith(dir);
  if (fatal.length > 0) throw new ResourceError(fatal);
  return { config, rejected };
}

async function loadSiteWith(dir: string): Promise<{
  config: SiteConfig;
  issues: ResourceIssue[];
  fatal: ResourceIssue[];
  rejected: RejectedResource[];
}> {
  const abs = resolve(dir);
  // a writer killed while it replaced a link's certificate folder: put the old one back first
  await recoverLinkFolders(abs);
  const read = await readAll(abs);
  const all = read.resources;
  const issues: ResourceIssue[] = [...read.issues];
  const fatal: ResourceIssue[] = [...read.unattributed];
  const rejectedBy = new Map<string, RejectedResource>();
  for (const r of read.rejected) {
    if (r.kind === 'Site') fatal.push(...r.issues);
    else rejectedBy.set(`${r.kind}/${r.name}`, { ...r, issues: [...r.issues] });
  }
  /** issues from index `from` on go to the resource they name (rejected), or are fatal (the Site, unknown) */
  const attribute = (from: number, of: (issue: ResourceIssue) => SourcedResource | undefined): void => {
    for (const issue of issues.slice(from)) {
      const s = of(issue);
      if (!s || s.resource.kind === 'Site') {
        fatal.push(issue);
        continue;
      }
      const key = resourceKey(s.resource);
      const r = rejectedBy.get(key) ?? {
        kind: s.resource.kind,
        name: s.resource.metadata.name,
        ...(s.resource.metadata.generation !== undefined
          ? { generation: s.resource.metadata.generation }
          : {}),
        issues: [],
      };
      r.issues.push(issue);
      rejectedBy.set(key, r);
    }
  };

  const sources = new Map<string, string>();
  const unique: SourcedResource[] = [];
  for (const s of all) {
    const key = resourceKey(s.resource);
    const first = sources.get(key);
    if (first !== undefined) {
      issues.push({
        source: s.source,
        resource: label(s.resource),
        path: 'metadata.name',
        message:
          first === s.source
            ? `duplicate ${label(s.resource)}: defined twice in ${s.source}`
            : `duplicate ${label(s.resource)}: defined in both ${first} and ${s.source}`,
      });
      continue;
    }
    sources.set(key, s.source);
    unique.push({ resource: structuredClone(s.resource), source: s.source });
  }
  fatal.push(...issues.slice(read.issues.length));
  const byLabel = (issue: ResourceIssue): SourcedResource | undefined =>
    unique.find((u) => label(u.resource) === issue.resource && u.source === issue.source);

  const of = (kind: Kind): SourcedResource[] => unique.filter((s) => s.resource.kind === kind);
  const sites = of('Site');
  if (sites.length === 0) {
    issues.push({
      source: `${SITE_SUBDIRS.resources}/`,
      path: '',
      message: `no Site resource in ${join(abs, SITE_SUBDIRS.resources)}: exactly one is required`,
    });
  } else if (sites.length > 1) {
    issues.push({
      source: `${SITE_SUBDIRS.resources}/`,
      path: '',
      message: `${sites.length} Site resources (${sites
        .map((s) => `"${s.resource.metadata.name}" in ${s.source}`)
        .join(', ')}): exactly one is required`,
    });
  }
  const listeners = of('Listener');
  fatal.push(...issues.slice(read.issues.length).filter((i) => !fatal.includes(i)));
  const mark = issues.length;
  issues.push(...portConflicts(sites[0], listeners));

  const site = sites[0];
  if (site) {
    const spec = (site.resource as SiteResource).spec;
    if (spec.tls) {
      spec.tls = spec.linkAccess
        ? await resolveTls(abs, spec.tls, site, 'spec.tls', issues)
        : {
            ca: resolve(abs, spec.tls.ca),
            cert: resolve(abs, spec.tls.cert),
            key: resolve(abs, spec.tls.key),
          };
    }
    if (spec.admin?.socket !== undefined) spec.admin.socket = resolve(abs, spec.admin.socket);
  }
  const links = of('Link');
  for (const l of links) {
    const spec = (l.resource as LinkResource).spec;
    spec.tls = await resolveTls(abs, spec.tls, l, 'spec.tls', issues);
  }
  // listener/connector TLS files and an amqp connector's password file: absolute, and they must exist
  for (const l of listeners) {
    const spec = (l.resource as ListenerResource).spec;
    if (spec.tls)
      spec.tls = await resolveFiles(abs, spec.tls, ['cert', 'key', 'clientCa'], l, 'spec.tls', issues);
    if (spec.users)
      spec.users = await Promise.all(
        spec.users.map((u, i) => resolveFiles(abs, u, ['passwordFile'], l, `spec.users[${i}]`, issues)),
      );
  }
  for (const c of of('Connector')) {
    const spec = (c.resource as ConnectorResource).spec;
    if (spec.tls?.ca) spec.tls = await resolveFiles(abs, spec.tls, ['ca'], c, 'spec.tls', issues);
    if (spec.passwordFile !== undefined)
      spec.passwordFile = (await resolveFiles(abs, spec, ['passwordFile'], c, 'spec', issues)).passwordFile;
  }

  attribute(mark, byLabel);
  if (!site) throw new ResourceError(issues);
  const ok = (s: SourcedResource): boolean => !rejectedBy.has(resourceKey(s.resource));
  return {
    config: {
      dir: abs,
      site: site.resource as SiteResource,
      links: links.filter(ok).map((s) => s.resource as LinkResource),
      listeners: listeners.filter(ok).map((s) => s.resource as ListenerResource),
      connectors: of('Connector')
        .filter(ok)
        .map((s) => s.resource as ConnectorResource),
      grants: of('AccessGrant')
        .filter(ok)
        .map((s) => s.resource as AccessGrantResource),
      tokens: of('AccessToken')
        .filter(ok)
        .map((s) => s.resource as AccessTokenResource),
      sources,
    },
    issues,
    fatal,
    rejected: [...rejectedBy.values()],
  };
}

/** The file a resource is written to by writeResource: `resources/<kind-lower>-<name>.yaml`. */
export function resourceFileName(kind: Kind, name: string): string {
  return `${SITE_SUBDIRS.resources}/${kind.toLowerCase()}-${name}.yaml`;
}

/**
 * Validates `resource` and writes it atomically to `resources/<kind-lower>-<name>.yaml` (replacing that file),
 * creating `resources/` if needed; its metadata.generation is bumped when the spec changed (api/generation.ts).
 * Refuses (INVALID_RESOURCE) when another file of the directory already defines the same kind and name, since
 * the site would then hold a duplicate. Returns the absolute path written.
 */
export async function writeResource(dir: string, resource: Resource): Promise<string> {
  const abs = resolve(dir);
  const rel = resourceFileName(resource.kind, resource.metadata.name);
  let previous: Resource | undefined;
  try {
    previous = parseResources(await readResourceFile(join(abs, rel), rel), rel).find(
      (r) => resourceKey(r) === resourceKey(resource),
    );
  } catch {
    previous = undefined; // no such file yet (or an invalid one, which this write replaces)
  }
  const valid = withNextGeneration(previous, validateResource(resource, rel));
  const resDir = join(abs, SITE_SUBDIRS.resources);
  try {
    await mkdir(resDir, { recursive: true });
  } catch (e) {
    throw ioError(`cannot create ${resDir}`, e);
  }
  const key = resourceKey(valid);
  for (const name of await listResourceFiles(abs)) {
    const source = `${SITE_SUBDIRS.resources}/${name}`;
    if (source === rel) continue;
    let found = false;
    try {
      found = parseResources(await readResourceFile(join(abs, source), source), source).some(
        (r) => resourceKey(r) === key,
      );
    } catch {
      // Unreadable or invalid files cannot be checked here; loadSiteDir reports them.
    }
    if (found) {
      throw new ResourceError([
        {
          source: rel,
          resource: label(valid),
          path: 'metadata.name',
          message: `${label(valid)} is already defined in ${source}; edit that file instead`,
        },
      ]);
    }
  }
  const path = join(abs, rel);
  await writeFileAtomic(path, toYaml(valid));
  return path;
}
