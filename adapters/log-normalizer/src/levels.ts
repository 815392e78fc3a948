/**
 * Level normalisation: whatever an app calls its severity (syslog severities, glog letters, log4j and
 * java.util.logging names, Python names, pino/bunyan numbers) becomes one of six labels.
 */

export const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof levels)[number];

const names: Record<string, Level> = {
  trace: 'trace',
  trc: 'trace',
  finest: 'trace',
  finer: 'trace',
  verbose: 'trace',
  t: 'trace',
  debug: 'debug',
  dbg: 'debug',
  fine: 'debug',
  config: 'debug',
  d: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  i: 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  w: 'warn',
  error: 'error',
  err: 'error',
  eror: 'error',
  severe: 'error',
  e: 'error',
  fatal: 'fatal',
  ftl: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
  dpanic: 'fatal',
  f: 'fatal',
};

// Lower, upper and capitalised spellings up front, so the common cases cost one lookup, no lowercasing.
const byName = new Map<string, Level>();
for (const [name, level] of Object.entries(names)) {
  byName.set(name, level);
  byName.set(name.toUpperCase(), level);
  byName.set(name[0]?.toUpperCase() + name.slice(1), level);
}

/** Every spelling levelFromName knows without lowercasing, with its level. */
export function levelSpellings(): IterableIterator<[string, Level]> {
  return byName.entries();
}

/** A level name in any case (`WARNING`, `Err`, `I`), or undefined when it is not one. */
export function levelFromName(text: string): Level | undefined {
  return byName.get(text) ?? (text.length <= 16 ? byName.get(text.trim().toLowerCase()) : undefined);
}

/** syslog severities 0 (emergency) to 7 (debug). */
const severities: readonly Level[] = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

export function levelFromSeverity(severity: number): Level | undefined {
  return severities[severity];
}

/**
 * A numeric level: pino and bunyan steps (10 trace ... 60 fatal, values between round down), or a
 * syslog severity below 10. Python's numbers (30 = WARNING) collide with pino's (30 = info); JSON
 * lines with numbers are pino's far more often.
 */
export function levelFromNumber(value: number): Level | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value < 8 && Number.isInteger(value)) return levelFromSeverity(value);
  if (value < 10) return undefined;
  return levels[Math.min(5, Math.floor(value / 10) - 1)];
}
