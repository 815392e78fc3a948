/**
 * The Role a component's README documents, read from the README itself so that the docs and the tests
 * that run under them cannot drift: the fenced ```yaml block whose document is a Role or ClusterRole. A
 * comment `# only with --flag` before a rule marks it, and the rules after it, as needed only with that
 * flag (the next such comment starts a new group).
 */

import { readFileSync } from 'node:fs';
import { isSeq, parseDocument } from 'yaml';
import { type PolicyRule, rulesOf } from './rbac.js';

export interface DocumentedRule {
  rule: PolicyRule;
  /** The flag this rule is for; undefined: always needed. */
  onlyWith?: string;
}

export function documentedRole(readmePath: string): DocumentedRule[] {
  const markdown = readFileSync(readmePath, 'utf8');
  const blocks = [...markdown.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
  const roles = blocks.filter((block) => /^kind: (Cluster)?Role$/m.test(block));
  if (roles.length !== 1) throw new Error(`${readmePath}: expected one Role block, found ${roles.length}`);
  const doc = parseDocument(roles[0] as string);
  if (doc.errors.length) throw new Error(`${readmePath}: the Role block: ${doc.errors[0]?.message}`);
  const rules = rulesOf(doc.toJS());
  const nodes = doc.get('rules');
  let onlyWith: string | undefined;
  return rules.map((rule, index) => {
    const node = isSeq(nodes) ? (nodes.items[index] as { commentBefore?: string | null }) : undefined;
    const marker = /only with (--[\w-]+)/.exec(node?.commentBefore ?? '');
    if (marker) onlyWith = marker[1];
    return { rule, ...(onlyWith ? { onlyWith } : {}) };
  });
}

/** The documented rules a component run with `flags` needs. */
export function documentedRules(readmePath: string, flags: readonly string[] = []): PolicyRule[] {
  return documentedRole(readmePath)
    .filter((entry) => entry.onlyWith === undefined || flags.includes(entry.onlyWith))
    .map((entry) => entry.rule);
}

/** Each verb of each rule on its own: what a test takes away one at a time. */
export function grantedVerbs(rules: readonly PolicyRule[]): { rule: number; verb: string; what: string }[] {
  return rules.flatMap((rule, index) =>
    rule.verbs.map((verb) => ({ rule: index, verb, what: `${verb} ${rule.resources.join(',')}` })),
  );
}

/** The rules without one verb of one rule (a rule left with no verbs is dropped). */
export function withoutVerb(rules: readonly PolicyRule[], rule: number, verb: string): PolicyRule[] {
  return rules
    .map((r, index) => (index === rule ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
    .filter((r) => r.verbs.length > 0);
}
