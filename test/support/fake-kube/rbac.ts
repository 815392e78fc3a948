/**
 * RBAC as kube-apiserver's authorizer applies it: a request is allowed when a rule of the bound Role (or
 * ClusterRole) matches its verb, API group, resource (`statefulsets/status` for a subresource) and, when
 * the rule names them, its object name. Without rules every request is allowed (the fake's default);
 * `deny` refuses one verb on one resource on top of either mode.
 *
 * As on the real server: a rule with resourceNames never matches a create (no name yet) nor a list or
 * watch of a whole collection; a list or watch with the field selector `metadata.name=<n>` is a request
 * for the object `<n>` (requestinfo.go), so a rule naming it matches.
 */

import { isRecord } from './types.js';

/** One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 PolicyRule). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** What a request asks, in the authorizer's terms. */
export interface RequestAttributes {
  verb: string;
  group: string;
  /** With the subresource: `statefulsets/status`. */
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

export interface Binding {
  rules: readonly PolicyRule[];
  /** A Role bound in this namespace grants nothing elsewhere; without it, a ClusterRole bound cluster-wide. */
  namespace?: string;
}

function matchesResource(rule: PolicyRule, resource: string): boolean {
  const [, subresource] = resource.split('/');
  return rule.resources.some(
    (r) => r === '*' || r === resource || (subresource !== undefined && r === `*/${subresource}`),
  );
}

export function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  return (
    (rule.verbs.includes('*') || rule.verbs.includes(request.verb)) &&
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(request.group)) &&
    matchesResource(rule, request.resource) &&
    (!rule.resourceNames?.length ||
      (request.verb !== 'create' && !!request.name && rule.resourceNames.includes(request.name)))
  );
}

/** The object a list or watch asks for when its field selector pins metadata.name, as requestinfo.go reads it. */
export function nameFromFieldSelector(fieldSelector: string | undefined): string | undefined {
  for (const term of (fieldSelector ?? '').split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (match) return match[1];
  }
  return undefined;
}

/** Rules from a parsed Role or ClusterRole document; throws on anything that is not one. */
export function rulesOf(document: unknown): PolicyRule[] {
  if (!isRecord(document) || !['Role', 'ClusterRole'].includes(String(document.kind))) {
    throw new Error('not a Role or ClusterRole');
  }
  const rules = Array.isArray(document.rules) ? document.rules : [];
  return rules.map((rule, index) => {
    const list = (key: string): string[] => {
      const value = isRecord(rule) ? rule[key] : undefined;
      if (value === undefined && key === 'resourceNames') return [];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new Error(`rules[${index}].${key} must be a list of strings`);
      }
      return value;
    };
    const resourceNames = list('resourceNames');
    return {
      apiGroups: list('apiGroups'),
      resources: list('resources'),
      verbs: list('verbs'),
      ...(resourceNames.length ? { resourceNames } : {}),
    };
  });
}

export class Authorizer {
  readonly #denied = new Set<string>();

  /** `binding` undefined: allow everything not denied. */
  constructor(private readonly binding?: Binding) {}

  deny(verb: string, resource: string, namespace?: string): void {
    this.#denied.add(`${verb} ${resource} ${namespace ?? '*'}`);
  }

  allow(verb: string, resource: string, namespace?: string): void {
    this.#denied.delete(`${verb} ${resource} ${namespace ?? '*'}`);
  }

  allows(request: RequestAttributes): boolean {
    const { verb, resource, namespace } = request;
    if (
      this.#denied.has(`${verb} ${resource} ${namespace ?? '*'}`) ||
      this.#denied.has(`${verb} ${resource} *`)
    ) {
      return false;
    }
    const binding = this.binding;
    if (!binding) return true;
    if (binding.namespace !== undefined && binding.namespace !== namespace) return false;
    return binding.rules.some((rule) => ruleAllows(rule, request));
  }
}
