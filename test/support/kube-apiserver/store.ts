// The stand-in's storage and write semantics (sig-architecture/api-conventions.md, "Metadata", "Concurrency
// Control and Consistency", "Spec and Status"; reference/using-api/api-concepts, "Resource versions").
//
// - resourceVersion: one global counter, bumped by every write; lists carry the counter at the time of the list.
// - uid and creationTimestamp are set on create; generation starts at 1 and is bumped only when something outside
//   metadata (and outside status, for kinds with the status subresource) changes.
// - update: a stale resourceVersion answers 409 Conflict; custom resources must send one (422 otherwise), built-in
//   kinds may update unconditionally. An update that changes nothing is a no-op (no new resourceVersion, no event).
// - delete: with finalizers the object only gets metadata.deletionTimestamp and goes once its finalizers are
//   emptied; without, it goes at once. Owner references: a garbage collector running just after a delete removes
//   the references to the deleted owner and deletes the dependents left with no existing owner (background
//   propagation; `Orphan` only removes the references; `Foreground` is treated as background, and
//   blockOwnerDeletion is ignored).

import { randomUUID } from 'node:crypto';
import { mergePatch, jsonPatch, type PatchType } from './patch.js';
import type { ResourceType } from './resources.js';
import { validateCustomResource } from './schema.js';
import {
  ApiStatusError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  type Json,
  type JsonObject,
  type StatusCause,
} from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: EventType;
  typeKey: string;
  namespace: string;
  object: JsonObject;
  /** The object before a MODIFIED event (selectors turn a change in or out of the selection into ADDED/DELETED). */
  prev?: JsonObject;
}

export interface StoreOptions {
  /** Events kept for watches that resume from a resourceVersion; older ones answer 410 Gone. Default 1000. */
  historyLimit?: number;
  /** Service ClusterIPs are allocated from this /24-or-larger IPv4 range. Default 10.96.0.0/16. */
  serviceCidr?: string;
  now?: () => Date;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
export const typeKeyOf = (t: { group: string; plural: string }): string => `${t.group}/${t.plural}`;

export function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj['metadata'])) obj['metadata'] = {};
  return obj['metadata'] as JsonObject;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Everything but metadata and status: what a change of bumps metadata.generation. */
function specPart(obj: JsonObject, withStatus: boolean): string {
  const { metadata: _m, status, ...rest } = obj;
  return JSON.stringify(withStatus ? { ...rest, status } : rest);
}

export type Listener = (ev: StoredEvent) => void;

export class Store {
  rv = 0;
  /** Events with rv <= compactedRv are no longer in the history. */
  compactedRv = 0;
  historyLimit: number;
  readonly history: StoredEvent[] = [];
  readonly types = new Map<string, ResourceType>();
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private readonly listeners = new Set<Listener>();
  private readonly now: () => Date;
  private readonly cidrBase: number;
  private readonly cidrSize: number;
  private nextNodePort = 30000;
  /** Runs after deletes: the garbage collector. Pending work is awaited by `settled()`. */
  private gcPending: Promise<void> = Promise.resolve();

  constructor(opts: StoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 1000;
    this.now = opts.now ?? (() => new Date());
    const [base, bits] = (opts.serviceCidr ?? '10.96.0.0/16').split('/');
    this.cidrBase = ipToInt(base!);
    this.cidrSize = 2 ** (32 - Number(bits));
  }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  addType(t: ResourceType): void {
    this.types.set(typeKeyOf(t), t);
    if (!this.objects.has(typeKeyOf(t))) this.objects.set(typeKeyOf(t), new Map());
  }

  removeType(t: ResourceType): void {
    // Deleting a CRD deletes its custom resources.
    for (const obj of [...(this.objects.get(typeKeyOf(t))?.values() ?? [])]) {
      const md = meta(obj);
      this.remove(t, String(md['namespace'] ?? ''), String(md['name']));
    }
    this.types.delete(typeKeyOf(t));
    this.objects.delete(typeKeyOf(t));
  }

  /** Resolves once the garbage collector has handled every delete so far. */
  settled(): Promise<void> {
    return this.gcPending;
  }

  /** Drops the watch history: every resume from an earlier resourceVersion answers 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  /**
   * Forgets every object and the history (as an API server whose etcd was wiped). The counter moves on, and every
   * earlier resourceVersion becomes too old, so a client resuming a watch gets 410 and relists.
   */
  wipe(): void {
    for (const m of this.objects.values()) m.clear();
    this.rv++;
    this.compact();
  }

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private bucket(t: ResourceType): Map<string, JsonObject> {
    const b = this.objects.get(typeKeyOf(t));
    if (!b) throw notFound(t.group, t.plural, '');
    return b;
  }

  peek(t: ResourceType, ns: string, name: string): JsonObject | undefined {
    return this.bucket(t).get(this.key(t.namespaced ? ns : '', name));
  }

  get(t: ResourceType, ns: string, name: string): JsonObject {
    const o = this.peek(t, ns, name);
    if (!o) throw notFound(t.group, t.plural, name);
    return clone(o);
  }

  list(t: ResourceType, ns: string | undefined): JsonObject[] {
    const out: JsonObject[] = [];
    for (const o of this.bucket(t).values())
      if (ns === undefined || !t.namespaced || meta(o)['namespace'] === ns) out.push(clone(o));
    return out.sort((a, b) => Number(meta(a)['resourceVersion']) - Number(meta(b)['resourceVersion']));
  }

  /** All objects of every kind (for the garbage collector and namespace deletion). */
  private *all(): Generator<{ t: ResourceType; obj: JsonObject }> {
    for (const t of this.types.values()) for (const obj of this.bucket(t).values()) yield { t, obj };
  }

  private record(type: EventType, t: ResourceType, obj: JsonObject, prev?: JsonObject): void {
    const ev: StoredEvent = {
      rv: this.rv,
      type,
      typeKey: typeKeyOf(t),
      namespace: String(meta(obj)['namespace'] ?? ''),
      object: clone(obj),
      ...(prev ? { prev: clone(prev) } : {}),
    };
    this.history.push(ev);
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const l of [...this.listeners]) l(ev);
  }

  private checkNamespace(t: ResourceType, ns: string): void {
    if (!t.namespaced) return;
    const nsType = this.types.get('/namespaces')!;
    const n = this.peek(nsType, '', ns);
    if (!n) throw notFound('', 'namespaces', ns);
    if (meta(n)['deletionTimestamp'])
      throw new ApiStatusError(
        403,
        'Forbidden',
        `${t.plural} "${String(ns)}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
  }

  private validateName(t: ResourceType, name: string): StatusCause[] {
    const max = t.nameIsLabel ? 63 : 253;
    const re = t.nameIsLabel ? DNS_LABEL : DNS_SUBDOMAIN;
    if (name.length > max || !re.test(name))
      return [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 ${t.nameIsLabel ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.' (at most ${max} characters)`,
        },
      ];
    return [];
  }

  /** Checks and defaults `obj` as the type's rules say; throws 422 with every problem found. */
  private admit(t: ResourceType, obj: JsonObject, old: JsonObject | undefined, version: string): JsonObject {
    const md = meta(obj);
    const name = String(md['name'] ?? '');
    const causes: StatusCause[] = [];
    for (const [i, ref] of (Array.isArray(md['ownerReferences']) ? md['ownerReferences'] : []).entries()) {
      if (!isObject(ref) || !ref['apiVersion'] || !ref['kind'] || !ref['name'] || !ref['uid'])
        causes.push({
          reason: 'FieldValueRequired',
          field: `metadata.ownerReferences[${i}]`,
          message: 'Required value: apiVersion, kind, name and uid must be set',
        });
    }
    if (
      md['labels'] !== undefined &&
      (!isObject(md['labels']) || Object.values(md['labels']).some((v) => typeof v !== 'string'))
    )
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'metadata.labels',
        message: 'Invalid value: labels must be strings',
      });
    let out = obj;
    if (t.custom) {
      const schema = t.schemas?.[version];
      if (schema) {
        const r = validateCustomResource(schema, obj);
        out = r.obj;
        causes.push(...r.causes);
      }
    }
    if (typeKeyOf(t) === '/services') causes.push(...this.admitService(out, old));
    if (causes.length) throw invalid(t.kind, t.group, name, causes);
    return out;
  }

  private admitService(obj: JsonObject, old: JsonObject | undefined): StatusCause[] {
    const spec = (isObject(obj['spec']) ? obj['spec'] : (obj['spec'] = {})) as JsonObject;
    const oldSpec = (old && isObject(old['spec']) ? old['spec'] : {}) as JsonObject;
    const causes: StatusCause[] = [];
    spec['type'] ??= 'ClusterIP';
    const type = String(spec['type']);
    if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type))
      causes.push({
        reason: 'FieldValueNotSupported',
        field: 'spec.type',
        message: `Unsupported value: "${type}"`,
      });
    if (old && oldSpec['clusterIP'] !== undefined) {
      if (spec['clusterIP'] === undefined || spec['clusterIP'] === '')
        spec['clusterIP'] = oldSpec['clusterIP']!;
      else if (spec['clusterIP'] !== oldSpec['clusterIP'])
        causes.push({
          reason: 'FieldValueInvalid',
          field: 'spec.clusterIP',
          message: 'Invalid value: field is immutable',
        });
    } else if (type !== 'ExternalName') {
      const want = spec['clusterIP'];
      if (want === undefined || want === '') spec['clusterIP'] = this.allocateIp();
      else if (want !== 'None') {
        const n =
          typeof want === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(want) ? ipToInt(want) - this.cidrBase : -1;
        if (n < 1 || n >= this.cidrSize - 1)
          causes.push({
            reason: 'FieldValueInvalid',
            field: 'spec.clusterIP',
            message: `Invalid value: "${String(want)}": provided IP is not in the valid range`,
          });
        else if (this.ipsInUse().has(String(want)))
          causes.push({
            reason: 'FieldValueInvalid',
            field: 'spec.clusterIP',
            message: `Invalid value: "${String(want)}": provided IP is already allocated`,
          });
      }
    }
    if (spec['clusterIP'] !== undefined) spec['clusterIPs'] = [spec['clusterIP']];
    const ports = Array.isArray(spec['ports']) ? spec['ports'] : [];
    const oldPorts = Array.isArray(oldSpec['ports']) ? oldSpec['ports'] : [];
    ports.forEach((p, i) => {
      if (
        !isObject(p) ||
        !Number.isInteger(p['port']) ||
        (p['port'] as number) < 1 ||
        (p['port'] as number) > 65535
      ) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `spec.ports[${i}].port`,
          message: 'Invalid value: must be between 1 and 65535, inclusive',
        });
        return;
      }
      p['protocol'] ??= 'TCP';
      p['targetPort'] ??= p['port']!;
      if (type === 'NodePort' || type === 'LoadBalancer') {
        const prior = oldPorts.find((q) => isObject(q) && q['port'] === p['port']) as JsonObject | undefined;
        p['nodePort'] ??= prior?.['nodePort'] ?? this.nextNodePort++;
      }
    });
    if (type !== 'ExternalName' && ports.length === 0)
      causes.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
    return causes;
  }

  private ipsInUse(): Set<string> {
    const used = new Set<string>();
    for (const o of this.bucket(this.types.get('/services')!).values()) {
      const ip = (o['spec'] as JsonObject | undefined)?.['clusterIP'];
      if (typeof ip === 'string') used.add(ip);
    }
    return used;
  }

  private allocateIp(): string {
    const used = this.ipsInUse();
    for (let i = 10; i < this.cidrSize - 1; i++) {
      const ip = intToIp(this.cidrBase + i);
      if (!used.has(ip)) return ip;
    }
    throw new ApiStatusError(500, 'InternalError', 'the service IP range is full');
  }

  private initialStatus(t: ResourceType): Json | undefined {
    switch (typeKeyOf(t)) {
      case '/pods':
        return { phase: 'Pending' };
      case '/services':
        return { loadBalancer: {} };
      case '/namespaces':
        return { phase: 'Active' };
      default:
        return undefined;
    }
  }

  create(t: ResourceType, ns: string, body: Json, version: string): JsonObject {
    if (!isObject(body)) throw badRequest('the body must be a JSON object');
    const obj = clone(body);
    const md = meta(obj);
    if (t.namespaced) {
      if (md['namespace'] !== undefined && md['namespace'] !== ns)
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      md['namespace'] = ns;
    } else delete md['namespace'];
    if ((md['name'] === undefined || md['name'] === '') && typeof md['generateName'] === 'string')
      md['name'] = md['generateName'] + randomUUID().slice(0, 5);
    const name = typeof md['name'] === 'string' ? md['name'] : '';
    if (name === '')
      throw invalid(t.kind, t.group, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    const causes = this.validateName(t, name);
    if (causes.length) throw invalid(t.kind, t.group, name, causes);
    this.checkNamespace(t, ns);
    if (this.peek(t, ns, name)) throw alreadyExists(t.group, t.plural, name);
    obj['apiVersion'] = t.group ? `${t.group}/${version}` : version;
    obj['kind'] = t.kind;
    for (const f of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'generation',
      'managedFields',
    ])
      delete md[f];
    if (t.statusSubresource) {
      delete obj['status'];
      const s = this.initialStatus(t);
      if (s !== undefined) obj['status'] = s;
    }
    const admitted = this.admit(t, obj, undefined, version);
    const amd = meta(admitted);
    amd['uid'] = randomUUID();
    amd['creationTimestamp'] = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    if (t.generation) amd['generation'] = 1;
    amd['resourceVersion'] = String(++this.rv);
    this.bucket(t).set(this.key(t.namespaced ? ns : '', name), admitted);
    this.record('ADDED', t, admitted);
    return clone(admitted);
  }

  /**
   * Replaces an object (PUT, or the result of a PATCH). `subresource === 'status'` takes only the status from
   * `body`; a main-resource write keeps the stored status when the type has the status subresource.
   */
  update(
    t: ResourceType,
    ns: string,
    name: string,
    body: Json,
    version: string,
    subresource?: 'status',
    opts: { requireResourceVersion?: boolean } = {},
  ): JsonObject {
    if (!isObject(body)) throw badRequest('the body must be a JSON object');
    const old = this.peek(t, ns, name);
    if (!old) throw notFound(t.group, t.plural, name);
    const bmd = meta(body);
    if (bmd['name'] !== undefined && bmd['name'] !== name)
      throw badRequest(
        `the name of the object (${String(bmd['name'])}) does not match the name on the URL (${name})`,
      );
    const omd = meta(old);
    const rv = bmd['resourceVersion'];
    if (rv === undefined || rv === '') {
      if (t.custom && (opts.requireResourceVersion ?? true))
        throw invalid(t.kind, t.group, name, [
          {
            reason: 'FieldValueInvalid',
            field: 'metadata.resourceVersion',
            message: 'Invalid value: 0x0: must be specified for an update',
          },
        ]);
    } else if (rv !== omd['resourceVersion'])
      throw conflict(
        t.group,
        t.plural,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    if (bmd['uid'] !== undefined && bmd['uid'] !== omd['uid'])
      throw conflict(
        t.group,
        t.plural,
        name,
        `Precondition failed: UID in precondition: ${String(bmd['uid'])}, UID in object meta: ${String(omd['uid'])}`,
      );

    let next: JsonObject;
    if (subresource === 'status') {
      next = clone(old);
      if (body['status'] === undefined) delete next['status'];
      else next['status'] = clone(body['status']);
    } else {
      next = clone(body);
      const nmd = meta(next);
      for (const f of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
        'namespace',
      ])
        if (omd[f] === undefined) delete nmd[f];
        else nmd[f] = omd[f]!;
      if (omd['deletionTimestamp'] !== undefined && Array.isArray(omd['finalizers'])) {
        // While deleting, finalizers may only be removed.
        const kept = new Set(omd['finalizers']);
        if (Array.isArray(nmd['finalizers']) && nmd['finalizers'].some((f) => !kept.has(f)))
          throw new ApiStatusError(
            422,
            'Invalid',
            'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted',
          );
      }
      if (t.statusSubresource) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = clone(old['status']);
      }
    }
    next['apiVersion'] = t.group ? `${t.group}/${version}` : version;
    next['kind'] = t.kind;
    const admitted = this.admit(t, next, old, version);
    const amd = meta(admitted);
    amd['resourceVersion'] = omd['resourceVersion']!;
    if (JSON.stringify(admitted) === JSON.stringify(old)) return clone(old);
    if (t.generation && specPart(admitted, !t.statusSubresource) !== specPart(old, !t.statusSubresource))
      amd['generation'] = Number(omd['generation'] ?? 0) + 1;
    if (
      amd['deletionTimestamp'] !== undefined &&
      (!Array.isArray(amd['finalizers']) || amd['finalizers'].length === 0)
    ) {
      // The last finalizer is gone: the update deletes the object (watchers see DELETED with its final state).
      this.bucket(t).set(this.key(t.namespaced ? ns : '', name), admitted);
      return this.remove(t, ns, name);
    }
    amd['resourceVersion'] = String(++this.rv);
    this.bucket(t).set(this.key(t.namespaced ? ns : '', name), admitted);
    this.record('MODIFIED', t, admitted, old);
    return clone(admitted);
  }

  patch(
    t: ResourceType,
    ns: string,
    name: string,
    type: PatchType,
    body: Json,
    version: string,
    subresource?: 'status',
  ): JsonObject {
    if (type === 'strategic' && t.custom)
      throw new ApiStatusError(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    const old = this.get(t, ns, name);
    const patched = type === 'json' ? jsonPatch(old, body) : mergePatch(old, body);
    if (!isObject(patched)) throw badRequest('the patch does not leave an object');
    // A resourceVersion in the patch is a precondition; otherwise a patch always applies to the latest object.
    return this.update(t, ns, name, patched, version, subresource, { requireResourceVersion: false });
  }

  delete(
    t: ResourceType,
    ns: string,
    name: string,
    opts: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): JsonObject {
    const old = this.peek(t, ns, name);
    if (!old) throw notFound(t.group, t.plural, name);
    const omd = meta(old);
    const pre = opts.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== omd['uid'])
      throw conflict(
        t.group,
        t.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(omd['uid'])}`,
      );
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== omd['resourceVersion'])
      throw conflict(
        t.group,
        t.plural,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    const finalizers = Array.isArray(omd['finalizers']) ? omd['finalizers'] : [];
    if (typeKeyOf(t) === '/namespaces') return this.deleteNamespace(t, name);
    if (finalizers.length > 0) {
      if (omd['deletionTimestamp'] !== undefined) return clone(old);
      const next = clone(old);
      const nmd = meta(next);
      nmd['deletionTimestamp'] = this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      nmd['deletionGracePeriodSeconds'] = 0;
      nmd['resourceVersion'] = String(++this.rv);
      this.bucket(t).set(this.key(t.namespaced ? ns : '', name), next);
      this.record('MODIFIED', t, next, old);
      return clone(next);
    }
    return this.remove(t, ns, name, opts.propagationPolicy);
  }

  /** Removes the object now (no finalizer check) and schedules the garbage collector. */
  private remove(t: ResourceType, ns: string, name: string, propagation = 'Background'): JsonObject {
    const old = this.peek(t, ns, name);
    if (!old) throw notFound(t.group, t.plural, name);
    this.bucket(t).delete(this.key(t.namespaced ? ns : '', name));
    const gone = clone(old);
    meta(gone)['resourceVersion'] = String(++this.rv);
    this.record('DELETED', t, gone);
    if (typeKeyOf(t) === 'apiextensions.k8s.io/customresourcedefinitions') this.onCrdDeleted?.(gone);
    const uid = String(meta(old)['uid']);
    this.gcPending = this.gcPending.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            this.collect(uid, propagation === 'Orphan');
            resolve();
          }),
        ),
    );
    return gone;
  }

  /** Set by the server: a deleted CRD stops serving its kind. */
  onCrdDeleted?: (crd: JsonObject) => void;

  private collect(ownerUid: string, orphan: boolean): void {
    const dependents = [...this.all()].filter(({ obj }) => {
      const refs = meta(obj)['ownerReferences'];
      return Array.isArray(refs) && refs.some((r) => isObject(r) && r['uid'] === ownerUid);
    });
    const existing = new Set<string>();
    for (const { obj } of this.all()) existing.add(String(meta(obj)['uid']));
    for (const { t, obj } of dependents) {
      const md = meta(obj);
      const ns = String(md['namespace'] ?? '');
      const name = String(md['name']);
      const refs = (md['ownerReferences'] as JsonObject[]).filter((r) => r['uid'] !== ownerUid);
      try {
        if (!orphan && refs.every((r) => !existing.has(String(r['uid'])))) this.remove(t, ns, name);
        else {
          const next = clone(obj);
          if (refs.length) meta(next)['ownerReferences'] = refs;
          else delete meta(next)['ownerReferences'];
          this.update(t, ns, name, next, t.versions[0]!, undefined, { requireResourceVersion: false });
        }
      } catch {
        // the dependent went away meanwhile
      }
    }
  }

  private deleteNamespace(t: ResourceType, name: string): JsonObject {
    // The namespace controller's work, done at once: everything in the namespace goes, then the namespace.
    for (const { t: ot, obj } of [...this.all()]) {
      const md = meta(obj);
      if (ot.namespaced && md['namespace'] === name) this.remove(ot, name, String(md['name']));
    }
    return this.remove(t, '', name);
  }
}
