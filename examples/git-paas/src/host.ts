/**
 * The app of the git-push PaaS demo: a Node server whose request handler lives in a git repository.
 * git-pull publishes the repository into a shared directory and sends SIGHUP after each publish; on
 * SIGHUP this host resolves the link once more and imports the new revision's `app.mjs` (its default
 * export is `(req, res) => void`). A revision whose handler does not load is refused: the previous
 * handler keeps serving, and the refusal is logged.
 *
 *   node dist/examples/git-paas/src/host.js --tree /srv/site/current --port 8090 [--title podkit-paas-app]
 */

import { realpathSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const { values } = parseArgs({
  options: {
    tree: { type: 'string' },
    port: { type: 'string', default: '8090' },
    title: { type: 'string', default: 'podkit-paas-app' },
    'pid-file': { type: 'string' },
  },
});
if (!values.tree) {
  console.error('git-paas host: --tree <path of the link git-pull publishes> is required');
  process.exit(2);
}
const tree = values.tree;
// git-pull finds the app by this name (--process-name) across the pod's shared process namespace.
process.title = values.title;
if (values['pid-file']) writeFileSync(values['pid-file'], `${process.pid}\n`);

let current: { handler: Handler; revision: string } | undefined;

async function load(reason: string): Promise<void> {
  try {
    // Resolve the link once: everything this revision loads comes from one complete worktree.
    const dir = realpathSync(tree);
    const module = (await import(pathToFileURL(join(dir, 'app.mjs')).href)) as { default?: unknown };
    if (typeof module.default !== 'function') throw new Error('app.mjs has no default export function');
    current = { handler: module.default as Handler, revision: basename(dir) };
    console.log(JSON.stringify({ msg: 'loaded', reason, revision: current.revision }));
  } catch (err) {
    console.log(
      JSON.stringify({
        msg: 'refused a revision',
        reason,
        error: String(err),
        serving: current?.revision ?? null,
      }),
    );
  }
}

const server = createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok\n');
  if (req.url === '/__revision')
    return void res.end(`${JSON.stringify({ revision: current?.revision ?? null })}\n`);
  if (!current) return void res.writeHead(503).end('no revision published yet\n');
  try {
    current.handler(req, res);
  } catch (err) {
    res.writeHead(500).end(`${String(err)}\n`);
  }
});

process.on('SIGHUP', () => void load('SIGHUP'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
await load('start');
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: 'listening', port }));
});
