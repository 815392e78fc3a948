/**
 * For the credentials tests: a known secret must be in nothing a component wrote or showed. The secrets
 * are named, so a failure says which one leaked without printing it.
 */

/** The names of the secrets whose values appear in `text`. */
export function leakedSecrets(text: string, secrets: Readonly<Record<string, string>>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

/** The bodies of a component's probes (and any other admin paths asked for), to search for secrets. */
export function adminBodies(
  adminUrl: string,
  paths: readonly string[] = ['/healthz', '/readyz', '/startupz'],
): Promise<string[]> {
  return Promise.all(paths.map(async (path) => (await fetch(`${adminUrl}${path}`)).text()));
}
