/**
 * Money as the original's JSON has it: a decimal string with two places ("12.34"). Kept in cents inside
 * the services so sums are exact; MySQL stores DECIMAL(19,2).
 */

/** Accepts 12.34, "12.34" or "12.3"; undefined for anything that is not an amount with at most two places. */
export function toCents(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = /^(\d{1,15})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

export function formatCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** A JSON schema for a price in a request: a non-negative number or decimal string. */
export const moneySchema = {
  anyOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: '^\\s*\\d{1,15}(\\.\\d{1,2})?\\s*$' },
  ],
} as const;
