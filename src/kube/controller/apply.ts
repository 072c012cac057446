/**
 * Applies the reconcile core's actions through the Kubernetes API, in order: create Secrets (generating keys and
 * certificates first when the action asks), create/update/delete Services, write statuses. Each action stands
 * alone: a failure is logged and counted and the others go on; the loop retries with backoff by reconciling
 * again. A 409 on a Service update re-reads the Service and writes Caravan's fields onto the fresh version; a 409
 * on a status write (the object changed since the watch saw it) marks the result stale, and the loop reconciles
 * again on the fresh object. An object that already exists (create) or is already gone (delete) is no failure.
 */
import { API_VERSION } from '../../api/index.js';
import { ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { KubeApi, KubeObject } from '../api.js';
import { mergeService } from '../reconcile/diff.js';
import type { Action, SecretMaterial, SecretObject, ServiceObject } from '../reconcile/index.js';
import { kindRef, SECRETS, SERVICES } from './refs.js';

/** Fills the data of a Secret the core cannot make (keys, certificates): base64 values by key. */
export type SecretGenerator = (
  material: SecretMaterial,
  secrets: readonly SecretObject[],
) => Promise<Record<string, string>> | Record<string, string>;

export interface ApplyResult {
  applied: number;
  failed: number;
  /** a conflict or a stale cache: reconcile again once the watches caught up */
  stale: boolean;
}

const code = (e: unknown): string | undefined => (isCaravanError(e) ? e.code : undefined);

export const describeAction = (a: Action): string =>
  a.op === 'status'
    ? `status ${a.kind}/${a.name}`
    : a.op === 'delete'
      ? `delete ${a.kind}/${a.name}`
      : `${a.op} ${a.kind}/${a.object.metadata.name}`;

export class ActionApplier {
  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly generate?: SecretGenerator,
  ) {}

  async applyAll(actions: readonly Action[], secrets: readonly SecretObject[]): Promise<ApplyResult> {
    const r: ApplyResult = { applied: 0, failed: 0, stale: false };
    // Secrets made earlier in this round count (the server certificate is signed by the CA made just before)
    const known: SecretObject[] = [...secrets];
    for (const a of actions) {
      try {
        const outcome = await this.apply(a, known);
        if (outcome === 'stale') r.stale = true;
        else r.applied++;
        this.log.debug('action applied', { action: describeAction(a), outcome });
      } catch (e) {
        r.failed++;
        this.log.warn('action failed; retried at the next reconcile', {
          action: describeAction(a),
          code: code(e),
          error: errorMessage(e),
        });
      }
    }
    return r;
  }

  private async apply(a: Action, secrets: SecretObject[]): Promise<'done' | 'stale'> {
    const ns = this.namespace;
    if (a.op === 'create' && a.kind === 'Secret') {
      let obj: SecretObject = a.object;
      if (a.generate) {
        if (!this.generate) throw new Error(`cannot make ${a.generate.kind} material in this build`);
        obj = { ...obj, data: { ...obj.data, ...(await this.generate(a.generate, secrets)) } };
      }
      const outcome = await this.create(SECRETS, obj);
      if (outcome === 'done') secrets.push(obj);
      return outcome;
    }
    if (a.op === 'create' && a.kind === 'Service') return this.create(SERVICES, a.object);
    if (a.op === 'update') {
      try {
        await this.api.update(SERVICES, ns, a.object);
        return 'done';
      } catch (e) {
        if (code(e) !== ErrorCodes.KUBE_CONFLICT) throw e;
        const fresh = await this.api.get<ServiceObject & KubeObject>(SERVICES, ns, a.object.metadata.name);
        await this.api.update(SERVICES, ns, mergeService(fresh, a.object));
        return 'done';
      }
    }
    if (a.op === 'delete') {
      try {
        await this.api.delete(
          SERVICES,
          ns,
          a.name,
          a.uid !== undefined ? { preconditions: { uid: a.uid } } : {},
        );
        return 'done';
      } catch (e) {
        // gone already, or a new object of that name (the precondition failed): the next reconcile decides
        if (code(e) === ErrorCodes.KUBE_NOT_FOUND) return 'done';
        if (code(e) === ErrorCodes.KUBE_CONFLICT) return 'stale';
        throw e;
      }
    }
    // status
    const ref = kindRef(a.kind);
    const body = (resourceVersion: string | undefined): KubeObject & { status: unknown } => ({
      apiVersion: API_VERSION,
      kind: a.kind,
      metadata: {
        name: a.name,
        namespace: ns,
        ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      },
      status: a.status,
    });
    try {
      await this.api.updateStatus(ref, ns, body(a.resourceVersion));
      return 'done';
    } catch (e) {
      // deleted meanwhile, or written by someone else since the watch saw it: the status was computed from an
      // old object, so it is not forced onto the new one; the next reconcile computes it from the fresh object
      if (code(e) === ErrorCodes.KUBE_NOT_FOUND || code(e) === ErrorCodes.KUBE_CONFLICT) return 'stale';
      throw e;
    }
  }

  private async create(ref: typeof SERVICES, obj: KubeObject): Promise<'done' | 'stale'> {
    try {
      await this.api.create(ref, this.namespace, obj);
      return 'done';
    } catch (e) {
      // made meanwhile (by us before a restart, or by someone else): the watch will show it
      if (code(e) === ErrorCodes.KUBE_ALREADY_EXISTS) return 'stale';
      throw e;
    }
  }
}
