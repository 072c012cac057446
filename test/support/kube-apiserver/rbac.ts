// Authentication by bearer token and a minimal RBAC authorizer (reference/access-authn-authz/rbac).
//
// Users come from a token table the test sets. Members of `system:masters` may do anything (as on a real cluster).
// Everyone else is allowed only what a Role bound to them by a RoleBinding in the request's namespace grants:
// rules match on apiGroups, resources (`pods`, `pods/status`, `*`, `*/status`), verbs and resourceNames. Discovery
// (`/api`, `/apis`, `/version`, …) is open to every authenticated user, as the `system:discovery` ClusterRole makes
// it. Not modelled: ClusterRoles and ClusterRoleBindings (so no cluster-scoped request succeeds without
// `system:masters`, and a RoleBinding to a ClusterRole grants nothing), aggregation and impersonation.
//
// Escalation prevention (reference/access-authn-authz/rbac, "Privilege escalation prevention and bootstrapping") is
// modelled for Roles in a namespace: creating or updating a Role, or a RoleBinding to one, is refused with 403
// unless the requester already holds every permission it grants (each apiGroup × resource × verb × resourceName,
// a `*` only covered by a `*`), or holds `escalate` (Roles) or `bind` (RoleBindings) on roles.

import type { JsonObject } from './status.js';

export interface User {
  name: string;
  groups: string[];
}

export function serviceAccountUser(namespace: string, name: string): User {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

function subjectMatches(subject: JsonObject, bindingNs: string, user: User): boolean {
  const kind = subject['kind'];
  const name = String(subject['name'] ?? '');
  if (kind === 'ServiceAccount')
    return user.name === `system:serviceaccount:${String(subject['namespace'] ?? bindingNs)}:${name}`;
  if (kind === 'User') return user.name === name;
  if (kind === 'Group') return user.groups.includes(name);
  return false;
}

function ruleAllows(rule: Rule, a: Attributes): boolean {
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(a.group)) return false;
  const verbs = rule.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(a.verb)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resOk =
    resources.includes('*') ||
    resources.includes(combined) ||
    (a.subresource !== '' && resources.includes(`*/${a.subresource}`));
  if (!resOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== '' && names.includes(a.name));
}

/** Whether the Roles bound to `user` in the namespace allow the request. */
export function allowed(user: User, a: Attributes, roles: JsonObject[], bindings: JsonObject[]): boolean {
  if (user.groups.includes('system:masters')) return true;
  if (a.namespace === '') return false;
  for (const b of bindings) {
    const md = b['metadata'] as JsonObject;
    if (md['namespace'] !== a.namespace) continue;
    const subjects = Array.isArray(b['subjects']) ? (b['subjects'] as JsonObject[]) : [];
    if (!subjects.some((s) => subjectMatches(s, a.namespace, user))) continue;
    const ref = b['roleRef'] as JsonObject | undefined;
    if (ref?.['kind'] !== 'Role') continue;
    const role = roles.find(
      (r) =>
        (r['metadata'] as JsonObject)['namespace'] === a.namespace &&
        (r['metadata'] as JsonObject)['name'] === ref['name'],
    );
    const rules = Array.isArray(role?.['rules']) ? (role['rules'] as Rule[]) : [];
    if (rules.some((r) => ruleAllows(r, a))) return true;
  }
  return false;
}

export function forbiddenMessage(user: User, a: Attributes): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${res} "${a.name}"` : res;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${what} is forbidden: User "${user.name}" cannot ${a.verb} resource "${res}" in API group "${a.group}"${where}`;
}

/** The permissions in `rules` that `user` does not hold in `namespace` (empty: no escalation). */
export function ungranted(
  user: User,
  namespace: string,
  rules: Rule[],
  roles: JsonObject[],
  bindings: JsonObject[],
): string[] {
  if (user.groups.includes('system:masters')) return [];
  const missing: string[] = [];
  for (const r of rules)
    for (const group of r.apiGroups ?? [])
      for (const res of r.resources ?? [])
        for (const verb of r.verbs ?? [])
          for (const name of r.resourceNames?.length ? r.resourceNames : ['']) {
            const [resource = '', subresource = ''] = res.split('/');
            const a = { verb, group, resource, subresource, namespace, name };
            if (!allowed(user, a, roles, bindings))
              missing.push(
                `{APIGroups:["${group}"], Resources:["${res}"], Verbs:["${verb}"]${name ? `, ResourceNames:["${name}"]` : ''}}`,
              );
          }
  return missing;
}

export type { Rule };
