/**
 * YAML ⇄ resources. `parseResources` reads a (multi-document) YAML text and validates every document;
 * `toYaml` renders a resource in the canonical field order. Pure: no I/O.
 */
import { Document, LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';
import { ResourceError, type ResourceIssue } from './errors.js';
import type { Kind, Resource } from './types.js';
import { checkResource, type CheckResult } from './validate.js';

/** How parseDocuments checks each document: the host validator by default. */
export interface ParseOptions {
  /** the check of one document (Kubernetes mode accepts its own fields besides the host's) */
  check?: (doc: unknown) => CheckResult;
  /** name every document of a multi-document text by its number (`document 2, Listener "db"`) */
  numberDocuments?: boolean;
}

/** Splits `spec.endpoints[0].port` into `['spec', 'endpoints', 0, 'port']`. */
function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Offset of the YAML node (or map key) that a field path points at, or of its nearest existing ancestor. */
function offsetOf(doc: Document.Parsed, path: string): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  if (!path) return offset;
  for (const seg of splitPath(path)) {
    if (typeof seg === 'string' && isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return offset;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      offset = valueNode?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
      node = valueNode;
    } else if (typeof seg === 'number' && isSeq(node)) {
      const item = node.items[seg] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

/** A document whose kind and name could be read but which is invalid: its issues (with source and line). */
export interface RejectedDocument {
  kind: Kind;
  name: string;
  generation?: number;
  issues: ResourceIssue[];
}

/** What one YAML text holds: its valid resources, its invalid documents of known identity, and other problems. */
export interface ParsedDocuments {
  resources: Resource[];
  /** each valid resource's document as written (no defaults), in the order of `resources` */
  raw: unknown[];
  rejected: RejectedDocument[];
  /** every problem, in document order */
  issues: ResourceIssue[];
  /** syntax errors and problems of documents whose kind or name could not be read */
  unattributed: ResourceIssue[];
}

/**
 * Parses multi-document YAML and validates every document. Empty documents are skipped. Throws ResourceError
 * (INVALID_RESOURCE): for a YAML syntax error naming `source:line:column`; for invalid documents listing every
 * issue of every document, each naming the source, the resource and the field path.
 */
export function parseResources(text: string, source: string, opts: ParseOptions = {}): Resource[] {
  const parsed = parseDocuments(text, source, opts);
  if (parsed.issues.length > 0) throw new ResourceError(parsed.issues);
  return parsed.resources;
}

/**
 * Like parseResources, without throwing: a router applies the valid documents and reports each invalid one by
 * kind and name (its Configured condition), so that one bad resource does not hold back the others.
 */
export function parseDocuments(text: string, source: string, opts: ParseOptions = {}): ParsedDocuments {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const syntax: ResourceIssue[] = [];
  for (const doc of list) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
      const firstLine = err.message.split('\n')[0] ?? err.message;
      syntax.push({
        source: where,
        path: '',
        message: `YAML syntax error: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(pos ? { line: pos.line } : {}),
      });
    }
  }
  if (syntax.length > 0)
    return { resources: [], raw: [], rejected: [], issues: syntax, unattributed: syntax };

  const check = opts.check ?? checkResource;
  const resources: Resource[] = [];
  const raw: unknown[] = [];
  const rejected: RejectedDocument[] = [];
  const issues: ResourceIssue[] = [];
  const unattributed: ResourceIssue[] = [];
  const nonEmpty = list.filter(
    (d) =>
      d.contents !== null &&
      !(isScalar(d.contents) && (d.contents.value === null || d.contents.value === '')),
  );
  nonEmpty.forEach((doc, index) => {
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      const issue = {
        source,
        path: '',
        message: `cannot read document ${index + 1}: ${(e as Error).message}`,
      };
      issues.push(issue);
      unattributed.push(issue);
      return;
    }
    const r = check(value);
    if (r.resource) {
      resources.push(r.resource);
      raw.push(value);
      return;
    }
    const docLabel = nonEmpty.length > 1 ? `document ${index + 1}` : undefined;
    const own: ResourceIssue[] = [];
    for (const issue of r.issues) {
      const off = offsetOf(doc, issue.path);
      const line = off !== undefined ? lineCounter.linePos(off).line : undefined;
      const resource =
        opts.numberDocuments && docLabel && r.label ? `${docLabel}, ${r.label}` : (r.label ?? docLabel);
      own.push({
        ...issue,
        source,
        ...(resource ? { resource } : {}),
        ...(line !== undefined ? { line } : {}),
      });
    }
    issues.push(...own);
    if (r.kind !== undefined && r.name !== undefined)
      rejected.push({
        kind: r.kind,
        name: r.name,
        ...(r.generation !== undefined ? { generation: r.generation } : {}),
        issues: own,
      });
    else unattributed.push(...own);
  });
  return { resources, raw, rejected, issues, unattributed };
}

const TOP_ORDER = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Renders one resource as YAML (apiVersion, kind, metadata, spec, status; PEM strings as block literals). */
export function toYaml(resource: Resource): string {
  const ordered: Record<string, unknown> = {};
  const r = resource as unknown as Record<string, unknown>;
  for (const k of TOP_ORDER) if (r[k] !== undefined) ordered[k] = r[k];
  for (const k of Object.keys(r)) if (!(k in ordered) && r[k] !== undefined) ordered[k] = r[k];
  return new Document(ordered).toString({ lineWidth: 0 });
}

/** Renders several resources as one multi-document YAML text. */
export function resourcesToYaml(resources: readonly Resource[]): string {
  return resources.map(toYaml).join('---\n');
}
