/**
 * Java's `LocalDateTime` as the original's clients send it (`deliveryTime`, `readyBy`): Jackson writes an
 * ISO string or, by default, an array `[year, month, day, hour, minute, second?, nanos?]`. Kept as the
 * ISO form without zone or fraction, `2024-01-02T10:30:00`, which MySQL's DATETIME takes as it is.
 */

const isoPattern = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?$/;

function compose(parts: readonly number[], zone?: string): string | undefined {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = parts;
  if (!parts.every(Number.isInteger)) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, takes years below 100 as they are.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  const time = date.getTime();
  // Dates roll 2024-02-30 over to March: a value that does not come back unchanged was not a date.
  if (
    year < 1 ||
    year > 9999 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  )
    return undefined;
  const offsetMinutes = zoneOffsetMinutes(zone);
  return new Date(time - offsetMinutes * 60_000).toISOString().slice(0, 19);
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** `2024-01-02T10:30:00` for an ISO string or a Jackson array; undefined for anything else. */
export function toLocalDateTime(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (value.length < 5 || value.length > 7 || !value.every((part) => typeof part === 'number'))
      return undefined;
    return compose(value.slice(0, 6));
  }
  if (typeof value !== 'string') return undefined;
  const match = isoPattern.exec(value.trim());
  if (!match) return undefined;
  return compose(
    match.slice(1, 7).map((part) => Number(part ?? 0)),
    match[7],
  );
}

/** A DATETIME read back from MySQL (a Date in UTC, the pool's time zone) as the ISO local form. */
export function formatLocalDateTime(value: Date | null | undefined): string | null {
  return value ? value.toISOString().slice(0, 19) : null;
}
