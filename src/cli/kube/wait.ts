/** Waiting for the router of a namespace to write something into a Custom Resource's status. */
import type { Condition, Kind } from '../../api/index.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { CaravanObject } from '../../kube/reconcile/index.js';
import type { KubeTarget } from './connect.js';
import { getCr } from './crs.js';

const POLL_MS = 250;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a poll found: done (with a value), failed (the router refused, with why), or not yet. */
export type Poll<T> = { done: T } | { failed: CaravanError } | undefined;

/**
 * Reads `kind/name` until `check` says done or failed, for at most `seconds`. On timeout: KUBE_TIMEOUT naming what
 * was awaited and the last conditions seen; with no status at all it says the router may not be running.
 */
export async function waitForStatus<T>(
  t: KubeTarget,
  kind: Kind,
  name: string,
  seconds: number,
  awaited: string,
  check: (o: CaravanObject | undefined) => Poll<T> | Promise<Poll<T>>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: CaravanObject | undefined;
  for (;;) {
    last = await getCr(t, kind, name);
    const r = await check(last);
    if (r && 'done' in r) return r.done;
    if (r && 'failed' in r) throw r.failed;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  const conds = last?.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const why = ready
    ? `its Ready condition says ${ready.status} ${ready.reason ?? ''}${ready.message ? `: ${ready.message}` : ''}`
    : `it has no status: the router of namespace ${t.namespace} may not be running (kubectl -n ${t.namespace} get pods -l app.kubernetes.io/name=caravan-router)`;
  throw new CaravanError(
    ErrorCodes.KUBE_TIMEOUT,
    `timed out after ${seconds} s waiting for ${awaited}; ${why}`,
  );
}

export function falseCondition(
  o: CaravanObject | undefined,
  type: string,
  reasons?: readonly string[],
): Condition | undefined {
  const c = o?.status?.conditions?.find((x) => x.type === type);
  if (!c || c.status !== 'False') return undefined;
  return reasons === undefined || reasons.includes(c.reason ?? '') ? c : undefined;
}
