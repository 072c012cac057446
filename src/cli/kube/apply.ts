/**
 * `apply -f --kube` and `delete -f --kube`: the YAML documents the host verbs take, validated first by the same
 * validator (plus the Kubernetes-only fields, as the router checks them: `checkKubeDocument`), then written as
 * Custom Resources of the namespace. Nothing is sent while any document is invalid. A resource is created, or
 * updated on the version just read (`configured`), or left alone when the spec and labels are already as written
 * (`unchanged`); a write that loses a race (409) is retried once on a fresh read. The spec sent is the one the
 * user wrote, not the defaulted one: the router applies the defaults, so the API object says what the user wrote.
 */
import { ResourceError, type Resource, type ResourceIssue } from '../../api/index.js';
import { ErrorCodes, isCaravanError } from '../../errors.js';
import { stableJson } from '../../kube/reconcile/diff.js';
import type { CaravanObject } from '../../kube/reconcile/index.js';
import { checkKubeDocument } from '../../kube/reconcile/spec.js';
import { optBool, optList, type Context } from '../command.js';
import { readInputs, type ApplyAction, type InputResource } from '../resources.js';
import { kubeTarget, type KubeTarget } from './connect.js';
import { createCr, deleteCr, getCr, newCr, updateCr } from './crs.js';
import { namespaceSite } from './site.js';

export interface KubeApplyResult {
  kind: string;
  name: string;
  action: ApplyAction;
  namespace: string;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const label = (r: Resource): string => `${r.kind} "${r.metadata.name}"`;

function readKubeInputs(ctx: Context): Promise<InputResource[]> {
  return readInputs(optList(ctx, 'filename'), ctx.cwd, ctx.readStdin, {
    check: checkKubeDocument,
    numberDocuments: true,
  });
}

/** The Custom Resource a document becomes: its name, labels and spec as written. */
function desiredObject(i: InputResource, namespace: string): CaravanObject {
  const raw = isObj(i.raw) ? i.raw : {};
  const spec = isObj(raw['spec']) ? raw['spec'] : {};
  const obj = newCr(i.resource.kind, i.resource.metadata.name, namespace, structuredClone(spec));
  obj.metadata.labels = { ...obj.metadata.labels, ...(i.resource.metadata.labels ?? {}) };
  return obj;
}

/** The spec as written and the user's labels are already there. */
function alreadyAsWritten(cur: CaravanObject, i: InputResource): boolean {
  const raw = isObj(i.raw) ? i.raw : {};
  const labels = cur.metadata.labels ?? {};
  return (
    stableJson(cur.spec ?? {}) === stableJson(raw['spec'] ?? {}) &&
    Object.entries(i.resource.metadata.labels ?? {}).every(([k, v]) => labels[k] === v)
  );
}

const lostRace = (e: unknown): boolean =>
  isCaravanError(e) && (e.code === ErrorCodes.KUBE_CONFLICT || e.code === ErrorCodes.KUBE_ALREADY_EXISTS);

async function applyOne(t: KubeTarget, i: InputResource): Promise<ApplyAction> {
  const { kind, metadata } = i.resource;
  for (let attempt = 0; ; attempt++) {
    const cur = await getCr(t, kind, metadata.name);
    try {
      if (!cur) {
        await createCr(t, desiredObject(i, t.namespace));
        return 'created';
      }
      if (alreadyAsWritten(cur, i)) return 'unchanged';
      const want = desiredObject(i, t.namespace);
      await updateCr(t, {
        ...cur,
        kind,
        metadata: {
          ...cur.metadata,
          labels: { ...(cur.metadata.labels ?? {}), ...(i.resource.metadata.labels ?? {}) },
        },
        spec: want.spec,
      });
      return 'configured';
    } catch (e) {
      // made or changed by someone else between the read and the write: read again, once
      if (attempt === 0 && lostRace(e)) continue;
      throw e;
    }
  }
}

/** A namespace runs one Site: a Site of another name than the namespace's own is refused before anything is sent. */
async function checkOneSite(t: KubeTarget, inputs: readonly InputResource[]): Promise<void> {
  const sites = inputs.filter((i) => i.resource.kind === 'Site');
  if (sites.length === 0) return;
  const existing = (await namespaceSite(t))?.metadata.name ?? sites[0]!.resource.metadata.name;
  const issues: ResourceIssue[] = sites
    .filter((s) => s.resource.metadata.name !== existing)
    .map((s) => ({
      source: s.source,
      resource: label(s.resource),
      path: 'metadata.name',
      message: `namespace ${t.namespace} holds exactly one Site, and it is "${existing}"`,
    }));
  if (issues.length > 0) throw new ResourceError(issues);
}

export async function kubeApply(ctx: Context): Promise<void> {
  const inputs = await readKubeInputs(ctx);
  const t = await kubeTarget(ctx);
  await checkOneSite(t, inputs);
  const results: KubeApplyResult[] = [];
  for (const i of inputs) {
    const action = await applyOne(t, i);
    results.push({ kind: i.resource.kind, name: i.resource.metadata.name, action, namespace: t.namespace });
  }
  ctx.out.emit(results, () => {
    for (const r of results) ctx.out.line(`${r.kind}/${r.name} ${r.action}`);
  });
}

export async function kubeDeleteFiles(ctx: Context): Promise<void> {
  const inputs = await readKubeInputs(ctx);
  const issues: ResourceIssue[] = inputs
    .filter((i) => i.resource.kind === 'Site')
    .map((i) => ({
      source: i.source,
      resource: label(i.resource),
      path: 'kind',
      message: `a namespace's Site is deleted with 'caravan site delete --kube', not by delete -f`,
    }));
  if (issues.length > 0) throw new ResourceError(issues);
  const t = await kubeTarget(ctx);
  const ignore = optBool(ctx, 'ignore-not-found');
  // every resource must exist (unless --ignore-not-found) before any is deleted
  const present: boolean[] = [];
  for (const i of inputs) {
    const found = (await getCr(t, i.resource.kind, i.resource.metadata.name)) !== undefined;
    present.push(found);
    if (!found && !ignore)
      issues.push({
        source: i.source,
        resource: label(i.resource),
        path: 'metadata.name',
        message: `not found in namespace ${t.namespace}`,
      });
  }
  if (issues.length > 0) throw new ResourceError(issues);
  const results: Array<{ kind: string; name: string; action: 'deleted' | 'not found'; namespace: string }> =
    [];
  for (const [n, i] of inputs.entries()) {
    const { kind, metadata } = i.resource;
    let action: 'deleted' | 'not found' = 'not found';
    if (present[n]) {
      try {
        await deleteCr(t, kind, metadata.name);
        action = 'deleted';
      } catch (e) {
        // gone meanwhile: what was asked for holds
        if (!(isCaravanError(e) && e.code === ErrorCodes.KUBE_NOT_FOUND)) throw e;
      }
    }
    results.push({ kind, name: metadata.name, action, namespace: t.namespace });
  }
  ctx.out.emit(results, () => {
    for (const r of results) ctx.out.line(`${r.kind}/${r.name} ${r.action}`);
  });
}
