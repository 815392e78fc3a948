/**
 * The names an option is known by: its flag, and the environment variables it is read from. Every
 * option has a component-scoped variable (`PODKIT_TLS_PROXY_LISTEN`) and a plain one (`PODKIT_LISTEN`):
 * one ConfigMap for a whole pod (`envFrom`) sets each container apart with the scoped names, and the
 * plain ones still reach every container that has the option. Old spellings (aliases) keep working.
 */

import type { Option } from './options.js';

/** `upstreamTimeout` -> `upstream-timeout`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `tls-proxy` -> `PODKIT_TLS_PROXY_`: the prefix of a component's own variables. */
export function scopePrefix(component: string): string {
  return `PODKIT_${component.replace(/-/g, '_').toUpperCase()}_`;
}

function variable(flag: string, component?: string): string {
  const name = flag.replace(/-/g, '_').toUpperCase();
  return component === undefined ? `PODKIT_${name}` : `${scopePrefix(component)}${name}`;
}

/** `PODKIT_UPSTREAM_TIMEOUT`; with a component, its scoped name `PODKIT_TLS_PROXY_UPSTREAM_TIMEOUT`. */
export function envName(key: string, component?: string): string {
  return variable(flagName(key), component);
}

/** The flag a user types: secrets take a file path, so their flag ends in -file. */
export function userFlag(key: string, option: Option<unknown>): string {
  return option.kind === 'secret' ? `--${flagName(key)}-file` : `--${flagName(key)}`;
}

function scopes(component: string | undefined): (string | undefined)[] {
  return component === undefined ? [undefined] : [component, undefined];
}

function names(option: Option<unknown>, spelling: string, scope: string | undefined): string[] {
  const name = variable(spelling, scope);
  return option.kind === 'secret' ? [name, `${name}_FILE`] : [name];
}

/** Each old spelling's flag (a secret's ends in -file like its own) and variables, for docs. */
export function oldSpellings(
  option: Option<unknown>,
  component?: string,
): { flag: string; variables: string[] }[] {
  return (option.aliases ?? []).map((alias) => ({
    flag: option.kind === 'secret' ? `--${alias}-file` : `--${alias}`,
    variables: scopes(component).flatMap((scope) => names(option, alias, scope)),
  }));
}

/** The old spellings' flags, e.g. `--reload-url`. */
export function aliasFlags(option: Option<unknown>): string[] {
  return oldSpellings(option).map((old) => old.flag);
}

export interface EnvVariable {
  name: string;
  /** A secret's `_FILE` variable: it names a file holding the value. */
  file: boolean;
  /** Set on an old spelling: the variable that replaces it. */
  replacedBy?: string;
}

/**
 * Every variable an option is read from, the one that wins first: scoped before plain; within each,
 * the current spelling before old ones; for a secret, its value before its `_FILE`.
 */
export function envVariables(key: string, option: Option<unknown>, component?: string): EnvVariable[] {
  const current = flagName(key);
  const found: EnvVariable[] = [];
  for (const scope of scopes(component)) {
    const replacements = names(option, current, scope);
    for (const spelling of [current, ...(option.aliases ?? [])]) {
      names(option, spelling, scope).forEach((name, index) => {
        const old = spelling !== current;
        found.push({ name, file: index === 1, ...(old ? { replacedBy: replacements[index] } : {}) });
      });
    }
  }
  return found;
}

/** The variables `--help` and the README tables show: current spellings, the one that wins first. */
export function userEnv(key: string, option: Option<unknown>, component?: string): string[] {
  return envVariables(key, option, component)
    .filter((v) => v.replacedBy === undefined)
    .map((v) => v.name);
}

/** `a`, `a or b`, `a, b or c`. */
export function either(names: readonly string[]): string {
  return names.length <= 1
    ? (names[0] ?? '')
    : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
