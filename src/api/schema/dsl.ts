/**
 * A small declarative schema language for the resource kinds: the one source from which the validator
 * (`checker.ts`), the CRD's structural OpenAPI v3 schema (`crd.ts`) and the field reference (`docs.ts`) are derived.
 * A node says what a field holds, its constraints, its default and its description; the builders keep the literal
 * field names in the types, so a test can prove at compile time that a schema and its TypeScript type agree.
 * Pure: no I/O.
 */

/** A field that only applies when a sibling field (e.g. `type`) has one of these values. */
export interface OnlyFor {
  field: string;
  values: readonly string[];
}

interface NodeBase {
  /** One or more sentences for the docs and the CRD. */
  description: string;
  /** Absent (or null) is an error: `is required` (or `requiredMessage`). */
  required?: boolean;
  requiredMessage?: string;
  /** Refused with `applies only to type X (this one is Y)` when the sibling field has another value. */
  onlyFor?: OnlyFor;
  /** The default as the docs show it, when a per-kind rule computes it (`metadata.name`). */
  docDefault?: string;
}

export interface StringNode extends NodeBase {
  kind: 'string';
  default?: string;
  pattern?: RegExp;
  /** What the pattern means, for messages and docs: `must be a DNS label ...`. */
  patternHelp?: string;
  maxLength?: number;
  /** The empty string is a value (else `must not be empty`). */
  allowEmpty?: boolean;
  /** One message for every way the value can be wrong (type, empty, length, pattern), followed by `(got ...)`. */
  invalid?: string;
  /** A further check of the text; returns the whole message when it fails. */
  check?: (value: string) => string | undefined;
  /** Leading and trailing spaces are dropped from the value kept. */
  trim?: boolean;
  /** OpenAPI format for the CRD (`date-time`). */
  format?: 'date-time';
  /** Type name shown in the docs instead of `string` (`duration`, `host`). */
  docType?: string;
}

export interface IntNode extends NodeBase {
  kind: 'int';
  min: number;
  max: number;
  default?: number;
  /** Replaces `must be an integer MIN-MAX` in messages. */
  invalid?: string;
}

export interface BoolNode extends NodeBase {
  kind: 'bool';
  default?: boolean;
}

export interface EnumNode<V extends string = string> extends NodeBase {
  kind: 'enum';
  values: readonly V[];
  default?: V;
}

export interface ObjectNode<F extends Fields = Fields> extends NodeBase {
  kind: 'object';
  fields: F;
  /** When absent the object is read as `{}`, so its fields' defaults apply. */
  defaulted?: boolean;
  /** Pairs of fields of which at most one may be given: `give either a or b, not both` (at b). */
  exclusive?: readonly (readonly [string, string])[];
  /** Pairs of fields given both or neither: `give a and b together` (at the missing one). */
  together?: readonly (readonly [string, string])[];
}

/** A size limit's message: `must name 2-16 routing keys (got 1)`. */
export type SizeMessage = (count: number) => string;

export interface ListNode extends NodeBase {
  kind: 'list';
  items: Node;
  minItems?: number;
  maxItems?: number;
  /** Message (before `(got ...)`) for a value that is not a list. Default `must be a list`. */
  notList?: string;
  /** Message when the list has too few or too many items; default: the notList message. */
  sizeMessage?: SizeMessage;
}

export interface MapNode extends NodeBase {
  kind: 'map';
  /** Each key is checked as this string; a bad key is reported at the map's path. */
  keys: StringNode;
  values: Node;
  minItems?: number;
  maxItems?: number;
  /** Message (before `(got ...)`) for a value that is not a mapping. */
  notMap?: string;
  sizeMessage?: SizeMessage;
}

export type Node = StringNode | IntNode | BoolNode | EnumNode | ObjectNode | ListNode | MapNode;
export type Fields = Record<string, Node>;

type Opts<N extends Node> = Omit<N, 'kind' | 'fields' | 'items' | 'values' | 'keys'>;

export function str(opts: Opts<StringNode>): StringNode {
  return { kind: 'string', ...opts };
}

export function int(opts: Opts<IntNode>): IntNode {
  return { kind: 'int', ...opts };
}

export function bool(opts: Opts<BoolNode>): BoolNode {
  return { kind: 'bool', ...opts };
}

export function oneOf<V extends string>(
  values: readonly V[],
  opts: Omit<EnumNode<V>, 'kind' | 'values'>,
): EnumNode<V> {
  return { kind: 'enum', values, ...opts } as EnumNode<V>;
}

export function obj<F extends Fields>(fields: F, opts: Opts<ObjectNode>): ObjectNode<F> {
  return { kind: 'object', fields, ...opts };
}

export function list(items: Node, opts: Opts<ListNode>): ListNode {
  return { kind: 'list', items, ...opts };
}

export function map(keys: StringNode, values: Node, opts: Opts<MapNode>): MapNode {
  return { kind: 'map', keys, values, ...opts };
}

/** The same node with other options (a shared node that is required here, or described differently). */
export function withOpts<N extends Node>(node: N, opts: Partial<Opts<N>>): N {
  return { ...node, ...opts };
}

/** `type udp` or `types http2 and amqp` or `types tcp, http1 and http2`. */
export function typesText(field: string, values: readonly string[]): string {
  if (values.length === 1) return `${field} ${values[0]}`;
  return `${field}s ${values.slice(0, -1).join(', ')} and ${values[values.length - 1]}`;
}

/** A printer column of the CRD (`kubectl get`). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}
