/**
 * One option spec per component is the single source of its flags, env vars, defaults, validation and
 * docs (the pattern of kubernetes/git-sync's env.go). Precedence: flag > scoped env
 * (PODKIT_<COMPONENT>_<OPTION>) > plain env (PODKIT_<OPTION>) > default.
 *
 *   const spec = {
 *     listen: opt.hostPort({ default: '0.0.0.0:8443', description: 'TLS listener address.' }),
 *     upstreamTimeout: opt.duration({ default: '30s', description: '...' }),
 *   };
 *   // flags --listen, --upstream-timeout; for tls-proxy, env PODKIT_TLS_PROXY_LISTEN or PODKIT_LISTEN, ...
 *
 * Defaults are written as a user would type them and go through the same parser as user input, so a
 * bad default fails the first test that starts the component. A component's options.ts imports this
 * module and nothing heavy: other components load it to know which variables are theirs.
 */

import { ConfigError } from './errors.js';
import { flagName } from './option-names.js';
import {
  Expected,
  type HostPort,
  type Parser,
  parseBool,
  parseByteSize,
  parseDuration,
  parseEnum,
  parseFilePath,
  parseHostPort,
  parseInteger,
  parseList,
  parseNumber,
  parseUrl,
} from './option-types.js';
import type { Secret } from './secret.js';

export {
  aliasFlags,
  envName,
  envVariables,
  flagName,
  scopePrefix,
  userEnv,
  userFlag,
} from './option-names.js';
export {
  knownEnvNames,
  type Parsed,
  parseOptions,
  unknownEnv,
  unknownEnvWarnings,
} from './option-parse.js';

export type Kind =
  | 'string'
  | 'int'
  | 'number'
  | 'duration'
  | 'bool'
  | 'enum'
  | 'list'
  | 'host:port'
  | 'url'
  | 'file'
  | 'secret'
  | 'custom';

export interface Option<T> {
  readonly kind: Kind;
  readonly description: string;
  /** Raw text, as a user would type it. */
  readonly default?: string;
  readonly required: boolean;
  /** What `--help` shows after the flag, e.g. `<host:port>`; empty for booleans. */
  readonly placeholder: string;
  /** The README table's Type column, when the kind does not say it (custom options). */
  readonly typeName?: string;
  readonly deprecated?: string;
  /** Old spellings (flag names without `--`): their flags and variables still work, with a warning. */
  readonly aliases?: readonly string[];
  readonly parse: Parser<T>;
  /** Phantom field carrying the value type; never set. */
  readonly valueType?: T;
}

// biome-ignore lint/suspicious/noExplicitAny: a spec holds options of every value type.
export type Spec = Record<string, Option<any>>;
export type Values<S extends Spec> = { -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never };

interface Common {
  description: string;
  required?: boolean;
  /** Set when the option is going away: using it logs this text as a warning. */
  deprecated?: string;
  /** Old spellings, e.g. `['reload-url']`: accepted with a warning naming the current one. */
  aliases?: readonly string[];
}
interface WithDefault<D> extends Common {
  default?: D;
}
/** An option with a default or marked required always has a value; otherwise it may be undefined. */
type Out<T, O> = O extends { default: unknown } ? T : O extends { required: true } ? T : T | undefined;

function make<T>(
  kind: Kind,
  o: Common & { default?: unknown; typeName?: string },
  placeholder: string,
  parse: Parser<T>,
): Option<T> {
  const raw = o.default;
  return {
    kind,
    description: o.description,
    required: o.required ?? false,
    placeholder,
    parse,
    ...(raw === undefined ? {} : { default: Array.isArray(raw) ? raw.join(',') : String(raw) }),
    ...(o.deprecated === undefined ? {} : { deprecated: o.deprecated }),
    ...(o.aliases?.length ? { aliases: [...o.aliases] } : {}),
    ...(o.typeName === undefined ? {} : { typeName: o.typeName }),
  };
}

/** The same option under old spellings too, e.g. a shared option a component used to call otherwise. */
export function withAliases<T>(option: Option<T>, ...aliases: string[]): Option<T> {
  return { ...option, aliases: [...(option.aliases ?? []), ...aliases] };
}

export const opt = {
  string<O extends WithDefault<string> & { pattern?: RegExp; expect?: string }>(
    o: O,
  ): Option<Out<string, O>> {
    return make('string', o, '<string>', (raw) => {
      if (o.pattern && !o.pattern.test(raw)) throw new Expected(o.expect ?? `text matching ${o.pattern}`);
      return raw;
    }) as Option<Out<string, O>>;
  },
  int<O extends WithDefault<number> & { min?: number; max?: number }>(o: O): Option<Out<number, O>> {
    return make('int', o, '<int>', (raw) => parseInteger(raw, o.min, o.max)) as Option<Out<number, O>>;
  },
  number<O extends WithDefault<number> & { min?: number; max?: number }>(o: O): Option<Out<number, O>> {
    return make('number', o, '<number>', (raw) => parseNumber(raw, o.min, o.max)) as Option<Out<number, O>>;
  },
  /** A Go-style duration (`10s`, `1m30s`); the value is in milliseconds. */
  duration<O extends WithDefault<string> & { min?: string; max?: string }>(o: O): Option<Out<number, O>> {
    const min = o.min === undefined ? 0 : parseDuration(o.min);
    const max = o.max === undefined ? Infinity : parseDuration(o.max);
    return make('duration', o, '<duration>', (raw) => parseDuration(raw, min, max)) as Option<Out<number, O>>;
  },
  /** `--x`, `--x=false`, `--no-x`; env values true/false/1/0/yes/no/on/off. Unset means false. */
  bool(o: Common & { default?: boolean }): Option<boolean> {
    return make('bool', { ...o, default: o.default ?? false }, '', parseBool);
  },
  enum<const C extends string, O extends WithDefault<C>>(choices: readonly C[], o: O): Option<Out<C, O>> {
    return make('enum', o, `<${choices.join('|')}>`, parseEnum(choices)) as Option<Out<C, O>>;
  },
  /** Comma-separated in env and flags; a repeated flag adds to the list. Unset means empty. */
  list<T = string>(o: WithDefault<string | string[]> & { item?: Parser<T>; itemName?: string }): Option<T[]> {
    const item = o.item ?? ((raw: string) => raw as T);
    return make(
      'list',
      { ...o, default: o.default ?? '' },
      `<${o.itemName ?? 'value'},...>`,
      parseList(item),
    );
  },
  /** A size in bytes, written `1048576`, `512KiB` or `1MiB`; the value is in bytes. */
  bytes<O extends WithDefault<string> & { min?: number; max?: number }>(o: O): Option<Out<number, O>> {
    return make('custom', { ...o, typeName: 'size' }, '<size>', (raw) =>
      parseByteSize(raw, o.min, o.max),
    ) as Option<Out<number, O>>;
  },
  hostPort<O extends WithDefault<string>>(o: O): Option<Out<HostPort, O>> {
    return make('host:port', o, '<host:port>', parseHostPort) as Option<Out<HostPort, O>>;
  },
  url<O extends WithDefault<string> & { protocols?: string[] }>(o: O): Option<Out<URL, O>> {
    return make('url', o, '<url>', parseUrl(o.protocols)) as Option<Out<URL, O>>;
  },
  /** A path; with `mustExist` it must name a readable file when the component starts. */
  file<O extends WithDefault<string> & { mustExist?: boolean }>(o: O): Option<Out<string, O>> {
    return make('file', o, '<path>', parseFilePath(o.mustExist ?? false)) as Option<Out<string, O>>;
  },
  /**
   * A secret: from env PODKIT_<NAME>, or from a file named by --<name>-file / PODKIT_<NAME>_FILE, which
   * is re-read on every use. There is deliberately no flag carrying the value itself.
   */
  secret(o: Common): Option<Secret> {
    return make('secret', o, '<path>', () => {
      throw new Error('secret options are resolved by parseOptions, never parsed from text');
    });
  },
  /**
   * An option of a kind of its own: `parse` turns the text into the value once, at start-up, and throws
   * `Expected` (the value is quoted, URL passwords redacted) or `Rejected` (the value is not echoed).
   */
  custom<T, O extends WithDefault<string> & { placeholder: string; typeName?: string }>(
    parse: Parser<T>,
    o: O,
  ): Option<Out<T, O>> {
    return make('custom', o, o.placeholder, parse) as Option<Out<T, O>>;
  },
};

/** A throwable for cross-option checks: `throw invalid('certFile', 'is required with --mode l7')`. */
export function invalid(key: string, message: string): ConfigError {
  return new ConfigError(key, `--${flagName(key)} ${message}`);
}
