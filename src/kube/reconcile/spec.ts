/**
 * One Custom Resource → its validated resource, through the same validator that checks YAML on a host site
 * (`checkResource` of src/api), plus the few fields only Kubernetes mode reads: a Connector's `selector`, a
 * Site's `linkAccess.type`, and a Listener's `host` as the name of its Service. A bad spec yields the first
 * issue (field path and message) and touches nothing else.
 */
import { isIP } from 'node:net';
import { checkResource, type CheckResult, type Resource } from '../../api/index.js';
import type { CaravanObject, ServiceType } from './objects.js';
import { SelectorError, parseSelector, formatSelector, type Requirements } from './selector.js';

export const LINK_ACCESS_TYPES = ['LoadBalancer', 'NodePort', 'ClusterIP'] as const;
export const DEFAULT_LINK_ACCESS_TYPE: ServiceType = 'LoadBalancer';

/** A Service name: an RFC 1035 label (starts with a letter). */
export const SERVICE_NAME_PATTERN = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

export interface SpecIssue {
  path: string;
  message: string;
}

/** What Kubernetes mode reads besides the platform-neutral spec. */
export interface KubeExtras {
  /** Listener: the name of its Service (`spec.host` when it names one, else the resource name). */
  serviceName?: string;
  /** Connector: its pod selector, parsed, and as text for messages. */
  selector?: Requirements;
  selectorText?: string;
  /** Site with link access: the type of the link-access Service. */
  linkAccessType?: ServiceType;
}

export type CheckedObject =
  | { ok: true; obj: CaravanObject; resource: Resource; extras: KubeExtras }
  | { ok: false; obj: CaravanObject; issue: SpecIssue; more: number };

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Takes `spec.<field>` out of a copy of the spec (so the platform-neutral validator never sees it). */
function take(spec: Record<string, unknown>, field: string): unknown {
  const v = spec[field];
  delete spec[field];
  return v;
}

function kubeIssues(obj: CaravanObject, spec: Record<string, unknown>, extras: KubeExtras): SpecIssue[] {
  const issues: SpecIssue[] = [];
  switch (obj.kind) {
    case 'Connector': {
      const sel = take(spec, 'selector');
      if (sel === undefined || sel === null) break;
      if (spec['host'] !== undefined || spec['targets'] !== undefined) {
        issues.push({
          path: 'spec.selector',
          message: 'give either selector or host/targets, not both',
        });
        break;
      }
      if (spec['type'] === 'amqp') {
        issues.push({
          path: 'spec.selector',
          message: 'an amqp connector reaches one broker: give host (a Service name) instead',
        });
        break;
      }
      try {
        extras.selector = parseSelector(sel);
        extras.selectorText = formatSelector(extras.selector);
      } catch (e) {
        if (!(e instanceof SelectorError)) throw e;
        issues.push({ path: e.path ? `spec.selector.${e.path}` : 'spec.selector', message: e.message });
      }
      break;
    }
    case 'Listener': {
      const host = spec['host'];
      if (typeof host === 'string' && !WILDCARD.has(host) && isIP(host) === 0) {
        if (!SERVICE_NAME_PATTERN.test(host)) {
          issues.push({
            path: 'spec.host',
            message: `names the listener's Service: must be a DNS label starting with a letter (got "${host}")`,
          });
        } else extras.serviceName = host;
        // in the pod the listener binds every address; the name lives on as the Service
        delete spec['host'];
      }
      if (extras.serviceName === undefined) {
        if (!SERVICE_NAME_PATTERN.test(obj.metadata.name) && !issues.length)
          issues.push({
            path: 'metadata.name',
            message: `names the listener's Service and must start with a letter; set spec.host to a Service name`,
          });
        else extras.serviceName = obj.metadata.name;
      }
      break;
    }
    case 'Site': {
      const la = spec['linkAccess'];
      if (!isObj(la)) break;
      const copy = { ...la };
      const type = take(copy, 'type');
      spec['linkAccess'] = copy;
      if (type === undefined || type === null) extras.linkAccessType = DEFAULT_LINK_ACCESS_TYPE;
      else if (!(LINK_ACCESS_TYPES as readonly unknown[]).includes(type))
        issues.push({
          path: 'spec.linkAccess.type',
          message: `must be one of ${LINK_ACCESS_TYPES.join(', ')} (got ${JSON.stringify(type)})`,
        });
      else extras.linkAccessType = type as ServiceType;
      for (const f of ['port', 'grantPort'])
        if (copy[f] === 0)
          issues.push({
            path: `spec.linkAccess.${f}`,
            message: 'must be a fixed port in Kubernetes (a Service targets it); 0 is for host sites',
          });
      break;
    }
    default:
      break;
  }
  return issues;
}

/** Validates one Custom Resource. Never throws for anything a user can write. */
export function checkObject(obj: CaravanObject): CheckedObject {
  const spec: Record<string, unknown> = isObj(obj.spec) ? structuredClone(obj.spec) : {};
  const extras: KubeExtras = {};
  const own = isObj(obj.spec) ? kubeIssues(obj, spec, extras) : [];
  const meta: Record<string, unknown> = { name: obj.metadata.name };
  if (obj.metadata.generation !== undefined) meta['generation'] = obj.metadata.generation;
  const r = checkResource({
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: meta,
    spec: isObj(obj.spec) ? spec : obj.spec,
  });
  const issues = [...own, ...r.issues.map((i) => ({ path: i.path, message: i.message }))];
  const first = issues[0];
  if (first || !r.resource) {
    return {
      ok: false,
      obj,
      issue: first ?? { path: 'spec', message: 'is not valid' },
      more: Math.max(0, issues.length - 1),
    };
  }
  return { ok: true, obj, resource: r.resource, extras };
}

/** The first issue as one condition message: `spec.port: must be ... (and 2 more problems)`. */
export function issueMessage(c: { issue: SpecIssue; more: number }): string {
  const head = c.issue.path ? `${c.issue.path}: ${c.issue.message}` : c.issue.message;
  return c.more > 0 ? `${head} (and ${c.more} more problem${c.more > 1 ? 's' : ''})` : head;
}

/**
 * One YAML document as `caravan apply -f --kube` reads it: the host validator's check, with the Kubernetes-only
 * fields checked here first (and taken out of what the host validator sees), as the router checks the Custom
 * Resource it becomes. Issues carry field paths, so parseDocuments can name their lines. Never throws.
 */
export function checkKubeDocument(doc: unknown): CheckResult {
  if (!isObj(doc) || !isObj(doc['spec']) || typeof doc['kind'] !== 'string') return checkResource(doc);
  const spec = structuredClone(doc['spec']);
  const meta = isObj(doc['metadata']) ? doc['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const obj = { kind: doc['kind'], metadata: { name } } as unknown as CaravanObject;
  const own = kubeIssues(obj, spec, {});
  const r = checkResource({ ...doc, spec });
  if (own.length === 0) return r;
  const out: CheckResult = { ...r, issues: [...own, ...r.issues] };
  delete out.resource;
  return out;
}
