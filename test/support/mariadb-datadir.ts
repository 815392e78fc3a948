/**
 * One bootstrapped MariaDB data directory per mariadbd version, copied for each private server:
 * `mariadb-install-db` costs about a second of CPU, a copy costs almost nothing. The template holds no
 * password (the per-server init file sets root's), so every server can start from the same one.
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Written last: a template directory without it is an interrupted bootstrap and is never used. */
const READY = 'bootstrap-complete';

const templates = new Map<string, Promise<string>>();

/**
 * The template datadir for this server binary and these bootstrap flags, made on first use by whichever
 * test process gets there first (the others wait for it or use theirs; a rename settles the race).
 */
export function templateDatadir(server: string, install: string, flags: readonly string[]): Promise<string> {
  const key = [server, install, ...flags].join('\0');
  let template = templates.get(key);
  if (!template) {
    template = bootstrap(server, install, flags);
    templates.set(key, template);
    // A failed bootstrap is retried by the next server rather than failing every later test.
    template.catch(() => templates.delete(key));
  }
  return template;
}

async function bootstrap(server: string, install: string, flags: readonly string[]): Promise<string> {
  const { stdout: version } = await run(server, ['--version']);
  const id = createHash('sha256')
    .update([version, process.getuid?.() ?? '', ...flags].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `podkit-mariadb-template-${id}`);
  if (existsSync(join(dir, READY))) return join(dir, 'data');

  const staging = await mkdtemp(join(tmpdir(), 'podkit-mariadb-bootstrap-'));
  try {
    await mkdir(join(staging, 'data'));
    // A private tmpdir: concurrent bootstraps sharing /tmp collide on temporary table names.
    await mkdir(join(staging, 'tmp'));
    await run(install, [
      '--no-defaults',
      `--datadir=${join(staging, 'data')}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      `--tmpdir=${join(staging, 'tmp')}`,
      ...flags,
    ]);
    await rm(join(staging, 'tmp'), { recursive: true });
    await writeFile(join(staging, READY), version);
    await rename(staging, dir).catch((err: NodeJS.ErrnoException) => {
      // Another process got there first; its directory is complete (it renamed after writing READY).
      if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || !existsSync(join(dir, READY))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return join(dir, 'data');
}

/** A private copy of `template` at `datadir` (which must not exist): a reflink where the filesystem has them. */
export async function copyDatadir(template: string, datadir: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', template, datadir]);
}
