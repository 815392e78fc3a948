/**
 * JSON requests to the Kubernetes API with a KubeConfig's credentials and TLS settings, and a paginated
 * list on top. They go through node:http(s) rather than the generated clients: watchers address
 * resources by apiVersion + plural name, which the typed clients cannot (KubernetesObjectApi would need a
 * discovery round trip first), and a process that loads none of the generated API is smaller and ready
 * sooner (the bundle leaves it out, scripts/bundle.ts; docs/performance.md).
 */

import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { describeError, ErrorCode, PodkitError } from './errors.js';
import { freshBearer } from './kube-token.js';

/** An error answer from the API server, with its HTTP code and Status reason. */
export class KubeApiError extends PodkitError {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(ErrorCode.KUBE_API, message);
    this.name = 'KubeApiError';
  }
}

export interface KubeList<T> {
  items: T[];
  resourceVersion: string;
}

const requestTimeoutMs = 60_000;

export interface KubeRequest {
  method?: 'GET' | 'POST';
  /** Path from the server's root, e.g. `/api/v1/namespaces/default/services`. */
  path: string;
  query?: Record<string, string | undefined>;
  /** Sent as JSON (POST). */
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Sends one request and answers its JSON document. Non-2xx answers become KubeApiError with the
 * server's Status reason and message.
 */
export async function requestJson(kc: KubeConfig, request: KubeRequest): Promise<unknown> {
  const { method = 'GET', path, query = {}, signal } = request;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new PodkitError(ErrorCode.KUBE_API, 'the kubeconfig has no current cluster');
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}${path}`);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const bearer = await freshBearer(kc);
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        agent: options.agent,
        auth: options.auth,
        headers: {
          ...options.headers,
          ...(bearer ? { Authorization: bearer } : {}),
          Accept: 'application/json',
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        signal,
        timeout: requestTimeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          if (code >= 200 && code < 300 && body !== undefined) return resolve(body);
          const status = (body ?? {}) as { message?: string; reason?: string };
          const detail = status.message ?? (text.slice(0, 200) || res.statusMessage);
          reject(
            new KubeApiError(
              code,
              status.reason,
              `${method} ${path}: ${code} ${status.reason ?? res.statusMessage}: ${detail}`,
            ),
          );
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${path}: no answer within ${requestTimeoutMs} ms`)),
    );
    // Name the request in transport failures too ("connect ECONNREFUSED" alone says nothing of where).
    req.on('error', (err) =>
      reject(
        signal?.aborted
          ? err
          : new PodkitError(ErrorCode.KUBE_API, `${method} ${path}: ${describeError(err)}`, { cause: err }),
      ),
    );
    req.end(payload);
  });
}

interface ListPage {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubernetesObject[];
}

/**
 * Lists every matching object, following continue tokens. When a token expires (410) between pages,
 * starts over in one unpaginated request, as client-go's pager does. Items get their kind and apiVersion
 * back (typed lists omit them), so listed objects look like watched ones.
 */
export async function listAll<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  selectors: { labelSelector?: string; fieldSelector?: string },
  options: { pageSize?: number; signal?: AbortSignal } = {},
): Promise<KubeList<T>> {
  const items: KubernetesObject[] = [];
  let token: string | undefined;
  let limit: string | undefined = String(options.pageSize ?? 500);
  for (;;) {
    let page: ListPage;
    try {
      page = (await requestJson(kc, {
        path,
        query: { ...selectors, limit, continue: token },
        signal: options.signal,
      })) as ListPage;
    } catch (err) {
      if (token && err instanceof KubeApiError && err.statusCode === 410) {
        items.length = 0;
        token = undefined;
        limit = undefined;
        continue;
      }
      throw err;
    }
    const kind = page.kind?.replace(/List$/, '');
    for (const item of page.items ?? []) items.push({ kind, apiVersion: page.apiVersion, ...item });
    token = page.metadata?.continue || undefined;
    if (!token) return { items: items as T[], resourceVersion: page.metadata?.resourceVersion ?? '' };
  }
}
