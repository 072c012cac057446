/**
 * The checker: walks a parsed document along a schema node, collecting every problem (each naming its field path)
 * and returning the value with defaults applied. It knows nothing of the kinds; their cross-field rules run after
 * it (`KindSchema.finish`). Pure: no I/O.
 */
import type { ResourceIssue } from '../errors.js';
import {
  typesText,
  type IntNode,
  type ListNode,
  type MapNode,
  type Node,
  type ObjectNode,
  type StringNode,
} from './dsl.js';
import { describeValue, isPlainObject, joinPath, suggestion } from './messages.js';

export type Obj = Record<string, unknown>;

const absent = (v: unknown): v is undefined | null => v === undefined || v === null;

/** `>= 1` for an unbounded maximum, else `1-65535`. */
export function rangeText(n: { min: number; max: number }): string {
  return n.max >= Number.MAX_SAFE_INTEGER ? `>= ${n.min}` : `${n.min}-${n.max}`;
}

export class Checker {
  readonly issues: ResourceIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /**
   * Checks `value` against `node` at `path`. Absent values give the node's default (an error when required); a
   * wrong value is reported and gives the default too, so checking goes on and every problem is found.
   */
  decode(node: Node, value: unknown, path: string): unknown {
    if (absent(value)) {
      if (node.required) {
        this.add(path, node.requiredMessage ?? 'is required');
        return undefined;
      }
      if (node.kind === 'object' && node.defaulted) return this.object(node, {}, path);
      return 'default' in node ? node.default : undefined;
    }
    switch (node.kind) {
      case 'string':
        return this.string(node, value, path);
      case 'int':
        return this.int(node, value, path);
      case 'bool':
        if (typeof value === 'boolean') return value;
        this.add(path, `must be true or false (got ${describeValue(value)})`);
        return node.default;
      case 'enum':
        if (typeof value === 'string' && node.values.includes(value)) return value;
        this.add(path, `must be one of: ${node.values.join(', ')} (got ${describeValue(value)})`);
        return node.default;
      case 'object':
        return this.object(node, value, path);
      case 'list':
        return this.list(node, value, path);
      case 'map':
        return this.map(node, value, path);
    }
  }

  private string(node: StringNode, v: unknown, path: string): string | undefined {
    const fail = (message: string): undefined => {
      this.add(path, node.invalid ? `${node.invalid} (got ${describeValue(v)})` : message);
      return node.default as undefined;
    };
    if (typeof v !== 'string') return fail(`must be a string (got ${describeValue(v)})`);
    if (v.length === 0 && !node.allowEmpty) return fail('must not be empty');
    if (node.maxLength !== undefined && v.length > node.maxLength)
      return fail(`must be at most ${node.maxLength} characters (got ${v.length})`);
    if (node.pattern && !node.pattern.test(v)) {
      const help = node.patternHelp ?? node.invalid ?? `must match ${node.pattern.source}`;
      this.add(path, `${help} (got ${describeValue(v)})`);
      return node.default;
    }
    const problem = node.check?.(v);
    if (problem !== undefined) {
      this.add(path, problem);
      return node.default;
    }
    return node.trim ? v.trim() : v;
  }

  private int(node: IntNode, v: unknown, path: string): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < node.min || v > node.max) {
      const what = node.invalid ?? `must be an integer ${rangeText(node)}`;
      this.add(path, `${what} (got ${describeValue(v)})`);
      return node.default;
    }
    return v;
  }

  /** Reports every key of `v` that is not in `known`, with a suggestion when one is close. */
  unknownFields(v: Obj, path: string, known: readonly string[]): void {
    for (const key of Object.keys(v)) {
      if (known.includes(key)) continue;
      const knownList = known.length
        ? ` (known fields: ${known.join(', ')})`
        : ' (no fields are allowed here)';
      this.add(joinPath(path, key), `unknown field${suggestion(key, known)}${knownList}`);
    }
  }

  /** A mapping with only the node's fields, in the node's order (fields that stay absent are left out). */
  private object(node: ObjectNode, v: unknown, path: string): Obj | undefined {
    if (!isPlainObject(v)) {
      this.add(path, `must be a mapping (got ${describeValue(v)})`);
      return undefined;
    }
    const known = Object.keys(node.fields);
    this.unknownFields(v, path, known);
    const skip = new Set<string>();
    for (const [a, b] of node.exclusive ?? []) {
      if (!absent(v[a]) && !absent(v[b])) {
        this.add(joinPath(path, b), `give either ${a} or ${b}, not both`);
        skip.add(a).add(b);
      }
    }
    // every field gets its slot now, so the order stays the schema's when a rule fills one in later
    const out: Obj = Object.fromEntries(known.map((k) => [k, undefined]));
    const entries = Object.entries(node.fields);
    // fields that apply only for some value of a sibling come second: the sibling (with its default) is known then
    for (const [key, field] of [
      ...entries.filter(([, f]) => !f.onlyFor),
      ...entries.filter(([, f]) => f.onlyFor),
    ]) {
      if (skip.has(key)) continue;
      const p = joinPath(path, key);
      const only = field.onlyFor;
      if (only && !absent(v[key])) {
        const actual = out[only.field];
        if (typeof actual !== 'string' || !only.values.includes(actual)) {
          this.add(
            p,
            `applies only to ${typesText(only.field, only.values)} (this one is ${String(actual)})`,
          );
          continue;
        }
      }
      out[key] = this.decode(field, v[key], p);
    }
    for (const [a, b] of node.together ?? []) {
      if ((out[a] === undefined) !== (out[b] === undefined) && !skip.has(a))
        this.add(joinPath(path, out[a] === undefined ? a : b), `give ${a} and ${b} together`);
    }
    return out;
  }

  private sizeOk(node: ListNode | MapNode, n: number): boolean {
    return (
      !(node.minItems !== undefined && n < node.minItems) &&
      !(node.maxItems !== undefined && n > node.maxItems)
    );
  }

  private list(node: ListNode, v: unknown, path: string): unknown[] | undefined {
    const notList = `${node.notList ?? 'must be a list'} (got ${describeValue(v)})`;
    if (!Array.isArray(v)) {
      this.add(path, notList);
      return undefined;
    }
    // a list that is too short because it is empty says so before its items are looked at
    if (v.length === 0 && !this.sizeOk(node, 0)) {
      this.add(path, node.sizeMessage?.(0) ?? notList);
      return undefined;
    }
    const out: unknown[] = [];
    v.forEach((item: unknown, i) => {
      const p = joinPath(path, i);
      if (absent(item)) return this.add(p, 'is required');
      const d = this.decode(node.items, item, p);
      if (d !== undefined) out.push(d);
    });
    if (!this.sizeOk(node, v.length)) this.add(path, node.sizeMessage?.(v.length) ?? notList);
    return out;
  }

  private map(node: MapNode, v: unknown, path: string): Obj | undefined {
    if (!isPlainObject(v)) {
      this.add(path, `${node.notMap ?? 'must be a mapping'} (got ${describeValue(v)})`);
      return undefined;
    }
    const out: Obj = {};
    for (const [k, value] of Object.entries(v)) {
      const key = this.string(node.keys, k, path);
      const d = this.decode(node.values, value, joinPath(path, k));
      if (key !== undefined && d !== undefined) out[key] = d;
    }
    const n = Object.keys(v).length;
    if (!this.sizeOk(node, n))
      this.add(
        path,
        node.sizeMessage?.(n) ?? `${node.notMap ?? 'must be a mapping'} (got ${describeValue(v)})`,
      );
    return out;
  }
}

/** Drops the slots of fields that stayed absent, at every depth (the typed resource has no `undefined` fields). */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (!isPlainObject(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = compact(v);
  return out as T;
}
