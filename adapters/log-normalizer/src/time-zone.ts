/**
 * Reading zone-less times in an IANA time zone with what Node 20 has (Intl, no Temporal): a zone's
 * offset at an instant comes from formatting that instant in the zone, cached per quarter hour (every
 * offset and transition of the tz database falls on one).
 */

const quarterHour = 15 * 60_000;

export class TimeZone {
  readonly #format: Intl.DateTimeFormat | undefined;
  readonly #offsets = new Map<number, number>();

  /** Throws RangeError for a name the tz database does not know. */
  constructor(readonly name: string) {
    const utc = name.toUpperCase() === 'UTC' || name === 'Etc/UTC' || name === 'Z';
    this.#format = utc
      ? undefined
      : new Intl.DateTimeFormat('en-US', {
          timeZone: name,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  }

  get isUtc(): boolean {
    return this.#format === undefined;
  }

  /** Milliseconds the zone is ahead of UTC at this instant. */
  offsetAt(utcMs: number): number {
    const format = this.#format;
    if (!format) return 0;
    const bucket = Math.floor(utcMs / quarterHour);
    const cached = this.#offsets.get(bucket);
    if (cached !== undefined) return cached;
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(bucket * quarterHour)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const local = Date.UTC(
      parts.year as number,
      (parts.month as number) - 1,
      parts.day,
      parts.hour,
      parts.minute,
      parts.second,
    );
    const offset = local - bucket * quarterHour;
    if (this.#offsets.size > 4096) this.#offsets.clear();
    this.#offsets.set(bucket, offset);
    return offset;
  }

  /**
   * The instant of a wall-clock time in this zone, given as if it were UTC (Date.UTC of its fields).
   * In a spring-forward gap or an autumn overlap it takes the offset in force just before.
   */
  toUtc(wallMs: number): number {
    if (!this.#format) return wallMs;
    const guess = wallMs - this.offsetAt(wallMs);
    return wallMs - this.offsetAt(guess);
  }
}

/** A zone name as an option value: the tz database's names and UTC. */
export function parseTimeZone(raw: string): TimeZone {
  return new TimeZone(raw.trim());
}
