/**
 * The HTTP face of the fake: authentication, injected faults, RBAC denials, routing of the REST paths to
 * the store, and watch streams. Every request is logged so tests can assert what a client asked for.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { applyPatch } from './patch.js';
import { type Authorizer, nameFromFieldSelector } from './rbac.js';
import { apiVersionOf, discoveryDocument, type ResourceType } from './resources.js';
import { parseRoute, type Route } from './route.js';
import { objectMatcher } from './selectors.js';
import {
  badRequest,
  deletedStatus,
  forbidden,
  internalError,
  methodNotAllowed,
  pathNotFound,
  StatusError,
  statusError,
  unauthorized,
  unsupportedMediaType,
} from './status.js';
import type { Store } from './store.js';
import { isRecord, type KubeObject, type StoredObject } from './types.js';
import { type WatchSettings, WatchStream } from './watch.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The HTTP code answered, once the answer is complete (a watch: when it ends). */
  code?: number;
}

export interface ServerOptions extends WatchSettings {
  /** The one bearer token accepted; undefined: any request. Changed by rotateToken. */
  token?: string;
  /** The user named in Forbidden messages. */
  user: string;
  authorizer: Authorizer;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string; key: string };
}

interface Fault {
  remaining: number;
  status: number;
  method?: string;
  path?: RegExp;
}

/** What a handler answers; `streaming` when it took over the response (a watch). */
type Reply = { code: number; body: unknown } | 'streaming';

const version = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-podkit-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err.details?.retryAfterSeconds) res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
  sendJson(res, err.code, err.toStatus());
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string, contentType: string | undefined): KubeObject {
  const type = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== '') {
    throw unsupportedMediaType([
      'application/json',
      'application/yaml',
      'application/vnd.kubernetes.protobuf',
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) throw badRequest("couldn't get version/kind; json parse error: not an object");
  return parsed;
}

/** Items of a typed list carry no kind/apiVersion on the real server. */
function listBody(rt: ResourceType, items: StoredObject[], metadata: Record<string, unknown>): KubeObject {
  return {
    kind: `${rt.kind}List`,
    apiVersion: apiVersionOf(rt),
    metadata,
    items: items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest),
  };
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

export class ApiServer {
  readonly requests: RequestRecord[] = [];
  readonly watches = new Set<WatchStream>();
  readonly #faults: Fault[] = [];
  #server: Server | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: ServerOptions,
  ) {}

  /** Listens on 127.0.0.1; port 0 picks a free one. Returns the bound port. */
  async listen(port: number): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        sendError(res, err instanceof StatusError ? err : internalError(String(err)));
      });
    };
    const { tls } = this.options;
    const server: Server = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key }, handler)
      : createServer(handler);
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Closes the listener and cuts every open connection, watch streams included. */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  endWatches(): void {
    for (const watch of [...this.watches]) watch.end();
  }

  failNext(count: number, status: number, match: { method?: string; path?: RegExp } = {}): void {
    this.#faults.push({ remaining: count, status, method: match.method?.toUpperCase(), path: match.path });
  }

  /** From now on only `token` is accepted; watches already open stay open, as on the real server. */
  rotateToken(token: string): void {
    this.options.token = token;
  }

  #takeFault(method: string, path: string): Fault | undefined {
    const fault = this.#faults.find(
      (f) => f.remaining > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(path)),
    );
    if (fault) fault.remaining -= 1;
    return fault;
  }

  /** `name`: the object asked for, when the route has none (a list or watch pinned by field selector). */
  #checkAccess(verb: string, route: Route, name = route.name): void {
    const resource = route.subresource ? `${route.rt.resource}/${route.subresource}` : route.rt.resource;
    const request = { verb, group: route.rt.group, resource, namespace: route.namespace, name };
    if (!this.options.authorizer.allows(request)) {
      throw forbidden(this.options.user, verb, route.rt, route.subresource, route.namespace, name);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams);
    const record: RequestRecord = { method, path: url.pathname, query };
    this.requests.push(record);
    res.once('finish', () => {
      record.code = res.statusCode;
    });
    const body = await readBody(req);
    if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
      throw unauthorized();
    }
    const fault = this.#takeFault(method, url.pathname);
    if (fault) throw statusError(fault.status);

    if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/version') {
      sendJson(res, 200, version);
      return;
    }
    // Discovery, /version and health are open to every authenticated user (system:discovery).
    const discovery = discoveryDocument(
      url.pathname.replace(/\/$/, ''),
      `${req.socket.localAddress}:${req.socket.localPort}`,
    );
    if (discovery) {
      if (method !== 'GET') throw methodNotAllowed();
      sendJson(res, 200, discovery);
      return;
    }
    const route = parseRoute(url.pathname);
    if (!route) throw pathNotFound();
    if (query.dryRun) throw badRequest('dryRun is not supported by the fake API server');
    const reply =
      route.name === undefined
        ? this.#collection(req, res, route, method, query, body)
        : this.#item(req, route, method, body);
    if (reply !== 'streaming') sendJson(res, reply.code, reply.body);
  }

  #collection(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    method: string,
    query: Record<string, string>,
    body: string,
  ): Reply {
    const { rt, namespace } = route;
    const allNamespaces = rt.namespaced && namespace === undefined;
    if (method === 'GET') {
      const watch = isTrue(query.watch);
      this.#checkAccess(watch ? 'watch' : 'list', route, nameFromFieldSelector(query.fieldSelector));
      const matches = objectMatcher(rt, query);
      if (watch) {
        this.#watch(res, route, matches, query);
        return 'streaming';
      }
      const limit = query.limit === undefined ? undefined : Number(query.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0))
        throw badRequest(`invalid limit: ${query.limit}`);
      const result = this.store.list(rt, namespace, matches, {
        resourceVersion: query.resourceVersion,
        resourceVersionMatch: query.resourceVersionMatch,
        limit,
        continue: query.continue,
        countRemaining: !query.labelSelector && !query.fieldSelector,
      });
      const metadata = {
        resourceVersion: String(result.revision),
        ...(result.continue ? { continue: result.continue } : {}),
        ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
      };
      return { code: 200, body: listBody(rt, result.items, metadata) };
    }
    if (method === 'POST' && !allNamespaces) {
      this.#checkAccess('create', route);
      return {
        code: 201,
        body: this.store.create(rt, namespace, parseObject(body, req.headers['content-type'])),
      };
    }
    if (method === 'DELETE' && !allNamespaces) {
      this.#checkAccess('deletecollection', route);
      const matches = objectMatcher(rt, query);
      const deleted = this.store
        .list(rt, namespace, matches)
        .items.map((obj) => this.store.delete(rt, namespace, obj.metadata.name).object);
      return { code: 200, body: listBody(rt, deleted, { resourceVersion: String(this.store.revision) }) };
    }
    throw methodNotAllowed();
  }

  #item(req: IncomingMessage, route: Route, method: string, body: string): Reply {
    const { rt, namespace, subresource } = route;
    const name = route.name as string;
    switch (method) {
      case 'GET':
        this.#checkAccess('get', route);
        return { code: 200, body: this.store.get(rt, namespace, name) };
      case 'PUT':
        this.#checkAccess('update', route);
        return {
          code: 200,
          body: this.store.update(
            rt,
            namespace,
            name,
            parseObject(body, req.headers['content-type']),
            subresource,
          ),
        };
      case 'PATCH': {
        this.#checkAccess('patch', route);
        const current = this.store.get(rt, namespace, name);
        const patched = applyPatch(current, req.headers['content-type'] ?? '', body);
        return { code: 200, body: this.store.update(rt, namespace, name, patched, subresource) };
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed();
        this.#checkAccess('delete', route);
        const options = body.trim() ? parseObject(body, req.headers['content-type']) : {};
        const preconditions = isRecord(options.preconditions) ? options.preconditions : {};
        const { object, deleted } = this.store.delete(rt, namespace, name, {
          uid: typeof preconditions.uid === 'string' ? preconditions.uid : undefined,
          resourceVersion:
            typeof preconditions.resourceVersion === 'string' ? preconditions.resourceVersion : undefined,
        });
        // Services and namespaces answer with the object, others with a Success Status; a delete that
        // waits for finalizers answers with the object marked for deletion.
        const returnsObject = !deleted || rt.kind === 'Service' || rt.kind === 'Namespace';
        return { code: 200, body: returnsObject ? object : deletedStatus(rt, name, object.metadata.uid) };
      }
      default:
        throw methodNotAllowed();
    }
  }

  #watch(
    res: ServerResponse,
    route: Route,
    matches: ReturnType<typeof objectMatcher>,
    query: Record<string, string>,
  ): void {
    if (query.resourceVersionMatch && !isTrue(query.sendInitialEvents)) {
      throw badRequest('resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
    }
    const rv = query.resourceVersion;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv))
      throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
    const timeout = query.timeoutSeconds === undefined ? undefined : Number(query.timeoutSeconds);
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0)) {
      throw badRequest(`invalid timeoutSeconds: ${query.timeoutSeconds}`);
    }
    const stream = new WatchStream(res, this.store, route.rt, route.namespace, matches, (closed) =>
      this.watches.delete(closed),
    );
    this.watches.add(stream);
    stream.start(
      {
        resourceVersion: rv,
        allowBookmarks: isTrue(query.allowWatchBookmarks),
        timeoutSeconds: timeout,
        sendInitialEvents: isTrue(query.sendInitialEvents),
      },
      this.options,
    );
  }
}
