import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../../../../scripts/repo-root.js';
import { createLogger } from '../src/log.js';

const run = promisify(execFile);

t.test('with LOG_FILE the JSON lines are appended to that file, the same lines as on stdout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ftgo-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'order-service.log');
  const first = createLogger('order-service', 'info', file);
  first.info({ orderId: 7 }, 'order placed');
  first.debug('below the level');
  // A restarted service appends to what its previous run wrote.
  createLogger('order-service', 'info', file).error('cannot start');
  const lines = (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.match(lines, [
    { level: 'info', service: 'order-service', orderId: 7, msg: 'order placed' },
    { level: 'error', service: 'order-service', msg: 'cannot start' },
  ]);
  t.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO time');
});

t.test('without LOG_FILE the lines go to stdout and no file is written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ftgo-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // The built module in a process of its own, so its stdout is what is read.
  const script = `import('${join(repoRoot, 'dist/examples/ftgo/common/src/log.js')}').then(({ createLogger }) => createLogger('consumer-service').info('on stdout'))`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
  });
  t.match(JSON.parse(stdout), { level: 'info', service: 'consumer-service', msg: 'on stdout' });
  t.same(await readdir(dir), [], 'no file');
});
