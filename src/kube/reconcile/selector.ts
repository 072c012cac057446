/**
 * Label selectors over pods: the object form (meta/v1 LabelSelector: matchLabels and matchExpressions, ANDed)
 * and the string form of `kubectl -l` (`app=redis,tier!=web,env in (prod,stage),!canary,release`). Pure.
 */
import { CaravanError, ErrorCodes } from '../../errors.js';
import type { LabelSelector, LabelSelectorRequirement } from './objects.js';

/** A selector parsed to requirements; an empty list selects everything. */
export type Requirements = readonly LabelSelectorRequirement[];

const KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** A selector that cannot be read (code INVALID_RESOURCE). */
export class SelectorError extends CaravanError {
  constructor(
    /** field path below the selector (`matchExpressions[0].operator`), empty for the selector itself */
    readonly path: string,
    message: string,
  ) {
    super(ErrorCodes.INVALID_RESOURCE, message);
    this.name = 'SelectorError';
  }
}

function checkKey(key: unknown, path: string): string {
  if (typeof key !== 'string' || !KEY.test(key))
    throw new SelectorError(path, `invalid label key ${JSON.stringify(key)}`);
  return key;
}

function checkValue(value: unknown, path: string): string {
  if (typeof value !== 'string' || !VALUE.test(value))
    throw new SelectorError(path, `invalid label value ${JSON.stringify(value)}`);
  return value;
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

/** Parses the string form. Throws SelectorError naming the bad term. */
export function parseSelectorString(text: string): Requirements {
  const reqs: LabelSelectorRequirement[] = [];
  if (text.trim() === '') return reqs;
  for (const term of splitTerms(text)) {
    let m: RegExpExecArray | null;
    if (term === '') throw new SelectorError('', `empty term in selector "${text}"`);
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      reqs.push({
        key: checkKey(m[1], ''),
        operator: m[2] === 'in' ? 'In' : 'NotIn',
        values: values.map((v) => checkValue(v, '')),
      });
    } else if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) {
      reqs.push({
        key: checkKey(m[1], ''),
        operator: m[2] === '!=' ? 'NotIn' : 'In',
        values: [checkValue(m[3], '')],
      });
    } else if ((m = /^!\s*(\S+)$/.exec(term))) {
      reqs.push({ key: checkKey(m[1], ''), operator: 'DoesNotExist' });
    } else if (/^\S+$/.test(term)) {
      reqs.push({ key: checkKey(term, ''), operator: 'Exists' });
    } else {
      throw new SelectorError('', `cannot read selector term "${term}"`);
    }
  }
  return reqs;
}

/** Checks the object form (or a string) and returns its requirements. Throws SelectorError with a field path. */
export function parseSelector(value: unknown): Requirements {
  if (typeof value === 'string') {
    const reqs = parseSelectorString(value);
    if (reqs.length === 0) throw new SelectorError('', 'selects every pod: give at least one label');
    return reqs;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new SelectorError(
      '',
      'must be a label selector string (app=redis) or {matchLabels, matchExpressions}',
    );
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'matchLabels' && k !== 'matchExpressions')
      throw new SelectorError(k, 'unknown field (known: matchLabels, matchExpressions)');
  const reqs: LabelSelectorRequirement[] = [];
  const ml = o['matchLabels'];
  if (ml !== undefined && ml !== null) {
    if (typeof ml !== 'object' || Array.isArray(ml))
      throw new SelectorError('matchLabels', 'must be a mapping');
    for (const [k, v] of Object.entries(ml as Record<string, unknown>))
      reqs.push({
        key: checkKey(k, `matchLabels.${k}`),
        operator: 'In',
        values: [checkValue(v, `matchLabels.${k}`)],
      });
  }
  const me = o['matchExpressions'];
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) throw new SelectorError('matchExpressions', 'must be a list');
    me.forEach((e: unknown, i) => {
      const p = `matchExpressions[${i}]`;
      if (e === null || typeof e !== 'object') throw new SelectorError(p, 'must be a mapping');
      const r = e as Record<string, unknown>;
      const op = r['operator'];
      if (!(OPERATORS as readonly unknown[]).includes(op))
        throw new SelectorError(`${p}.operator`, `must be one of ${OPERATORS.join(', ')}`);
      const operator = op as LabelSelectorRequirement['operator'];
      const key = checkKey(r['key'], `${p}.key`);
      const values = r['values'];
      if (operator === 'In' || operator === 'NotIn') {
        if (!Array.isArray(values) || values.length === 0)
          throw new SelectorError(`${p}.values`, `must be a non-empty list for ${operator}`);
        reqs.push({ key, operator, values: values.map((v, j) => checkValue(v, `${p}.values[${j}]`)) });
      } else {
        if (values !== undefined && values !== null && (!Array.isArray(values) || values.length > 0))
          throw new SelectorError(`${p}.values`, `must be empty for ${operator}`);
        reqs.push({ key, operator });
      }
    });
  }
  if (reqs.length === 0) throw new SelectorError('', 'selects every pod: give at least one label');
  return reqs;
}

/** Whether labels satisfy every requirement. */
export function matches(reqs: Requirements, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'In':
        return has && (r.values ?? []).includes(l[r.key] as string);
      case 'NotIn':
        return !has || !(r.values ?? []).includes(l[r.key] as string);
    }
  });
}

/** The string form of requirements (for messages): `app=redis,tier in (a,b)`. */
export function formatSelector(reqs: Requirements): string {
  return reqs
    .map((r) => {
      const v = r.values ?? [];
      if (r.operator === 'Exists') return r.key;
      if (r.operator === 'DoesNotExist') return `!${r.key}`;
      if (v.length === 1) return `${r.key}${r.operator === 'In' ? '=' : '!='}${v[0]}`;
      return `${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${v.join(',')})`;
    })
    .join(',');
}

/** Convenience for tests and callers holding a selector object. */
export function selectorMatches(selector: LabelSelector | string, labels: Record<string, string>): boolean {
  return matches(parseSelector(selector), labels);
}
