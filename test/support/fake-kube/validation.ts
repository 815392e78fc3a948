/**
 * apimachinery's name and label rules, with its messages: code that builds names from user input (a
 * StatefulSet per database, a Secret per user) must be caught here the way a real cluster would catch it.
 */

import type { NameRule } from './resources.js';
import { fieldInvalid, type StatusCause } from './status.js';

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFmt = `(${qualifiedNameFmt})?`;

const rules: Record<NameRule, { pattern: RegExp; max: number; message: string }> = {
  'dns1123-subdomain': {
    pattern: new RegExp(`^${dns1123SubdomainFmt}$`),
    max: 253,
    message:
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must " +
      `start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
  },
  'dns1123-label': {
    pattern: new RegExp(`^${dns1123LabelFmt}$`),
    max: 63,
    message:
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and " +
      `end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFmt}')`,
  },
  'dns1035-label': {
    pattern: new RegExp(`^${dns1035LabelFmt}$`),
    max: 63,
    message:
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic " +
      `character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${dns1035LabelFmt}')`,
  },
};

/** Problems with a name under a rule; empty when valid. */
export function nameProblems(rule: NameRule, name: string, path = 'metadata.name'): StatusCause[] {
  const { pattern, max, message } = rules[rule];
  const causes: StatusCause[] = [];
  if (name.length > max) causes.push(fieldInvalid(path, name, `must be no more than ${max} characters`));
  if (!pattern.test(name)) causes.push(fieldInvalid(path, name, message));
  return causes;
}

const qualifiedName = new RegExp(`^${qualifiedNameFmt}$`);
const labelValue = new RegExp(`^${labelValueFmt}$`);

/** A label key: optional DNS subdomain prefix, `/`, then a name of at most 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2)
    return 'a qualified name must consist of alphanumeric characters, with at most one "/"';
  const name = parts.length === 2 ? parts[1] : parts[0];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (!prefix || prefix.length > 253 || !rules['dns1123-subdomain'].pattern.test(prefix)) {
      return `prefix part ${rules['dns1123-subdomain'].message}`;
    }
  }
  if (!name) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!qualifiedName.test(name)) {
    return (
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
      `alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFmt}')`
    );
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!labelValue.test(value)) {
    return (
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must " +
      `start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${labelValueFmt}')`
    );
  }
  return undefined;
}

export function labelProblems(labels: unknown, path = 'metadata.labels'): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels))
    return [fieldInvalid(path, labels, 'must be a map')];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) causes.push(fieldInvalid(path, key, keyProblem));
    if (typeof value !== 'string') causes.push(fieldInvalid(`${path}[${key}]`, value, 'must be a string'));
    else {
      const valueProblem = labelValueProblem(value);
      if (valueProblem) causes.push(fieldInvalid(`${path}[${key}]`, value, valueProblem));
    }
  }
  return causes;
}
