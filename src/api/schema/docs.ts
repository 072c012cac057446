/**
 * The field reference of the kinds (docs/resources.md), derived from their schemas: one table per kind and part
 * (spec, status) with every field's path, type, default and description, constraints included. Pure: no I/O.
 */
import { API_VERSION, KINDS } from '../types.js';
import { rangeText } from './checker.js';
import { GROUP } from './crd.js';
import { typesText, type Node } from './dsl.js';
import { SCHEMAS } from './index.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s}\``;
const sentence = (s: string): string =>
  `${s.charAt(0).toUpperCase()}${s.slice(1)}${s.endsWith('.') ? '' : '.'}`;

function typeText(node: Node): string {
  switch (node.kind) {
    case 'string':
      return node.docType ?? 'string';
    case 'int':
      return 'integer';
    case 'bool':
      return 'boolean';
    case 'enum':
      return node.values.map(code).join(' | ');
    case 'object':
      return 'object';
    case 'list':
      return node.items.kind === 'object' ? 'list of objects' : `list of ${typeText(node.items)}`;
    case 'map':
      return `map of ${typeText(node.keys)} to ${typeText(node.values)}`;
  }
}

function defaultText(node: Node): string {
  if (node.docDefault !== undefined) return node.docDefault;
  if ('default' in node && node.default !== undefined) return code(String(node.default));
  return '';
}

function constraints(node: Node): string[] {
  const out: string[] = [];
  if (node.required) out.push('**Required.**');
  if (node.onlyFor) out.push(`Only for ${typesText(node.onlyFor.field, node.onlyFor.values)}.`);
  switch (node.kind) {
    case 'int':
      out.push(sentence(node.invalid ?? `an integer ${rangeText(node)}`));
      break;
    case 'string':
      if (node.patternHelp) out.push(sentence(node.patternHelp));
      if (node.maxLength !== undefined) out.push(`At most ${node.maxLength} characters.`);
      if (node.format === 'date-time') out.push('An RFC 3339 time.');
      break;
    case 'list':
    case 'map': {
      const { minItems: lo, maxItems: hi } = node;
      const what = node.kind === 'list' ? 'items' : 'entries';
      if (lo !== undefined && hi !== undefined) out.push(`${lo}-${hi} ${what}.`);
      else if (lo !== undefined) out.push(`At least ${lo} ${lo === 1 ? what.slice(0, -1) : what}.`);
      if (node.kind === 'map' && node.keys.patternHelp === undefined && node.keys.invalid)
        out.push(`Keys: ${node.keys.invalid.replace(/^must be /, '')}.`);
      break;
    }
    default:
      break;
  }
  return out;
}

function rows(node: Node, path: string, out: string[]): void {
  out.push(
    `| ${code(path)} | ${cell(typeText(node))} | ${cell(defaultText(node))} | ${cell([node.description, ...constraints(node)].join(' '))} |`,
  );
  if (node.kind === 'object') for (const [k, f] of Object.entries(node.fields)) rows(f, `${path}.${k}`, out);
  if (node.kind === 'list' && node.items.kind === 'object')
    for (const [k, f] of Object.entries(node.items.fields)) rows(f, `${path}[].${k}`, out);
}

function table(node: Node, part: string): string[] {
  const out = ['| Field | Type | Default | Description |', '| --- | --- | --- | --- |'];
  if (node.kind === 'object') for (const [k, f] of Object.entries(node.fields)) rows(f, `${part}.${k}`, out);
  return out;
}

/** The whole reference, as Markdown. */
export function resourcesReference(): string {
  const out: string[] = [
    '# Resource reference',
    '',
    '<!-- Generated from src/api/schema/ by `npm run generate`; `npm run check` fails when it is stale. -->',
    '',
    `Every resource has \`apiVersion: ${API_VERSION}\`, a \`kind\`, \`metadata\` (\`name\`: a DNS label; optional`,
    '`labels`; `generation`, bumped by whoever writes the spec), a `spec` and, written by the router, a `status`.',
    `The same fields are the Kubernetes CRDs of the group \`${GROUP}\` (\`caravan kube manifests\`). Defaults are`,
    'applied by the router. Rules between fields (a field that applies to one `type` only, a default taken from',
    'another field) are checked by the router; on Kubernetes a resource that breaks one gets a False condition.',
    '',
  ];
  for (const kind of KINDS) {
    const s = SCHEMAS[kind];
    out.push(`## ${kind}`, '', s.description, '');
    out.push(
      '### spec',
      '',
      ...(s.spec.required ? ['`spec` is required.', ''] : []),
      ...table(s.spec, 'spec'),
      '',
    );
    out.push('### status', '', ...table(s.status, 'status'), '');
  }
  return out.join('\n');
}
