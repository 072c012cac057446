// Structural OpenAPI v3 schemas of CustomResourceDefinitions (tasks/extend-kubernetes/custom-resources/
// custom-resource-definitions, "Specifying a structural schema", "Field pruning", "Defaulting").
//
// Enforced: `type` (object, array, string, integer, number, boolean), `properties`, `required`, `items`, `enum`,
// `pattern`, `minLength`/`maxLength`, `minimum`/`maximum`, `minItems`/`maxItems`, `additionalProperties` (a schema),
// `nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`; unknown fields are pruned and
// `default`s applied, as a real server does. NOT enforced: `format`, `multipleOf`, `uniqueItems`, `oneOf`/`anyOf`/
// `allOf`/`not`, `x-kubernetes-validations` (CEL), `x-kubernetes-list-type`/`-map-keys`, and the check that the
// schema itself is structural.

import type { Json, JsonObject, StatusCause } from './status.js';

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: Json[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  additionalProperties?: Schema | boolean;
  nullable?: boolean;
  default?: Json;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const show = (v: Json): string => JSON.stringify(v);

/** Validates `value` at `path` and returns it pruned and defaulted; problems are appended to `causes`. */
export function validate(schema: Schema, value: Json, path: string, causes: StatusCause[]): Json {
  if (value === null) {
    if (schema.nullable) return null;
    if (schema.type !== undefined)
      causes.push({
        reason: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: "null": ${path} in body must be of type ${schema.type}: "null"`,
      });
    return value;
  }
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string')
      causes.push({
        reason: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body must be of type integer or string`,
      });
  } else if (
    schema.type !== undefined &&
    schema.type !== t &&
    !(schema.type === 'number' && t === 'integer')
  ) {
    causes.push({
      reason: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${t}": ${path} in body must be of type ${schema.type}: "${t}"`,
    });
    return value;
  }
  if (schema.enum && !schema.enum.some((e) => show(e) === show(value)))
    causes.push({
      reason: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(', ')}`,
    });
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength)
      causes.push({
        reason: 'FieldValueTooLong',
        field: path,
        message: `Too long: may not be longer than ${schema.maxLength}`,
      });
    if (schema.minLength !== undefined && [...value].length < schema.minLength)
      causes.push({
        reason: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should be at least ${schema.minLength} chars long`,
      });
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      causes.push({
        reason: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should match '${schema.pattern}'`,
      });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      causes.push({
        reason: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}`,
      });
    if (schema.maximum !== undefined && value > schema.maximum)
      causes.push({
        reason: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}`,
      });
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      causes.push({
        reason: 'FieldValueTooMany',
        field: path,
        message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      });
    if (schema.minItems !== undefined && value.length < schema.minItems)
      causes.push({
        reason: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value.length}: ${path} in body should have at least ${schema.minItems} items`,
      });
    const items = schema.items;
    return items ? value.map((v, i) => validate(items, v, `${path}[${i}]`, causes)) : value;
  }
  if (isObject(value)) return validateObject(schema, value, path, causes);
  return value;
}

function validateObject(schema: Schema, value: JsonObject, path: string, causes: StatusCause[]): JsonObject {
  const props = schema.properties;
  const extra = schema.additionalProperties;
  const keepUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true || extra === true;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const child = path === '' ? k : `${path}.${k}`;
    const ps = props?.[k];
    if (ps) out[k] = validate(ps, v, child, causes);
    else if (typeof extra === 'object') out[k] = validate(extra, v, child, causes);
    else if (keepUnknown || (props === undefined && schema.type === undefined)) out[k] = v;
    // otherwise pruned: a real server silently drops fields its schema does not declare
  }
  for (const [k, ps] of Object.entries(props ?? {}))
    if (!(k in out) && ps.default !== undefined) out[k] = JSON.parse(JSON.stringify(ps.default)) as Json;
  for (const r of schema.required ?? [])
    if (!(r in out))
      causes.push({
        reason: 'FieldValueRequired',
        field: path === '' ? r : `${path}.${r}`,
        message: 'Required value',
      });
  return out;
}

/**
 * Validates a whole custom resource: apiVersion, kind and metadata are the server's (never pruned); everything else
 * is checked against the version's `openAPIV3Schema`.
 */
export function validateCustomResource(
  schema: Schema,
  obj: JsonObject,
): { obj: JsonObject; causes: StatusCause[] } {
  const causes: StatusCause[] = [];
  const { apiVersion, kind, metadata, ...rest } = obj;
  const top: Schema = { ...schema, properties: { ...(schema.properties ?? {}) } };
  delete top.properties!['apiVersion'];
  delete top.properties!['kind'];
  delete top.properties!['metadata'];
  top.required = (schema.required ?? []).filter(
    (r) => r !== 'apiVersion' && r !== 'kind' && r !== 'metadata',
  );
  const checked = validateObject(top, rest, '', causes);
  return {
    obj: { apiVersion: apiVersion ?? null, kind: kind ?? null, metadata: metadata ?? {}, ...checked },
    causes,
  };
}
