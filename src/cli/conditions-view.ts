/**
 * Status conditions as the CLI shows them: taken from the router's status snapshot (`resources[]`), printed in
 * `-o json|yaml` as `status.conditions[]` like a Kubernetes Custom Resource, and as a READY column and a
 * Conditions block in tables and details.
 */
import type { ResourceStatusView, StatusSnapshot } from '../admin/types.js';
import type { Condition } from '../api/index.js';
import type { Output } from './output.js';

/** `{generation?, status: {conditions}}` of one resource, or nothing when the router is stopped. */
export function resourceStatus(
  status: StatusSnapshot | undefined,
  kind: string,
  name: string,
): { generation?: number; status?: ResourceStatusView['status'] } {
  const v = status?.resources?.find((r) => r.kind === kind && r.name === name);
  if (!v) return {};
  return { ...(v.generation !== undefined ? { generation: v.generation } : {}), status: v.status };
}

/** Resources of `kind` the router knows but the site directory cannot read (their spec is invalid). */
export function rejectedOnly(
  status: StatusSnapshot | undefined,
  kind: string,
  known: readonly string[],
): ResourceStatusView[] {
  return (status?.resources ?? []).filter((r) => r.kind === kind && !known.includes(r.name));
}

/** The READY column: `yes`, `no (PortInUse)`, `unknown (Connecting)`, or `-` when the router is stopped. */
export function readyText(out: Output, conditions: readonly Condition[] | undefined): string {
  const c = conditions?.find((x) => x.type === 'Ready');
  if (!c) return '-';
  if (c.status === 'True') return out.state('yes');
  return `${out.state(c.status === 'False' ? 'no' : 'unknown')} (${c.reason ?? '?'})`;
}

/** Detail lines: one per condition, `Configured  True  Valid: the spec is valid and applied (generation 2)`. */
export function conditionPairs(conditions: readonly Condition[] | undefined): Array<[string, string]> {
  if (!conditions?.length) return [];
  return [
    ['Conditions', ''],
    ...conditions.map((c): [string, string] => [
      `  ${c.type}`,
      `${c.status} ${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}${
        c.observedGeneration !== undefined ? ` (generation ${c.observedGeneration})` : ''
      }${c.lastTransitionTime ? ` since ${c.lastTransitionTime}` : ''}`,
    ]),
  ];
}
