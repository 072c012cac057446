/**
 * Status of one resource from what the reconcile found: Configured, Matched (listeners, connectors) and Ready,
 * each with a reason and a one-line message, the resource's generation as observedGeneration, transition times
 * kept while a status holds (setCondition). Fields of the status the core does not own (a grant's url, ...)
 * stay as they are. Pure.
 */
import {
  CONFIGURED,
  MATCHED,
  READY,
  deriveReady,
  setCondition,
  type ConditionUpdate,
} from '../../api/conditions.js';
import type { Condition, Kind } from '../../api/index.js';
import { stableJson } from './diff.js';
import type { CaravanObject, CaravanStatus } from './objects.js';

/** One condition's status, reason and message (generation is added here). */
export interface Verdict {
  status: Condition['status'];
  reason: string;
  message?: string;
}

export const ok = (reason: string, message?: string): Verdict => ({
  status: 'True',
  reason,
  ...(message !== undefined ? { message } : {}),
});
export const bad = (reason: string, message: string): Verdict => ({ status: 'False', reason, message });
export const unknown = (reason: string, message: string): Verdict => ({ status: 'Unknown', reason, message });

export interface Findings {
  configured: Verdict;
  /** listeners and connectors */
  matched?: Verdict;
  /**
   * What the resource's own running state says, once Configured (and Matched) are True: True, or why not
   * (a bind failure, a link down, a pending address). Absent: Ready follows the other conditions.
   */
  running?: Verdict;
  /** Status fields besides conditions the core owns for this kind (`linkAccess` of a Site); undefined removes. */
  fields?: Record<string, unknown>;
}

/** The new status of `obj`, and whether it differs from what is stored. */
export function statusOf(
  obj: CaravanObject,
  f: Findings,
  now: Date,
): { status: CaravanStatus; changed: boolean } {
  const gen = obj.metadata.generation;
  const upd = (type: string, v: Verdict): ConditionUpdate => ({
    type,
    status: v.status,
    reason: v.reason,
    ...(v.message !== undefined ? { message: v.message } : {}),
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
  });
  const prev = obj.status?.conditions;
  let conditions = setCondition(prev, upd(CONFIGURED, f.configured), now);
  if (f.matched && (obj.kind === 'Listener' || obj.kind === 'Connector'))
    conditions = setCondition(conditions, upd(MATCHED, f.matched), now);
  let ready = deriveReady(obj.kind as Kind, conditions, gen);
  if (ready.status === 'True' && f.running) ready = upd(READY, f.running);
  else if (ready.status !== 'False' && f.running?.status === 'False') ready = upd(READY, f.running);
  conditions = setCondition(conditions, ready, now);

  const status: CaravanStatus = { ...(obj.status ?? {}), conditions };
  for (const [k, v] of Object.entries(f.fields ?? {})) {
    if (v === undefined) delete status[k];
    else status[k] = v;
  }
  const before = obj.status ?? {};
  return { status, changed: stableJson(before) !== stableJson(status) };
}
