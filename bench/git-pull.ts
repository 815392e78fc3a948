/**
 * npm run bench -- git-pull: push -> new revision live, side by side in one run with the seed's loop
 * (`while true; do git pull; sleep 10; done`, the anchor every git-sync user started from), all watching
 * the same remote and the same pushes:
 *
 * - the seed loop and git-pull with the default --period 10s, on the same push (goal: <= period + 1 s);
 * - git-pull with POST /sync right after the push (goal: < 1 s for a small repository);
 * - git-pull's idle RSS 10 s and 60 s after the last push, syncing every 10 s (goal: <= 50 MB).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { podkitArgs } from './lib/podkit-command.js';
import { anonMb, idleSettleMs, rssMb } from './lib/process-stats.js';
import { median } from './lib/side-by-side.js';

const periodRounds = 8;
const longIdleMs = 60_000;
const syncRounds = 10;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@podkit.invalid', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`git-pull exited (${child.exitCode}) during start-up`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(50);
  }
  throw new Error(`not ready: ${url}`);
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-git-pull-'));
  const children: ChildProcess[] = [];
  try {
    const bare = join(dir, 'site.git');
    const work = join(dir, 'work');
    git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    git(dir, 'clone', '--quiet', bare, work);
    const push = (n: number) => {
      writeFileSync(join(work, 'rev.txt'), `${n}\n`);
      git(work, 'add', 'rev.txt');
      git(work, 'commit', '--quiet', '-m', `rev ${n}`);
      git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    };
    push(0);
    const seed = join(dir, 'seed');
    git(dir, 'clone', '--quiet', bare, seed);

    const anchor = spawn('sh', ['-c', `while true; do git -C '${seed}' pull -q --ff-only; sleep 10; done`], {
      stdio: 'ignore',
    });
    children.push(anchor);
    const startGitPull = async (root: string, extra: string[]) => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [
          ...podkitArgs('git-pull'),
          '--repo',
          `file://${bare}`,
          '--root',
          root,
          '--link',
          'site',
          '--admin-address',
          `127.0.0.1:${port}`,
          '--log-level',
          'warn',
          ...extra,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      await waitReady(`http://127.0.0.1:${port}/readyz`, child);
      return { child, admin: `http://127.0.0.1:${port}`, file: join(root, 'site', 'rev.txt') };
    };
    const periodic = await startGitPull(join(dir, 'periodic'), []);
    const onDemand = await startGitPull(join(dir, 'on-demand'), ['--period', '1h', '--sync-open']);

    // Same push, both watchers: each round waits for both to show it (or 25 s).
    const anchorMs: number[] = [];
    const periodicMs: number[] = [];
    for (let n = 1; n <= periodRounds; n++) {
      // Pushes arrive at any phase of the 10 s loops: both watchers then average period/2 + their sync
      // time, and a handful of pushes mostly measures where the phases fell (read the max against the goal).
      await sleep(Math.random() * 10_000);
      push(n);
      const pushed = performance.now();
      const seen: { anchor?: number; periodic?: number } = {};
      while (
        (seen.anchor === undefined || seen.periodic === undefined) &&
        performance.now() - pushed < 25_000
      ) {
        if (seen.anchor === undefined && read(join(seed, 'rev.txt')) === String(n))
          seen.anchor = performance.now() - pushed;
        if (seen.periodic === undefined && read(periodic.file) === String(n))
          seen.periodic = performance.now() - pushed;
        await sleep(5);
      }
      anchorMs.push(seen.anchor ?? Number.NaN);
      periodicMs.push(seen.periodic ?? Number.NaN);
    }

    const syncMs: number[] = [];
    for (let n = periodRounds + 1; n <= periodRounds + syncRounds; n++) {
      await sleep(1100); // POST /sync accepts one request per second
      push(n);
      const pushed = performance.now();
      const answer = await fetch(`${onDemand.admin}/sync`, { method: 'POST' });
      await answer.arrayBuffer();
      while (read(onDemand.file) !== String(n) && performance.now() - pushed < 10_000) await sleep(1);
      syncMs.push(read(onDemand.file) === String(n) ? performance.now() - pushed : Number.NaN);
    }

    // Idle is measured twice: soon after the pushes, and a minute on, after five more (no-op) syncs, where
    // garbage the syncs leave behind would show as creep.
    const footprint = () => ({
      rss: rssMb(periodic.child.pid as number),
      anon: anonMb(periodic.child.pid as number),
    });
    await sleep(idleSettleMs);
    const soon = footprint();
    await sleep(longIdleMs - idleSettleMs);
    const later = footprint();
    const idleLine = (when: string, { rss, anon }: { rss: number; anon: number }) =>
      `git-pull idle RSS (${when} after the last push): ${rss.toFixed(1)} MB (goal <= 50 MB: ${rss <= 50 ? 'met' : 'NOT met'}), of which private (RssAnon) ${anon.toFixed(1)} MB`;
    const row = (name: string, values: number[], goal: string) =>
      `| ${name} | ${values.length} | ${median(values).toFixed(0)} | ${Math.max(...values).toFixed(0)} | ${goal} |`;
    return [
      '## git-pull: push -> new revision live',
      '',
      '| watcher | pushes | median ms | max ms | goal |',
      '| --- | ---: | ---: | ---: | --- |',
      row('anchor: `git pull; sleep 10` loop', anchorMs, 'in place, not atomic'),
      row('git-pull, default --period 10s', periodicMs, '<= 11000 ms'),
      row('git-pull, POST /sync after the push', syncMs, '< 1000 ms'),
      '',
      `period ratio (git-pull / anchor, medians): ${(median(periodicMs) / median(anchorMs)).toFixed(2)}   ` +
        `POST /sync vs anchor: ${(median(syncMs) / median(anchorMs)).toFixed(3)}`,
      idleLine(`${idleSettleMs / 1000} s`, soon),
      idleLine(`${longIdleMs / 1000} s`, later),
      '',
    ].join('\n');
  } finally {
    for (const child of children) child.kill('SIGKILL');
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
