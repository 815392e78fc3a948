/**
 * Validates a rendered Kubernetes object against its kubernetes-models schema, and refuses fields the
 * schema does not name: kubernetes-models (like the OpenAPI schemas it compiles) lets unknown fields
 * through, so `securityContex:` or a field one level off would pass it. The compiled validator reads every
 * property its schema names and enumerates only maps (labels, data, resources.limits); a key of an
 * object it looked into that it neither read nor enumerated is unknown to the schema.
 */

type Validatable = { validate(): void };
type ModelClass = (new (data: unknown) => Validatable) & { prototype: Validatable };

interface Visit {
  path: string;
  target: Record<string, unknown>;
  read: Set<string>;
  enumerated: boolean;
}

/** kubernetes-models' class for an object, by apiVersion and kind (core group: `v1`). */
export async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const module = (await import(`kubernetes-models/${apiVersion}`).catch(() => ({}))) as Record<
    string,
    unknown
  >;
  return module[kind] as ModelClass | undefined;
}

/** Wraps `root` so every property the validator reads, and every object it enumerates, is recorded. */
function track(root: unknown): { proxy: unknown; visits: () => Visit[] } {
  const visits = new Map<object, Visit>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const cached = proxies.get(value);
    if (cached) return cached;
    const visit = (): Visit => {
      let found = visits.get(value);
      if (!found) {
        found = { path, target: value as Record<string, unknown>, read: new Set(), enumerated: false };
        visits.set(value, found);
      }
      return found;
    };
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return child;
        visit().read.add(key);
        return Object.hasOwn(target, key) ? wrap(child, `${path}/${key}`) : child;
      },
      has(target, key) {
        if (typeof key === 'string') visit().read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        visit().enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root, ''), visits: () => [...visits.values()] };
}

/**
 * What is wrong with a manifest: the schema's own errors, or each field its schema does not name (as a
 * JSON pointer, e.g. `/spec/template/spec/containers/0/securityContex`). Empty when it is valid.
 */
export async function schemaProblems(manifest: { apiVersion: string; kind: string }): Promise<string[]> {
  const Model = await modelFor(manifest.apiVersion, manifest.kind);
  if (!Model) return [`${manifest.apiVersion} ${manifest.kind} is not a known kind`];
  const { proxy, visits } = track(manifest);
  try {
    // The model's validate() is the compiled schema run on `this`; run it on the tracked object.
    Model.prototype.validate.call(proxy);
  } catch (error) {
    return [(error as Error).message];
  }
  const unknown: string[] = [];
  for (const { path, target, read, enumerated } of visits()) {
    if (enumerated || Array.isArray(target)) continue;
    for (const key of Object.keys(target)) if (!read.has(key)) unknown.push(`${path}/${key}: unknown field`);
  }
  return unknown;
}
