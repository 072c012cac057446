/**
 * Resource validation: checks a parsed document against the schema of its kind (`schema/`), rejects unknown fields
 * and bad values (collecting every problem, each naming its field path) and returns the typed resource with
 * defaults applied. This file reads the envelope (apiVersion, kind, metadata); the checker and the kinds' schemas
 * do the rest. Pure: no I/O.
 */
import { ResourceError, type ResourceIssue } from './errors.js';
import { Checker, compact, type Obj } from './schema/checker.js';
import { SCHEMAS } from './schema/index.js';
import { kubeOnlyMessage } from './schema/kube-only.js';
import { describeValue, isPlainObject, suggestion } from './schema/messages.js';
import { API_VERSION, KINDS, NAME_PATTERN, type Kind, type ObjectMeta, type Resource } from './types.js';

export { describeValue } from './schema/messages.js';

const LABEL_KEY_PATTERN =
  /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/** `value` must be a mapping with only `known` keys (the envelope, metadata); reports unknown ones. */
function envelope(c: Checker, value: unknown, path: string, known: readonly string[]): Obj | undefined {
  if (!isPlainObject(value)) {
    c.add(path, `must be a mapping (got ${describeValue(value)})`);
    return undefined;
  }
  c.unknownFields(value, path, known);
  return value;
}

function checkLabels(c: Checker, labels: unknown): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (!isPlainObject(labels)) {
    c.add('metadata.labels', `must be a mapping of strings (got ${describeValue(labels)})`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const p = `metadata.labels.${k}`;
    if (!LABEL_KEY_PATTERN.test(k)) {
      c.add(
        p,
        'invalid label key: an optional DNS prefix and "/", then at most 63 letters, digits, ".", "_" or "-"',
      );
    } else if (typeof v !== 'string') {
      c.add(p, `label values must be strings (got ${describeValue(v)}); quote it`);
    } else if (!LABEL_VALUE_PATTERN.test(v)) {
      c.add(p, `invalid label value: at most 63 letters, digits, ".", "_" or "-" (got ${describeValue(v)})`);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function checkMetadata(c: Checker, value: unknown): ObjectMeta {
  if (value === undefined || value === null) {
    c.add('metadata', 'is required');
    return { name: '' };
  }
  const o = envelope(c, value, 'metadata', ['name', 'labels', 'generation']);
  const name = c.decode(
    {
      kind: 'string',
      description: '',
      required: o !== undefined,
      pattern: NAME_PATTERN,
      patternHelp:
        "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
    },
    o?.['name'],
    'metadata.name',
  ) as string | undefined;
  const meta: ObjectMeta = { name: name ?? '' };
  const generation = c.decode(
    { kind: 'int', description: '', min: 1, max: Number.MAX_SAFE_INTEGER },
    o?.['generation'],
    'metadata.generation',
  ) as number | undefined;
  if (generation !== undefined) meta.generation = generation;
  const labels = checkLabels(c, o?.['labels']);
  if (labels) meta.labels = labels;
  return meta;
}

/** Result of checking one document without throwing. */
export interface CheckResult {
  /** The typed resource with defaults applied; present only when there are no issues. */
  resource?: Resource;
  issues: ResourceIssue[];
  /** `Listener "db"`, when the kind and name could be read. */
  label?: string;
  /** what could be read of the document's identity even when it is invalid (for its status conditions) */
  kind?: Kind;
  name?: string;
  generation?: number;
}

function checkKind(c: Checker, kind: Kind, meta: ObjectMeta, root: Obj): Resource {
  const schema = SCHEMAS[kind];
  const raw = root['spec'];
  const spec = c.decode(schema.spec, raw, 'spec') as Obj | undefined;
  if (spec) schema.finish?.(c, { meta, spec, raw: isPlainObject(raw) ? raw : {} });
  const status = c.decode(schema.status, root['status'], 'status');
  const res = {
    apiVersion: API_VERSION,
    kind,
    metadata: meta,
    spec: compact(spec ?? {}),
  } as unknown as Resource;
  if (status !== undefined) res.status = compact(status) as Resource['status'];
  return res;
}

/** Checks one parsed document; never throws. Issues carry `path` and `message` (no source). */
export function checkResource(obj: unknown): CheckResult {
  const c = new Checker();
  if (obj === undefined || obj === null) {
    c.add('', 'empty document: expected a resource');
    return { issues: c.issues };
  }
  if (!isPlainObject(obj)) {
    c.add('', `a resource must be a mapping (got ${describeValue(obj)})`);
    return { issues: c.issues };
  }
  const root = envelope(c, obj, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']) as Obj;
  const apiVersion = root['apiVersion'];
  if (apiVersion === undefined || apiVersion === null) c.add('apiVersion', `is required (${API_VERSION})`);
  else if (apiVersion !== API_VERSION) {
    c.add('apiVersion', `must be "${API_VERSION}" (got ${describeValue(apiVersion)})`);
  }
  const kindValue = root['kind'];
  let kind: Kind | undefined;
  if (kindValue === undefined || kindValue === null)
    c.add('kind', `is required (one of: ${KINDS.join(', ')})`);
  else if (typeof kindValue !== 'string' || !(KINDS as readonly string[]).includes(kindValue)) {
    c.add(
      'kind',
      `unknown kind ${describeValue(kindValue)}${suggestion(String(kindValue), KINDS)} (known kinds: ${KINDS.join(', ')})`,
    );
  } else kind = kindValue as Kind;

  const meta = checkMetadata(c, root['metadata']);
  let label: string | undefined;
  if (kind) label = meta.name ? `${kind} "${meta.name}"` : kind;
  else if (meta.name) label = `"${meta.name}"`;

  if (!kind) return { issues: c.issues, ...(label ? { label } : {}) };
  const identity = {
    kind,
    ...(meta.name ? { name: meta.name } : {}),
    ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
  };
  const resource = checkKind(c, kind, meta, root);
  if (c.issues.length > 0) {
    const issues = c.issues.map((i) => {
      const kubeOnly = i.message.startsWith('unknown field') ? kubeOnlyMessage(kind, i.path) : undefined;
      return kubeOnly ? { ...i, message: kubeOnly } : i;
    });
    return { issues, ...(label ? { label } : {}), ...identity };
  }
  return { resource, issues: [], ...(label ? { label } : {}), ...identity };
}

/**
 * Validates one parsed document and returns the typed resource with defaults applied. Throws ResourceError
 * (code INVALID_RESOURCE) listing every problem, each as `source: Kind "name": field.path: message`.
 */
export function validateResource(obj: unknown, source: string): Resource {
  const r = checkResource(obj);
  if (r.resource) return r.resource;
  throw new ResourceError(r.issues.map((i) => ({ ...i, source, ...(r.label ? { resource: r.label } : {}) })));
}

/** Like validateResource but also checks the kind: `validateResourceOf('Listener', obj, src)`. */
export function validateResourceOf<K extends Kind>(
  kind: K,
  obj: unknown,
  source: string,
): Extract<Resource, { kind: K }> {
  const r = validateResource(obj, source);
  if (r.kind !== kind) {
    throw new ResourceError([
      { source, resource: `${r.kind} "${r.metadata.name}"`, path: 'kind', message: `expected a ${kind}` },
    ]);
  }
  return r as Extract<Resource, { kind: K }>;
}

/** Key identifying a resource within a site: `Kind/name`. */
export function resourceKey(r: { kind: string; metadata: { name: string } }): string {
  return `${r.kind}/${r.metadata.name}`;
}
