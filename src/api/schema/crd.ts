/**
 * The CustomResourceDefinitions of the kinds, derived from their schemas: structural OpenAPI v3 (every object has
 * `type` and `properties`, no `$ref` or junctors), namespaced, `v1alpha1` served and stored, the status subresource
 * and printer columns. Defaults are not written into the CRD: the router applies them (the same ones on a host
 * site), so the API server never stores a value the user did not write and the rules that depend on "was it
 * given" (a connector's host beside its targets) read the same in both places. Cross-field rules are checked by
 * the router and reported in the resource's status. Pure: no I/O.
 */
import { API_VERSION, KINDS, type Kind } from '../types.js';
import { typesText, type Node, type ObjectNode } from './dsl.js';
import { SCHEMAS } from './index.js';

export const GROUP = API_VERSION.split('/')[0] as string;
export const VERSION = API_VERSION.split('/')[1] as string;

export type JsonSchema = { [key: string]: unknown };

/** The description of a node, with the sibling-field condition spelled out. */
export function fullDescription(node: Node): string {
  const only = node.onlyFor ? ` Only for ${typesText(node.onlyFor.field, node.onlyFor.values)}.` : '';
  return `${node.description}${only}`;
}

/** The description for `kubectl explain`: with the default the router applies, when there is one. */
function crdDescription(node: Node): string {
  const def =
    node.docDefault ?? ('default' in node && node.default !== undefined ? String(node.default) : undefined);
  return def !== undefined ? `${fullDescription(node)} Default: ${def}.` : fullDescription(node);
}

/** The OpenAPI v3 schema of one node. */
export function openApiOf(node: Node): JsonSchema {
  const out: JsonSchema = { description: crdDescription(node) };
  switch (node.kind) {
    case 'string':
      out['type'] = 'string';
      if (!node.allowEmpty) out['minLength'] = 1;
      if (node.maxLength !== undefined) out['maxLength'] = node.maxLength;
      if (node.pattern) out['pattern'] = node.pattern.source;
      if (node.format) out['format'] = node.format;
      break;
    case 'int':
      out['type'] = 'integer';
      out['format'] = node.max <= 2 ** 31 - 1 && node.min >= -(2 ** 31) ? 'int32' : 'int64';
      out['minimum'] = node.min;
      if (node.max < Number.MAX_SAFE_INTEGER) out['maximum'] = node.max;
      break;
    case 'bool':
      out['type'] = 'boolean';
      break;
    case 'enum':
      out['type'] = 'string';
      out['enum'] = [...node.values];
      break;
    case 'object':
      return objectSchema(node);
    case 'list':
      out['type'] = 'array';
      out['items'] = openApiOf(node.items);
      if (node.minItems !== undefined) out['minItems'] = node.minItems;
      if (node.maxItems !== undefined) out['maxItems'] = node.maxItems;
      break;
    case 'map':
      out['type'] = 'object';
      out['additionalProperties'] = openApiOf(node.values);
      if (node.minItems !== undefined) out['minProperties'] = node.minItems;
      if (node.maxItems !== undefined) out['maxProperties'] = node.maxItems;
      break;
  }
  return out;
}

function objectSchema(node: ObjectNode): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [k, f] of Object.entries(node.fields)) {
    properties[k] = openApiOf(f);
    if (f.required) required.push(k);
  }
  return {
    description: fullDescription(node),
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
  };
}

/**
 * Fields only Kubernetes mode reads (the router checks them before the platform-neutral validator sees the spec,
 * src/kube/reconcile/spec.ts). They are not in the kinds' schemas, but the CRD must declare them, or the API
 * server prunes them. A selector is written in its string form (`app=redis,tier in (cache)`) here.
 */
const KUBE_ONLY: Partial<Record<Kind, (spec: JsonSchema) => void>> = {
  Connector: (spec) => {
    (spec['properties'] as Record<string, JsonSchema>)['selector'] = {
      description:
        'Kubernetes only: deliver to the ready pods of the namespace whose labels match this selector (`app=redis,tier in (cache),!canary`), instead of host or targets.',
      type: 'string',
      minLength: 1,
      maxLength: 1024,
    };
  },
  Site: (spec) => {
    const la = (spec['properties'] as Record<string, JsonSchema>)['linkAccess'] as JsonSchema;
    (la['properties'] as Record<string, JsonSchema>)['type'] = {
      description: 'Kubernetes only: the type of the link-access Service. Default: LoadBalancer.',
      type: 'string',
      enum: ['LoadBalancer', 'NodePort', 'ClusterIP'],
    };
  },
};

/** The CRD of one kind, as the object `kubectl apply` takes. */
export function crdOf(kind: Kind): JsonSchema {
  const s = SCHEMAS[kind];
  const spec = openApiOf(s.spec);
  KUBE_ONLY[kind]?.(spec);
  const root: JsonSchema = {
    description: s.description,
    type: 'object',
    properties: {
      apiVersion: { type: 'string', description: `\`${API_VERSION}\`.` },
      kind: { type: 'string', description: `\`${kind}\`.` },
      metadata: { type: 'object' },
      spec,
      status: openApiOf(s.status),
    },
    ...(s.spec.required ? { required: ['spec'] } : {}),
  };
  const singular = kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${s.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'caravan' } },
    spec: {
      group: GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural: s.plural,
        singular,
        ...(s.shortNames ? { shortNames: [...s.shortNames] } : {}),
        categories: ['caravan'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...s.columns.map((c) => ({ ...c })),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: root },
        },
      ],
    },
  };
}

/** The CRDs of every kind, in the order of KINDS. */
export function crds(): JsonSchema[] {
  return KINDS.map(crdOf);
}
