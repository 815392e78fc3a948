/**
 * Options as they may appear in a log line: URLs lose their passwords, secrets print as [redacted]
 * (Secret.toJSON), host:port values print as text.
 */

import { redactUrl } from './option-types.js';
import { Secret } from './secret.js';

export function loggableValue(value: unknown): unknown {
  if (value instanceof URL) return redactUrl(value);
  if (value instanceof Secret) return value.toJSON();
  if (Array.isArray(value)) return value.map(loggableValue);
  if (value && typeof value === 'object' && 'host' in value && 'port' in value) return String(value);
  return value;
}

export function loggableOptions(options: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([key, value]) => [key, loggableValue(value)]));
}
