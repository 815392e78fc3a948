/**
 * Following files, option by option, with the real process: where reading starts (--read-from, saved
 * positions), a file made again with the same inode while the adapter was down, globs that reach new
 * directories, levels by file name, and times in --timezone.
 */

import { appendFileSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startNormalizer, tempDir } from './helpers.js';

const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix} ${String(i).padStart(3, '0')}\n`).join('');

t.test('--read-from end skips what is there at the first start only; a restart resumes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  writeFileSync(file, `${lines('old', 50)}partial line without its end`);
  const args = [
    '--input',
    file,
    '--read-from',
    'end',
    '--state-dir',
    join(dir, 'state'),
    '--multiline',
    'none',
  ];
  const first = await startNormalizer(t, args);
  appendFileSync(file, ` and its end\n${lines('new', 3)}`);
  await first.waitForRecords(4, 'the lines written after the start');
  t.same(
    first.records.map((r) => r.msg),
    ['partial line without its end and its end', 'new 000', 'new 001', 'new 002'],
    'the old lines are skipped; the one being written at the start is whole, not its tail',
  );
  first.process.signal('SIGTERM');
  t.equal((await first.process.exited).code, 0);

  appendFileSync(file, lines('while down', 2));
  const second = await startNormalizer(t, args);
  await second.waitForRecords(2, 'the lines written while it was down');
  t.same(
    second.records.map((r) => r.msg),
    ['while down 000', 'while down 001'],
    'a restart starts at the saved position, not at the end',
  );
});

t.test('a file made again while the adapter was down, even with the same inode, is read whole', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  writeFileSync(file, lines('first', 20));
  const args = ['--input', file, '--state-dir', join(dir, 'state'), '--multiline', 'none'];
  const first = await startNormalizer(t, args);
  await first.waitForRecords(20, 'the first file');
  const inode = statSync(file).ino;
  first.process.signal('SIGTERM');
  t.equal((await first.process.exited).code, 0);

  unlinkSync(file);
  writeFileSync(file, lines('second', 30));
  t.comment(
    statSync(file).ino === inode ? 'the new file got the same inode' : 'the new file got another inode',
  );
  const second = await startNormalizer(t, args);
  await second.waitForRecords(30, 'the second file, from its start');
  t.equal(second.records[0]?.msg, 'second 000');
  t.equal(second.records.length, 30);
});

t.test('** reaches directories made later; levels by file name and --level-from-file', async (t) => {
  const dir = tempDir(t);
  const adapter = await startNormalizer(t, [
    ...['--input', join(dir, '**', '*.log'), '--input', join(dir, '*.err')],
    ...[
      '--level-from-file',
      '*.err=error',
      '--level-from-file',
      'debug.log=warn',
      '--poll-interval',
      '200ms',
    ],
  ]);
  writeFileSync(join(dir, 'db.err'), 'connection lost\n');
  mkdirSync(join(dir, 'app', 'worker'), { recursive: true });
  writeFileSync(
    join(dir, 'app', 'worker', 'warn.log'),
    'queue is long\nERROR: not a level prefix the parser knows\n',
  );
  writeFileSync(join(dir, 'app', 'debug.log'), 'cache miss\n');
  writeFileSync(join(dir, 'app', 'info.log'), '2024-05-01 10:00:00,000 ERROR [main] the line says error\n');
  await adapter.waitForRecords(5, 'records from every file');
  const bySource = (name: string) => adapter.records.filter((r) => String(r.source).endsWith(name));
  t.match(bySource('db.err'), [{ level: 'error', msg: 'connection lost' }]);
  t.match(bySource('worker/warn.log'), [{ level: 'warn', msg: 'queue is long' }, { level: 'warn' }]);
  t.match(bySource('app/debug.log'), [{ level: 'warn', msg: 'cache miss' }], 'a rule overrides the name');
  t.match(
    bySource('app/info.log'),
    [{ level: 'error', msg: 'the line says error' }],
    "the line's own level wins",
  );
});

t.test('--timezone: zone-less times are read there and written in UTC', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  writeFileSync(
    file,
    '2024-01-15 12:00:00,000 INFO [main] winter in Berlin\n2024-07-15 12:00:00,000 INFO [main] summer in Berlin\n',
  );
  const adapter = await startNormalizer(t, ['--input', file, '--timezone', 'Europe/Berlin']);
  await adapter.waitForRecords(2, 'both lines');
  t.same(
    adapter.records.map((r) => r.time),
    ['2024-01-15T11:00:00.000Z', '2024-07-15T10:00:00.000Z'],
  );
});
