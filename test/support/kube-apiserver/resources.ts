// The kinds the stand-in serves: a few built-in ones and whatever CustomResourceDefinitions register.

import type { Schema } from './schema.js';

export interface ResourceType {
  group: string;
  /** Versions served; storage is shared, so an object reads the same in every version (conversion "None"). */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** The `/status` subresource exists: main-resource writes keep the stored status, `/status` writes only it. */
  statusSubresource: boolean;
  /** metadata.generation is kept and bumped on changes outside metadata (and outside status, with the subresource). */
  generation: boolean;
  /** A custom resource: updates must carry metadata.resourceVersion; strategic merge patch is refused. */
  custom: boolean;
  /** Fields a field selector may use besides metadata.name and metadata.namespace. */
  selectableFields: string[];
  /** Per-version structural schemas (custom resources). */
  schemas?: Record<string, Schema>;
  shortNames?: string[];
  /** Length limit of names: 63 for DNS labels (namespaces, services), 253 for DNS subdomains. */
  nameIsLabel?: boolean;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  opts: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    versions: [version],
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: true,
    statusSubresource: false,
    generation: false,
    custom: false,
    selectableFields: [],
    ...opts,
  };
}

export function builtinTypes(): ResourceType[] {
  return [
    builtin('', 'v1', 'namespaces', 'Namespace', {
      namespaced: false,
      statusSubresource: true,
      nameIsLabel: true,
      selectableFields: ['status.phase'],
      shortNames: ['ns'],
    }),
    builtin('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
    builtin('', 'v1', 'secrets', 'Secret', { selectableFields: ['type'] }),
    builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'] }),
    builtin('', 'v1', 'services', 'Service', {
      statusSubresource: true,
      nameIsLabel: true,
      shortNames: ['svc'],
    }),
    builtin('', 'v1', 'endpoints', 'Endpoints', { shortNames: ['ep'] }),
    builtin('', 'v1', 'pods', 'Pod', {
      statusSubresource: true,
      generation: true,
      selectableFields: ['status.phase', 'spec.nodeName', 'status.podIP'],
      shortNames: ['po'],
    }),
    builtin('apps', 'v1', 'deployments', 'Deployment', {
      statusSubresource: true,
      generation: true,
      shortNames: ['deploy'],
    }),
    builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
    builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
    builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', {
      namespaced: false,
      statusSubresource: true,
      generation: true,
      shortNames: ['crd', 'crds'],
    }),
  ];
}

interface CrdVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: object };
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[] };
  versions?: CrdVersion[];
}

/** The resource type a CustomResourceDefinition declares; throws a list of problems when it cannot serve one. */
export function typeFromCrd(crd: { metadata?: { name?: string }; spec?: CrdSpec }): ResourceType {
  const spec = crd.spec ?? {};
  const problems: string[] = [];
  const group = spec.group ?? '';
  const plural = spec.names?.plural ?? '';
  const kind = spec.names?.kind ?? '';
  if (!group.includes('.'))
    problems.push('spec.group: Invalid value: should be a domain with at least one dot');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(plural)) problems.push('spec.names.plural: Invalid value');
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) problems.push('spec.names.kind: Invalid value');
  if (crd.metadata?.name !== `${plural}.${group}`)
    problems.push(`metadata.name: Invalid value: must be spec.names.plural+"."+spec.group`);
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    problems.push('spec.scope: Unsupported value: supported values: "Cluster", "Namespaced"');
  const versions = (spec.versions ?? []).filter((v) => v.served !== false);
  if ((spec.versions ?? []).filter((v) => v.storage).length !== 1)
    problems.push('spec.versions: Invalid value: must have exactly one version marked as storage version');
  const schemas: Record<string, Schema> = {};
  for (const v of versions) {
    if (!v.name) problems.push('spec.versions[].name: Required value');
    else if (!v.schema?.openAPIV3Schema)
      problems.push(`spec.versions[${v.name}].schema.openAPIV3Schema: Required value`);
    else schemas[v.name] = v.schema.openAPIV3Schema;
  }
  const statusFlags = new Set(versions.map((v) => v.subresources?.status !== undefined));
  if (statusFlags.size > 1)
    problems.push('spec.versions: the stand-in needs the same subresources in every version');
  if (problems.length) throw new Error(problems.join('; '));
  return {
    group,
    versions: versions.map((v) => v.name!),
    plural,
    singular: spec.names?.singular ?? kind.toLowerCase(),
    kind,
    namespaced: spec.scope === 'Namespaced',
    statusSubresource: statusFlags.has(true),
    generation: true,
    custom: true,
    selectableFields: [],
    schemas,
    shortNames: spec.names?.shortNames ?? [],
  };
}
