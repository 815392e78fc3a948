/**
 * What the dir source and the target must never do: follow a link out of the source directory, publish
 * a file or folder more open than --file-mode for even an instant, or turn a key into a path outside
 * --target-dir (property-based, hostile keys).
 */

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { cliPath } from '../../../test/support/process.js';
import { directoryMode } from '../src/layout.js';
import { sanitize, snapshot, unsafeKeyReason } from '../src/snapshot.js';
import { readTarget, startSync, tempDir, waitForFile, waitForMetric } from './helpers.js';

const dirArgs = (source: string, target: string, ...more: string[]) => [
  '--source',
  'dir',
  '--source-dir',
  source,
  '--target-dir',
  target,
  '--debounce',
  '20ms',
  '--poll-interval',
  '300ms',
  ...more,
];

t.test(
  'links out of the source directory are refused (the update is not published); links inside are followed',
  async (t) => {
    const source = tempDir();
    const target = tempDir();
    const outside = join(tempDir(), 'secret.txt');
    writeFileSync(outside, 'not configuration\n');
    writeFileSync(join(source, 'app.conf'), 'v1');
    mkdirSync(join(source, 'conf.d'));
    writeFileSync(join(source, 'conf.d', 'real.conf'), 'nested');
    symlinkSync('app.conf', join(source, 'alias.conf'));
    symlinkSync('conf.d', join(source, 'more.d'));
    const sync = await startSync(t, dirArgs(source, target));
    t.equal(readTarget(target, 'alias.conf'), 'v1', 'a link to a file inside is followed');
    t.equal(readTarget(target, 'more.d/real.conf'), 'nested', 'and to a folder inside');

    for (const [name, to] of [
      ['leak', '/etc/passwd'],
      ['up.conf', `../${outside.split('/').slice(-2).join('/')}`],
      ['conf.d/deep', outside],
      ['etc', '/etc'],
    ] as const) {
      await t.test(`${name} -> ${to}`, async (t) => {
        const before = sync.logs.filter((l) => l.code === 'PODKIT_ERR_SOURCE_LINK').length;
        symlinkSync(to, join(source, name));
        writeFileSync(join(source, 'app.conf'), `with ${name}`);
        const warning = await sync.waitForLog(
          (l) =>
            l.code === 'PODKIT_ERR_SOURCE_LINK' &&
            sync.logs.filter((m) => m.code === 'PODKIT_ERR_SOURCE_LINK').indexOf(l) >= before,
          20_000,
        );
        t.equal(warning.level, 'warn');
        t.match(String(warning.err), new RegExp(`${name} is a symlink that resolves outside the source`));
        t.equal(readTarget(target, 'app.conf'), 'v1', 'the last good version stays live');
        t.equal(readTarget(target, name), undefined, 'nothing from outside is published');
        unlinkSync(join(source, name));
        await waitForFile(target, 'app.conf', `with ${name}`);
        writeFileSync(join(source, 'app.conf'), 'v1');
        await waitForFile(target, 'app.conf', 'v1');
      });
    }
    const published = JSON.stringify(readTarget(target, 'app.conf'));
    t.notOk(published.includes('root:'), 'no /etc/passwd content anywhere');
    await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= 4);
  },
);

t.test(
  '--one-time: a link out of the source directory fails with the code and publishes nothing',
  async (t) => {
    const source = tempDir();
    const target = tempDir();
    writeFileSync(join(source, 'app.conf'), 'v1');
    symlinkSync('/etc/passwd', join(source, 'leak'));
    const run = await runTraced([...dirArgs(source, target), '--one-time']);
    t.equal(run.code, 1);
    t.match(run.stdout, /PODKIT_ERR_SOURCE_LINK/);
    t.equal(readTarget(target, 'app.conf'), undefined);
  },
);

/** config-sync under strace (files, folders and their modes as the kernel saw them), with umask 000. */
function runTraced(args: string[], trace?: string): Promise<{ code: number | null; stdout: string }> {
  const traced = trace
    ? ['strace', '-f', '-qq', '-o', trace, '-e', 'trace=openat,mkdir,mkdirat,chmod,fchmod,fchmodat']
    : [];
  const command = [...traced, process.execPath, cliPath, 'config-sync', ...args]
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  return new Promise((resolvePromise) => {
    const child = spawn('sh', ['-c', `umask 000; exec ${command}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.resume();
    child.once('close', (code) => resolvePromise({ code, stdout }));
  });
}

t.test(
  'files and version folders are created with their final modes, never more open, whatever the umask',
  async (t) => {
    const source = tempDir();
    const target = tempDir();
    writeFileSync(join(source, 'app.conf'), 'secret');
    mkdirSync(join(source, 'conf.d'));
    writeFileSync(join(source, 'conf.d', 'nested.conf'), 'secret too');
    const trace = join(tempDir(), 'strace.log');
    const run = await runTraced([...dirArgs(source, target), '--one-time', '--file-mode', '0600'], trace);
    t.equal(run.code, 0, run.stdout);

    const calls = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line.includes(`${target}/..v`));
    const created = calls.filter((line) => /openat\(.*O_CREAT/.test(line));
    const folders = calls.filter((line) => /mkdir(at)?\(/.test(line));
    t.equal(created.length, 2, 'two files created');
    t.equal(folders.length, 2, 'the version folder and conf.d');
    for (const line of created) t.match(line, /O_CREAT[^)]*, 0600\) = \d+$/, 'created 0600');
    for (const line of folders) t.match(line, /, 0700\) = 0$/, 'made 0700');

    const version = resolve(target, '..data');
    t.equal(statSync(version).mode & 0o777, 0o700);
    t.equal(statSync(join(version, 'conf.d')).mode & 0o777, 0o700);
    t.equal(statSync(join(version, 'app.conf')).mode & 0o777, 0o600);
    t.equal(statSync(join(version, 'conf.d', 'nested.conf')).mode & 0o777, 0o600);
  },
);

t.test('directory modes follow the file mode: searchable where readable', async (t) => {
  t.equal(directoryMode(0o644), 0o755);
  t.equal(directoryMode(0o640), 0o750);
  t.equal(directoryMode(0o600), 0o700);
  t.equal(directoryMode(0o664), 0o775);
});

/** Keys an attacker who can write a ConfigMap (or an http source) would try. */
const hostileKey = fc
  .array(
    fc.oneof(
      fc.constantFrom('..', '.', '/', '//', '\0', '..data', '..v1', 'a', 'é', '😀', '\u202e', '\\', '%2e%2e'),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constant('x'.repeat(300)),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

t.test('key -> path: never outside --target-dir, an error (not an exception) otherwise', async (t) => {
  const target = '/srv/config';
  fc.assert(
    fc.property(hostileKey, (key) => {
      const reason = unsafeKeyReason(key);
      if (reason !== undefined) return typeof reason === 'string' && reason.length > 0;
      const path = resolve(target, key);
      return (
        path.startsWith(`${target}/`) &&
        path === `${target}/${key}` &&
        !key.includes('\0') &&
        !key.split('/').some((segment) => segment.startsWith('..')) &&
        Buffer.byteLength(key) <= 4096
      );
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(hostileKey, fc.string()), { maxLength: 20 }), (entries) => {
      const { files, refused } = sanitize(
        snapshot(new Map(entries.map(([key, text]) => [key, Buffer.from(text)]))),
      );
      const keys = new Set(entries.map(([key]) => key));
      return (
        files.size + refused.length === keys.size &&
        [...files.keys()].every((key) => resolve(target, key).startsWith(`${target}/`))
      );
    }),
    { numRuns: 300 },
  );
  t.pass('500 keys and 300 snapshots');
});
