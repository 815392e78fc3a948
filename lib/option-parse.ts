/**
 * Reading a spec's values from flags and the environment (names: option-names.ts). Precedence: flag >
 * scoped env > plain env > default; a secret reads its scoped value, its scoped `_FILE`, then the plain
 * ones. Errors name the option, the value (passwords redacted) and the variable it came from.
 */

import { parseArgs } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';
import { ConfigError } from './errors.js';
import {
  aliasFlags,
  type EnvVariable,
  either,
  envVariables,
  flagName,
  userEnv,
  userFlag,
} from './option-names.js';
import { Expected, parseFilePath, Rejected } from './option-types.js';
import type { Option, Spec, Values } from './options.js';
import { Secret } from './secret.js';

export interface Parsed<S extends Spec> {
  values: Values<S>;
  /** Human-readable warnings (deprecated options and spellings) to log once a logger exists. */
  warnings: string[];
  /** The options a user set (by a flag or a variable), as opposed to defaults. */
  given: ReadonlySet<keyof S & string>;
}

export interface ParseContext {
  /** The component whose scoped variables (`PODKIT_<COMPONENT>_*`) are read before the plain ones. */
  component?: string | undefined;
}

/** A value's origin for error messages: the flag spelling typed, or the variable. */
interface Origin {
  flag: string;
  source: string;
}

export function parseOptions<S extends Spec>(
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  context: ParseContext = {},
): Parsed<S> {
  const warnings: string[] = [];
  const given = new Set<string>();
  const fromFlags = readFlags(spec, argv, warnings);
  const values: Record<string, unknown> = {};

  for (const [key, option] of Object.entries(spec)) {
    const flag = userFlag(key, option);
    const variables = envVariables(key, option, context.component);
    const present = variables.filter((v) => env[v.name] !== undefined);
    for (const v of present) {
      if (v.replacedBy) warnings.push(`${v.name} is deprecated: use ${v.replacedBy}`);
    }
    const flagged = fromFlags.get(key);
    if ((flagged || present.length > 0) && option.deprecated) {
      warnings.push(`${flag} is deprecated: ${option.deprecated}`);
    }
    if (flagged || present.length > 0) given.add(key);
    if (option.kind === 'secret') {
      values[key] = readSecret(key, option, flagged, present, env, context.component);
      continue;
    }
    let raw: string | undefined;
    let origin: Origin;
    const fromEnv = present[0];
    if (flagged) {
      // A repeated list flag accumulates; any other repeated flag keeps its last value, like most CLIs.
      raw = option.kind === 'list' ? flagged.values.join(',') : flagged.values.at(-1);
      origin = { flag: flagged.spelling, source: '' };
    } else if (fromEnv) {
      raw = env[fromEnv.name];
      origin = { flag, source: ` (from env ${fromEnv.name})` };
    } else {
      raw = option.default;
      origin = { flag, source: ' (the default)' };
    }
    if (raw === undefined || (raw.trim() === '' && option.kind !== 'string' && option.kind !== 'list')) {
      if (option.required) throw missing(key, option, context.component);
      values[key] = undefined;
      continue;
    }
    values[key] = parseValue(key, option, raw, origin);
  }
  return { values: values as Values<S>, warnings, given: given as ReadonlySet<keyof S & string> };
}

function parseValue(key: string, option: Option<unknown>, raw: string, { flag, source }: Origin): unknown {
  try {
    return option.parse(raw);
  } catch (err) {
    if (err instanceof Rejected) throw new ConfigError(key, `${flag}${source} ${err.message}`);
    if (!(err instanceof Expected)) throw err;
    throw new ConfigError(key, `invalid ${flag} ${quote(raw)}${source}: expected ${err.message}`);
  }
}

/** "missing --repo: set --repo or PODKIT_REPO (or PODKIT_GIT_PULL_REPO)". */
function missing(key: string, option: Option<unknown>, component: string | undefined): ConfigError {
  const flag = userFlag(key, option);
  const plain = userEnv(key, option);
  const scoped = component === undefined ? [] : userEnv(key, option, component).slice(0, plain.length);
  const extra = scoped.length ? ` (or ${either(scoped)})` : '';
  const what = option.kind === 'secret' ? '' : ` (${option.description})`;
  return new ConfigError(key, `missing ${flag}: set ${either([flag, ...plain])}${extra}${what}`);
}

function readSecret(
  key: string,
  option: Option<unknown>,
  flagged: FlagValues | undefined,
  present: EnvVariable[],
  env: NodeJS.ProcessEnv,
  component: string | undefined,
): Secret {
  const fromEnv = present[0];
  const path = flagged ? flagged.values.at(-1) : fromEnv?.file ? env[fromEnv.name] : undefined;
  if (path !== undefined) {
    try {
      parseFilePath(true)(path);
    } catch (err) {
      if (!(err instanceof Expected)) throw err;
      const flag = flagged?.spelling ?? userFlag(key, option);
      const source = flagged ? '' : ` (from env ${fromEnv?.name})`;
      throw new ConfigError(key, `invalid ${flag} ${quote(path)}${source}: expected ${err.message}`);
    }
    return new Secret({ kind: 'file', path });
  }
  if (fromEnv) return new Secret({ kind: 'env', variable: fromEnv.name, value: env[fromEnv.name] as string });
  if (option.required) throw missing(key, option, component);
  return Secret.unset();
}

interface FlagValues {
  values: string[];
  /** The spelling last used, e.g. `--reload-url`, for error messages. */
  spelling: string;
}

/** Flags by spec key; values are raw strings, booleans become "true"/"false". */
function readFlags(spec: Spec, argv: readonly string[], warnings: string[]): Map<string, FlagValues> {
  const byFlag = new Map<
    string,
    { key: string; option: Option<unknown>; negated: boolean; replacedBy?: string }
  >();
  for (const [key, option] of Object.entries(spec)) {
    const current = userFlag(key, option);
    byFlag.set(current.slice(2), { key, option, negated: false });
    if (option.kind === 'bool') byFlag.set(`no-${flagName(key)}`, { key, option, negated: true });
    for (const alias of aliasFlags(option)) {
      byFlag.set(alias.slice(2), { key, option, negated: false, replacedBy: current });
      if (option.kind === 'bool')
        byFlag.set(`no-${alias.slice(2)}`, {
          key,
          option,
          negated: true,
          replacedBy: `--no-${flagName(key)}`,
        });
    }
  }
  // Declaring value-taking flags as strings lets parseArgs pair `--name value`; unknown flags still
  // come through as tokens (strict: false) so they get our message with a suggestion.
  const declared = Object.fromEntries(
    [...byFlag].map(
      ([flag, { option }]) => [flag, { type: option.kind === 'bool' ? 'boolean' : 'string' }] as const,
    ),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: declared,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const found = new Map<string, FlagValues>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new ConfigError(
        '',
        `unexpected argument ${quote(token.value)}: options are written --name value`,
      );
    }
    if (token.kind !== 'option') continue;
    const entry = byFlag.get(token.name);
    if (!entry) {
      const suggestion = nearest(token.name, [...byFlag.keys()]);
      throw new ConfigError(
        token.name,
        `unknown option ${token.rawName}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`,
      );
    }
    const { key, option, negated, replacedBy } = entry;
    if (replacedBy) warnings.push(`${token.rawName} is deprecated: use ${replacedBy}`);
    let value: string;
    if (option.kind === 'bool') {
      if (negated && token.value !== undefined) {
        throw new ConfigError(key, `${token.rawName} takes no value`);
      }
      value = negated ? 'false' : (token.value ?? 'true');
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
        throw new ConfigError(key, `${token.rawName} needs a value: ${option.placeholder}`);
      }
      value = token.value;
    }
    const spelling = negated ? `--${token.name.replace(/^no-/, '')}` : token.rawName;
    found.set(key, { values: [...(found.get(key)?.values ?? []), value], spelling });
  }
  return found;
}

/** Env prefixes that are never warned about: test settings read by the test support, not by components. */
const ignoredEnvPrefixes = ['PODKIT_TEST_'];

/** Every variable a spec reads for a component (scoped and plain, old spellings too). */
export function knownEnvNames(spec: Spec, component?: string): string[] {
  return Object.entries(spec).flatMap(([key, option]) =>
    envVariables(key, option, component).map((v) => v.name),
  );
}

/** The `PODKIT_*` variables in `env` that a spec does not read, sorted. */
export function unknownEnv(spec: Spec, env: NodeJS.ProcessEnv, component?: string): string[] {
  const known = new Set(knownEnvNames(spec, component));
  return Object.keys(env)
    .filter((name) => name.startsWith('PODKIT_') && !known.has(name))
    .filter((name) => !ignoredEnvPrefixes.some((prefix) => name.startsWith(prefix)))
    .sort();
}

/** Warnings for variables nothing knows, each with the nearest known name when it looks like a typo. */
export function unknownEnvWarnings(unknown: readonly string[], known: Iterable<string>): string[] {
  const knownSet = new Set(known);
  const names = [...knownSet];
  return unknown
    .filter((name) => !knownSet.has(name))
    .map((name) => {
      const suggestion = nearest(name, names);
      return `unknown environment variable ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}: ignored`;
    });
}

/** The closest known name when it is plausibly a typo (edit distance within a third of the length). */
function nearest(name: string, known: string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(name, known);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function quote(raw: string): string {
  // A URL with a password is quoted without it: config errors reach stderr and the termination log.
  const safe = raw.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]*@/gi, '$1:redacted@');
  const text = safe.length > 80 ? `${safe.slice(0, 77)}...` : safe;
  return JSON.stringify(text);
}
