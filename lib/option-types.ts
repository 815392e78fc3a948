/**
 * Value parsers for option types. Each takes the raw text (from a flag, an env var or a default) and
 * returns the typed value, or throws `Expected` carrying what a valid value looks like. The option
 * layer adds the option name and the value's source, so these stay small and table-testable.
 */

import { closeSync, fstatSync, openSync } from 'node:fs';
import { isIP } from 'node:net';

/** Thrown by a parser: the text completes "expected ...". */
export class Expected extends Error {}

/**
 * Thrown by a parser whose input must not be echoed (it may carry a password): the text completes
 * `--flag ...`, e.g. "must not contain a password".
 */
export class Rejected extends Error {}

export type Parser<T> = (raw: string) => T;

export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** `host:port`, with IPv6 hosts in brackets: usable in URLs and logs. */
  toString(): string;
}

export function hostPort(host: string, port: number): HostPort {
  return {
    host,
    port,
    toString: () => `${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
}

const hostnamePattern =
  /^(?=.{1,253}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62}))*\.?$/;

export function parseHostPort(raw: string): HostPort {
  const text = raw.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]]*):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  const expectation = 'host:port, e.g. 127.0.0.1:8080, [::1]:8080 or :8080';
  if (!match) throw new Expected(expectation);
  const host = match[1] === '' ? '0.0.0.0' : (match[1] as string);
  if (bracketed && isIP(host) !== 6) throw new Expected(`an IPv6 address inside [ ], ${expectation}`);
  if (!bracketed && isIP(host) === 0 && !hostnamePattern.test(host)) throw new Expected(expectation);
  return hostPort(host, parsePort(match[2] as string));
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Expected('a port from 0 to 65535');
  return port;
}

export function parseInteger(
  raw: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const text = raw.trim();
  if (!/^-?\d+$/.test(text)) throw new Expected(rangeText('an integer', min, max));
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new Expected(rangeText('an integer', min, max));
  return value;
}

export function parseNumber(raw: string, min = -Infinity, max = Infinity): number {
  const text = raw.trim();
  const value = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Expected(rangeText('a number', min, max));
  return value;
}

function rangeText(what: string, min: number, max: number): string {
  const low = min > Number.MIN_SAFE_INTEGER && min > -Infinity;
  const high = max < Number.MAX_SAFE_INTEGER && max < Infinity;
  if (low && high) return `${what} from ${min} to ${max}`;
  if (low) return `${what} >= ${min}`;
  if (high) return `${what} <= ${max}`;
  return what;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style durations (`10s`, `1m30s`, `500ms`, `1.5h`, `0`), returned in milliseconds. */
export function parseDuration(raw: string, minMs = 0, maxMs = Infinity): number {
  const text = raw.trim();
  const expectation = 'a duration like 500ms, 10s, 1m30s or 2h';
  if (text === '0') return checkDurationRange(0, minMs, maxMs);
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new Expected(expectation);
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (durationUnits[unit as string] as number);
  }
  return checkDurationRange(total, minMs, maxMs);
}

function checkDurationRange(ms: number, minMs: number, maxMs: number): number {
  if (ms < minMs || ms > maxMs) {
    const bounds = [
      minMs > 0 ? `at least ${formatDuration(minMs)}` : '',
      maxMs < Infinity ? `at most ${formatDuration(maxMs)}` : '',
    ];
    throw new Expected(`a duration ${bounds.filter(Boolean).join(' and ')}`);
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  ki: 1024,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A size in bytes: `1048576`, `512KiB`, `1MiB`, `64Ki`, `10MB` (Kubernetes' and IEC's units). */
export function parseByteSize(raw: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = sizeUnits[match?.[2]?.toLowerCase() ?? 'x'];
  const value = match && unit !== undefined ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new Expected(
      `a size in bytes like 1048576, 512KiB or 1MiB${min > 0 ? `, at least ${min} bytes` : ''}${max < Number.MAX_SAFE_INTEGER ? `, at most ${max} bytes` : ''}`,
    );
  return value;
}

const truthy = new Set(['true', '1', 'yes', 'on']);
const falsy = new Set(['false', '0', 'no', 'off']);

export function parseBool(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (truthy.has(text)) return true;
  if (falsy.has(text)) return false;
  throw new Expected('true or false');
}

export function parseEnum<C extends string>(choices: readonly C[]): Parser<C> {
  return (raw) => {
    const text = raw.trim();
    if ((choices as readonly string[]).includes(text)) return text as C;
    throw new Expected(`one of ${choices.join(', ')}`);
  };
}

export function parseUrl(protocols?: readonly string[]): Parser<URL> {
  return (raw) => {
    const allowed = protocols?.map((p) => p.replace(/:?$/, ':'));
    const expectation = allowed
      ? `a URL starting with ${allowed.map((p) => `${p}//`).join(' or ')}`
      : 'an absolute URL';
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new Expected(expectation);
    }
    if (allowed && !allowed.includes(url.protocol)) throw new Expected(expectation);
    return url;
  };
}

/** A comma-separated list; blank items are dropped so `a,,b` and a trailing comma are harmless. */
export function parseList<T>(item: Parser<T>): (raw: string) => T[] {
  return (raw) =>
    raw
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => {
        try {
          return item(part);
        } catch (err) {
          if (err instanceof Expected)
            throw new Expected(`a comma-separated list of ${err.message} (bad item "${part}")`);
          throw err;
        }
      });
}

export function parseFilePath(mustExist: boolean): Parser<string> {
  return (raw) => {
    const path = raw.trim();
    if (path === '') throw new Expected('a file path');
    if (mustExist) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new Expected(
          `a readable file (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`,
        );
      }
      try {
        if (fstatSync(fd).isDirectory()) throw new Expected('a file, not a directory');
      } finally {
        closeSync(fd);
      }
    }
    return path;
  };
}

/** Removes credentials from a URL for logs and help text. */
export function redactUrl(url: URL): string {
  if (!url.password && !url.username) return url.toString();
  const copy = new URL(url.toString());
  if (copy.password) copy.password = 'redacted';
  return copy.toString();
}
