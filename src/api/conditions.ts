/**
 * Status conditions, platform-neutral: the router keeps them for every resource of a host site, the Kubernetes
 * controller writes the same ones into Custom Resource status. Shapes and rules follow the Kubernetes convention
 * (`metav1.Condition`): one entry per type, `lastTransitionTime` changes only when `status` changes, a one-line
 * `message`, a CamelCase `reason`, and the `observedGeneration` of the spec the condition describes.
 */
import type { Condition, ConditionStatus, Kind } from './types.js';

/** The spec was read and accepted (False: the message names the field that is wrong). */
export const CONFIGURED = 'Configured';
/** Listeners and connectors: a peer exists (a connector for a listener's key somewhere, a target for a connector). */
export const MATCHED = 'Matched';
/** The resource does what it says (derived from the kind's required conditions plus its own running state). */
export const READY = 'Ready';

export type ConditionType = typeof CONFIGURED | typeof MATCHED | typeof READY | (string & {});

/** The conditions a kind carries; Ready is True only when all of the others are True. */
export function conditionTypesOf(kind: Kind): readonly ConditionType[] {
  return kind === 'Listener' || kind === 'Connector' ? [CONFIGURED, MATCHED, READY] : [CONFIGURED, READY];
}

/** What a writer wants a condition to be; the transition time is filled in by {@link setCondition}. */
export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** Conditions must stay one line: no control characters, bounded length. */
export const MAX_CONDITION_MESSAGE = 1024;

export function oneLine(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > MAX_CONDITION_MESSAGE ? `${flat.slice(0, MAX_CONDITION_MESSAGE - 1)}…` : flat;
}

/**
 * Returns a new condition list with `update` applied. `lastTransitionTime` is kept when the status does not
 * change (reason, message and generation may still change), and set to `now` when it does or when the type is new.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  const list = conditions ? [...conditions] : [];
  const i = list.findIndex((c) => c.type === update.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    lastTransitionTime:
      prev && prev.status === update.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : now.toISOString(),
  };
  if (update.message !== undefined) next.message = oneLine(update.message);
  if (update.observedGeneration !== undefined) next.observedGeneration = update.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * What a resource's own machinery says besides its conditions: a listener bound its port, a link is up, the
 * grant server serves. False or Unknown holds Ready back like a condition would.
 */
export interface RunningState {
  status: ConditionStatus;
  reason: string;
  message?: string;
}

/**
 * Ready from the kind's other conditions and its running state: False (with the reason and message of the
 * first that fails, in the order Configured, running state, the others) if any is False, Unknown if any is
 * missing or Unknown, else True with `readyReason`.
 */
export function deriveReady(
  kind: Kind,
  conditions: readonly Condition[] | undefined,
  observedGeneration?: number,
  readyReason = 'Ready',
  running?: RunningState,
): ConditionUpdate {
  const base = { type: READY, ...(observedGeneration !== undefined ? { observedGeneration } : {}) } as const;
  let unknown: Condition | undefined;
  const checks: Array<{ type: string; c: Condition | undefined }> = conditionTypesOf(kind)
    .filter((t) => t !== READY)
    .map((type) => ({ type, c: findCondition(conditions, type) }));
  if (running) {
    const own = { type: 'Running', ...running, message: running.message ?? running.reason };
    checks.splice(checks[0]?.type === CONFIGURED ? 1 : 0, 0, { type: own.type, c: own });
  }
  for (const { type, c } of checks) {
    if (c?.status === 'False') {
      return { ...base, status: 'False', reason: c.reason ?? type, message: c.message ?? `${type} is False` };
    }
    if (!c || c.status === 'Unknown') unknown ??= c ?? { type, status: 'Unknown' };
  }
  if (unknown) {
    return {
      ...base,
      status: 'Unknown',
      reason: unknown.reason ?? 'Pending',
      message: unknown.message ?? `${unknown.type} is not known yet`,
    };
  }
  return { ...base, status: 'True', reason: readyReason };
}

/** True when two condition lists say the same (ignoring order); writers use it to skip no-op status updates. */
export function sameConditions(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  return x.every((c) => {
    const d = y.find((e) => e.type === c.type);
    return (
      d !== undefined &&
      d.status === c.status &&
      d.reason === c.reason &&
      d.message === c.message &&
      d.observedGeneration === c.observedGeneration &&
      d.lastTransitionTime === c.lastTransitionTime
    );
  });
}
