// The patch types the stand-in accepts (tasks/manage-kubernetes-objects/update-api-object-kubectl-patch):
// JSON merge patch (RFC 7386, `application/merge-patch+json`) and JSON patch (RFC 6902,
// `application/json-patch+json`). Strategic merge patch (`application/strategic-merge-patch+json`) is treated as a
// merge patch for built-in kinds — lists are replaced, not merged by key as a real server does — and refused with
// 415 for custom resources, exactly as a real server refuses it. Server-side apply is not implemented (415).

import { badRequest, ApiStatusError, type Json, type JsonObject } from './status.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`JSON patch: invalid path "${path}"`);
  return path.slice(1).split('/').map(unescape);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function getAt(doc: Json, tokens: string[], path: string): Json {
  let cur: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length)
        throw badRequest(`JSON patch: no element at "${path}"`);
      cur = cur[i]!;
    } else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t]!;
    else throw badRequest(`JSON patch: no value at "${path}"`);
  }
  return cur;
}

function parentOf(doc: Json, tokens: string[], path: string): { parent: Json; key: string } {
  if (tokens.length === 0) throw badRequest(`JSON patch: cannot change the document root ("${path}")`);
  return { parent: getAt(doc, tokens.slice(0, -1), path), key: tokens[tokens.length - 1]! };
}

function addAt(doc: Json, path: string, value: Json): void {
  const { parent, key } = parentOf(doc, parsePointer(path), path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length)
      throw badRequest(`JSON patch: bad index at "${path}"`);
    parent.splice(i, 0, value);
  } else if (isObject(parent)) parent[key] = value;
  else throw badRequest(`JSON patch: parent of "${path}" is not a container`);
}

function removeAt(doc: Json, path: string): Json {
  const { parent, key } = parentOf(doc, parsePointer(path), path);
  const old = getAt(doc, parsePointer(path), path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as JsonObject)[key];
  return old;
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('JSON patch: the body must be an array of operations');
  let out = clone(doc);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string')
      throw badRequest('JSON patch: each operation needs "op" and "path"');
    const path = raw['path'];
    switch (raw['op']) {
      case 'add':
        if (path === '') out = clone(raw['value'] ?? null);
        else addAt(out, path, clone(raw['value'] ?? null));
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        getAt(out, parsePointer(path), path);
        if (path === '') out = clone(raw['value'] ?? null);
        else {
          removeAt(out, path);
          addAt(out, path, clone(raw['value'] ?? null));
        }
        break;
      case 'move':
      case 'copy': {
        if (typeof raw['from'] !== 'string') throw badRequest(`JSON patch: "${raw['op']}" needs "from"`);
        const v =
          raw['op'] === 'move'
            ? removeAt(out, raw['from'])
            : clone(getAt(out, parsePointer(raw['from']), raw['from']));
        addAt(out, path, v);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(out, parsePointer(path), path)) !== JSON.stringify(raw['value'] ?? null))
          throw new ApiStatusError(422, 'Invalid', `JSON patch: test failed at "${path}"`);
        break;
      default:
        throw badRequest(`JSON patch: unknown op "${String(raw['op'])}"`);
    }
  }
  return out;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]!.trim();
  if (ct === 'application/merge-patch+json') return 'merge';
  if (ct === 'application/json-patch+json') return 'json';
  if (ct === 'application/strategic-merge-patch+json') return 'strategic';
  throw new ApiStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${ct === 'application/apply-patch+yaml' ? ' (server-side apply is not implemented by this stand-in)' : ''}`,
  );
}
