/**
 * The git-push PaaS pod: a repository made here, an app served from the synced tree, and git-pull between
 * them, reloading the app after each push.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoContainer, DemoContext } from './context.js';

/** The git-push PaaS: a repository made here, an app served from the synced tree, git-pull between them. */
export async function paasPod(ctx: DemoContext): Promise<DemoContainer[]> {
  const dir = join(ctx.dir, 'paas');
  const bare = join(dir, 'site.git');
  const work = join(dir, 'site');
  const volume = join(dir, 'volume');
  mkdirSync(dir, { recursive: true });
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(dir, 'clone', '--quiet', bare, work);
  git(work, 'config', 'user.name', 'podkit demo');
  git(work, 'config', 'user.email', 'demo@podkit.invalid');
  writeFileSync(join(work, 'app.mjs'), "export default (req, res) => res.end('Hello from a git push\\n');\n");
  git(work, 'add', 'app.mjs');
  git(work, 'commit', '--quiet', '-m', 'first deploy');
  git(work, 'push', '--quiet', 'origin', 'HEAD:main');
  const appPort = await ctx.port(8090);
  const adminPort = await ctx.port(9403);
  const title = `podkit-paas-${process.pid}`;
  return [
    {
      name: 'paas-app',
      script: 'examples/git-paas/src/host.js',
      args: ['--tree', join(volume, 'site'), '--port', String(appPort), '--title', title],
      readyUrl: `http://127.0.0.1:${appPort}/healthz`,
      tryLines: [
        `curl http://127.0.0.1:${appPort}/             the PaaS app: its code comes from the synced git tree`,
      ],
    },
    {
      name: 'git-pull',
      script: 'cli.js',
      args: [
        'git-pull',
        '--repo',
        `file://${bare}`,
        '--root',
        volume,
        '--link',
        'site',
        '--signal',
        'SIGHUP',
        '--process-name',
        title,
        '--admin-address',
        `127.0.0.1:${adminPort}`,
        // The demo runs on loopback: POST /sync without a token is only reachable from this machine.
        '--sync-open',
      ],
      readyUrl: `http://127.0.0.1:${adminPort}/readyz`,
      tryLines: [
        `cd ${work} && sed -i 's/Hello/Hi/' app.mjs && git commit -qam 'say hi' && git push -q   deploy by push`,
        `curl -X POST http://127.0.0.1:${adminPort}/sync   live now (else within the 10 s period), the app reloads on SIGHUP`,
        `ls -l ${volume}    one worktree per commit; 'site' is swapped atomically`,
        `curl -s http://127.0.0.1:${adminPort}/metrics | grep podkit_git_pull_`,
      ],
    },
  ];
}
