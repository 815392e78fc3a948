/**
 * Real git for tests: a bare "remote" repository in a temp dir with a working clone to commit and push
 * from, served over file://, over `git daemon` on loopback (which can be stopped and started again on
 * the same port to play an outage), and over HTTP by `git http-backend` behind basic auth.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { type Teardown, waitForReadyLine } from './process.js';
import { waitFor } from './wait.js';

const exec = promisify(execFile);

/** The environment for git in tests: none of the caller's GIT_* variables, a fixed identity. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return {
    ...env,
    GIT_AUTHOR_NAME: 'podkit test',
    GIT_AUTHOR_EMAIL: 'test@podkit.invalid',
    GIT_COMMITTER_NAME: 'podkit test',
    GIT_COMMITTER_EMAIL: 'test@podkit.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
}

export async function git(cwd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await exec('git', [...args], { cwd, env: gitEnv(), maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

export interface Remote {
  /** Directory holding the bare repository (`<name>.git`) and the working clone. */
  dir: string;
  bare: string;
  work: string;
  name: string;
  fileUrl: string;
  /** Writes files (path -> content) in the clone and commits them; returns the commit hash. */
  commit(files: Record<string, string>, message?: string): Promise<string>;
  /** `git push` from the clone, e.g. push('HEAD:refs/heads/main') or push('--force', ...). */
  push(...args: string[]): Promise<void>;
  /** Runs git in the clone. */
  git(...args: string[]): Promise<string>;
}

/** A bare repository with a `main` branch holding one commit (`files`), and a clone to work in. */
export async function makeRemote(
  t: Teardown,
  files: Record<string, string> = { 'README.md': 'first\n' },
  name = 'app',
  dir = mkdtempSync(join(tmpdir(), 'podkit-git-')),
): Promise<Remote & { first: string }> {
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bare = join(dir, `${name}.git`);
  const work = join(dir, `${name}-work`);
  await git(dir, ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  await git(dir, ['init', '--quiet', '--initial-branch=main', work]);
  await git(work, ['remote', 'add', 'origin', bare]);
  const remote: Remote = {
    dir,
    bare,
    work,
    name,
    fileUrl: `file://${bare}`,
    async commit(changes, message = 'change') {
      for (const [path, content] of Object.entries(changes)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), content);
      }
      await git(work, ['add', '--all']);
      await git(work, ['commit', '--quiet', '--allow-empty', '-m', message]);
      return git(work, ['rev-parse', 'HEAD']);
    },
    async push(...args) {
      await git(work, ['push', '--quiet', 'origin', ...(args.length ? args : ['HEAD:refs/heads/main'])]);
    },
    git: (...args) => git(work, args),
  };
  const first = await remote.commit(files, 'first');
  await remote.push();
  return { ...remote, first };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface GitDaemon {
  port: number;
  /** `git://127.0.0.1:<port>/<path under the base>` */
  url(path: string): string;
  stop(): Promise<void>;
  /** Starts again on the same port (after stop). */
  start(): Promise<void>;
}

/** `git daemon` serving every repository under `baseDir` read-only on a loopback port. */
export async function startGitDaemon(t: Teardown, baseDir: string): Promise<GitDaemon> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(
      'git',
      [
        'daemon',
        `--base-path=${baseDir}`,
        '--export-all',
        '--reuseaddr',
        '--listen=127.0.0.1',
        `--port=${port}`,
        // Says "Ready to rumble" once it listens.
        '--verbose',
        baseDir,
      ],
      { env: gitEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    await waitForReadyLine(proc, 'Ready to rumble', `git daemon on port ${port}`);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
    await waitFor(async () => !(await portOpen(port)), { what: `port ${port} closed` });
  };
  await start();
  t.teardown(stop);
  return { port, url: (path) => `git://127.0.0.1:${port}/${path}`, stop, start };
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<path under the project root>` */
  url(path: string): string;
  /** Requests refused for missing or wrong credentials. */
  readonly refused: number;
  /** Credentials the server accepts from now on. */
  setPassword(password: string): void;
}

/**
 * The smart HTTP protocol by `git http-backend` (CGI), behind a small Node server that demands basic
 * auth: a real remote that refuses wrong credentials the way hosted git servers do (401).
 */
export async function startGitHttp(
  t: Teardown,
  projectRoot: string,
  credentials: { username: string; password: string },
): Promise<GitHttpServer> {
  let password = credentials.password;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const given = Buffer.from(
      /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '',
      'base64',
    ).toString();
    if (given !== `${credentials.username}:${password}`) {
      refused++;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="podkit-test"' }).end('unauthorized\n');
      return;
    }
    serveCgi(req, res, projectRoot, credentials.username);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return {
    url: (path) => `http://127.0.0.1:${port}/${path}`,
    get refused() {
      return refused;
    },
    setPassword(next) {
      password = next;
    },
  };
}

function serveCgi(req: IncomingMessage, res: ServerResponse, projectRoot: string, user: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const child = spawn('git', ['http-backend'], {
    env: {
      ...gitEnv(),
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (end < 0) return;
    const separator = head.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split(/\r?\n/)) {
      const [name, ...rest] = line.split(':');
      const value = rest.join(':').trim();
      if (!name) continue;
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    headersDone = true;
    res.write(head.subarray(end + separator));
  });
  child.stdout.on('end', () => res.end());
  child.once('error', () => res.writeHead(500).end());
}
