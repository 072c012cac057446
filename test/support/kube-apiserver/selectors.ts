// Label and field selectors as the API server parses them (concepts/overview/working-with-objects/labels,
// "Label selectors", and field-selectors). Label requirements: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
// `k notin (a,b)`, joined by commas (AND). Field requirements: `f=v`, `f==v`, `f!=v` over the fields a resource
// supports (`metadata.name`, `metadata.namespace` everywhere; pods also `status.phase`, `spec.nodeName`).

import { badRequest, type JsonObject } from './status.js';

type Op = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin';

export interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

export type Selector = (labels: Record<string, string>) => boolean;

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key) || key.length > 317)
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

export function parseLabelSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  for (const part of splitTop(text)) {
    let m: RegExpMatchArray | null;
    if ((m = /^!\s*(\S+)$/.exec(part))) reqs.push({ key: checkKey(m[1]!, text), op: '!exists', values: [] });
    else if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part)))
      reqs.push({
        key: checkKey(m[1]!, text),
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      });
    else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part)))
      reqs.push({ key: checkKey(m[1]!, text), op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
    else if ((m = /^(\S+)$/.exec(part))) reqs.push({ key: checkKey(m[1]!, text), op: 'exists', values: [] });
    else throw badRequest(`unable to parse requirement: "${part}"`);
  }
  return reqs;
}

export function matchRequirements(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
    }
  });
}

export function labelSelector(text: string | undefined): Selector {
  if (text === undefined || text.trim() === '') return () => true;
  const reqs = parseLabelSelector(text);
  return (labels) => matchRequirements(reqs, labels);
}

export type FieldSelector = (obj: JsonObject) => boolean;

function fieldValue(obj: JsonObject, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as JsonObject)[p] : undefined;
  return cur === undefined || cur === null ? '' : String(cur as string);
}

export function fieldSelector(text: string | undefined, supported: readonly string[]): FieldSelector {
  if (text === undefined || text.trim() === '') return () => true;
  const reqs = splitTop(text).map((part) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid field selector: "${part}"`);
    const field = m[1]!;
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, neg: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.neg);
}

export function labelsOf(obj: JsonObject): Record<string, string> {
  const md = obj['metadata'] as JsonObject | undefined;
  const labels = md?.['labels'];
  return labels && typeof labels === 'object' && !Array.isArray(labels)
    ? (labels as Record<string, string>)
    : {};
}
