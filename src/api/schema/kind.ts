/** What the schema of one kind is made of: its spec and status nodes, CRD names and columns, cross-field rules. */
import type { Kind, ObjectMeta } from '../types.js';
import type { Checker, Obj } from './checker.js';
import type { ObjectNode, PrinterColumn } from './dsl.js';

/** What a kind's cross-field rules see. */
export interface FinishContext {
  meta: ObjectMeta;
  /** The checked spec with defaults applied; rules fill in computed defaults and drop refused fields in place. */
  spec: Obj;
  /** The spec as written (to tell a field given from one defaulted). */
  raw: Obj;
}

export interface KindSchema<K extends Kind = Kind> {
  kind: K;
  /** Plural resource name of the CRD (`listeners`). */
  plural: string;
  shortNames?: readonly string[];
  /** What the kind is, for the docs and the CRD. */
  description: string;
  spec: ObjectNode;
  status: ObjectNode;
  /** Extra columns of `kubectl get`. */
  columns: readonly PrinterColumn[];
  /** The rules a schema cannot say (one field's default or validity depends on another's value). */
  finish?(c: Checker, ctx: FinishContext): void;
}

/** `.status.conditions[?(@.type=="Ready")].status` as a column. */
export function conditionColumn(type: string): PrinterColumn {
  return { name: type, type: 'string', jsonPath: `.status.conditions[?(@.type=="${type}")].status` };
}
