/**
 * The one writer of status conditions on a host site. The router tells it what it observes about each
 * resource (its spec was accepted or not, a peer exists, its own machinery runs); the keeper turns that into
 * `Configured`, `Matched` (listeners, connectors) and `Ready` with the Kubernetes transition rules of
 * api/conditions.ts, stamped with the injected clock. The Kubernetes controller feeds the same observations and
 * writes the same conditions into Custom Resource status.
 */
import {
  CONFIGURED,
  MATCHED,
  conditionTypesOf,
  deriveReady,
  setCondition,
  type ConditionUpdate,
  type RunningState,
} from '../api/conditions.js';
import type { Condition, ConditionStatus, Kind } from '../api/index.js';
import type { Clock } from '../clock.js';

/** What the router knows about one resource right now. */
export interface Observation {
  kind: Kind;
  name: string;
  /** metadata.generation of the spec observed (the newest one read, applied or not) */
  generation?: number;
  /** why the spec is not applied: one line naming the field (absent: the spec was accepted) */
  invalid?: string;
  /** why a valid spec is applied only in part until the router restarts (one line naming the fields) */
  pending?: string;
  /** listeners and connectors: whether the other end exists */
  matched?: { status: ConditionStatus; reason: string; message: string };
  /** the resource's own machinery (port bound, link up, server serving); absent: nothing beyond the spec */
  running?: RunningState;
}

export interface ResourceConditions {
  kind: Kind;
  name: string;
  generation?: number;
  conditions: Condition[];
}

const keyOf = (kind: string, name: string): string => `${kind}/${name}`;

export class StatusKeeper {
  private readonly entries = new Map<string, ResourceConditions>();

  constructor(private readonly clock: Clock) {}

  /**
   * Brings the conditions of every resource in line with `observations`; resources not listed are forgotten
   * (deleted). Returns the resources whose conditions changed (status, reason, message or generation).
   */
  observe(observations: readonly Observation[]): ResourceConditions[] {
    const now = new Date(this.clock.now());
    const seen = new Set<string>();
    const changed: ResourceConditions[] = [];
    for (const o of observations) {
      const key = keyOf(o.kind, o.name);
      seen.add(key);
      const prev = this.entries.get(key);
      const next = this.conditionsOf(o, prev?.conditions ?? [], now);
      const entry: ResourceConditions = {
        kind: o.kind,
        name: o.name,
        ...(o.generation !== undefined ? { generation: o.generation } : {}),
        conditions: next,
      };
      if (!prev || !sameContent(prev.conditions, next)) changed.push(entry);
      this.entries.set(key, entry);
    }
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.entries.delete(key);
    return changed;
  }

  conditions(kind: Kind, name: string): Condition[] | undefined {
    return this.entries.get(keyOf(kind, name))?.conditions;
  }

  list(): ResourceConditions[] {
    return [...this.entries.values()];
  }

  private conditionsOf(o: Observation, prev: readonly Condition[], now: Date): Condition[] {
    const gen = o.generation !== undefined ? { observedGeneration: o.generation } : {};
    const updates: ConditionUpdate[] = [
      o.invalid !== undefined
        ? { type: CONFIGURED, status: 'False', reason: 'InvalidSpec', message: o.invalid, ...gen }
        : o.pending !== undefined
          ? { type: CONFIGURED, status: 'False', reason: 'RestartRequired', message: o.pending, ...gen }
          : {
              type: CONFIGURED,
              status: 'True',
              reason: 'Valid',
              message: 'the spec is valid and applied',
              ...gen,
            },
    ];
    if (conditionTypesOf(o.kind).includes(MATCHED)) {
      updates.push(
        o.invalid !== undefined
          ? {
              type: MATCHED,
              status: 'Unknown',
              reason: 'InvalidSpec',
              message: 'the spec is not applied',
              ...gen,
            }
          : o.matched
            ? { type: MATCHED, ...o.matched, ...gen }
            : { type: MATCHED, status: 'Unknown', reason: 'Pending', message: 'not observed yet', ...gen },
      );
    }
    let list = [...prev];
    for (const u of updates) list = setCondition(list, u, now);
    // a spec that is not applied: the running state is that of the previous spec, which Ready does not vouch for
    const running = o.invalid !== undefined ? undefined : o.running;
    list = setCondition(list, deriveReady(o.kind, list, o.generation, 'Ready', running), now);
    return list;
  }
}

/** Same type, status, reason, message and generation (transition times aside). */
function sameContent(a: readonly Condition[], b: readonly Condition[]): boolean {
  return (
    a.length === b.length &&
    a.every((c) => {
      const d = b.find((x) => x.type === c.type);
      return (
        d !== undefined &&
        d.status === c.status &&
        d.reason === c.reason &&
        d.message === c.message &&
        d.observedGeneration === c.observedGeneration
      );
    })
  );
}
