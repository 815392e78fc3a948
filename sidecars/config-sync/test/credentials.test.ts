/**
 * The http source's bearer token, from the environment and then from a file, through a refusal (the
 * server rotated it first) and a validate command that records what it was given. It shows in nothing
 * config-sync wrote or showed: logs at debug, /metrics, the probe bodies, the termination log, --help,
 * /proc/<pid>/cmdline, nor the validate command's command line or environment.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runPodkit } from '../../../test/support/process.js';
import { adminBodies, leakedSecrets } from '../../../test/support/secrets.js';
import { waitFor } from '../../../test/support/wait.js';
import { configServer, httpArgs } from './config-server.js';
import { startSync, tempDir, waitForFile } from './helpers.js';

const secrets = {
  envToken: `envtoken-${randomBytes(8).toString('hex')}`,
  fileToken: `filetoken-${randomBytes(8).toString('hex')}`,
  rotatedToken: `rotatedtoken-${randomBytes(8).toString('hex')}`,
};

const leaked = (text: string) => leakedSecrets(text, secrets);

const probeBodies = (adminUrl: string) =>
  adminBodies(adminUrl, ['/healthz', '/readyz', '/startupz', '/metrics']);

t.test('the token is in no log, metric, probe body, command line or hook environment', async (t) => {
  const config = await configServer(t);
  const dir = tempDir();
  // The validate command records its command line and environment next to the candidate it checks.
  const seenByHook = join(dir, 'hook-saw');
  const validate = `{ cat /proc/$$/cmdline; env; } >> ${seenByHook}`;
  const terminationLog = join(dir, 'termination-log');
  const more = ['--validate-command', validate, '--log-level', 'debug', '--termination-log', terminationLog];
  const seen: string[] = [];

  // From the environment.
  config.state.token = secrets.envToken;
  const fromEnv = await startSync(t, httpArgs(config.url, tempDir(), ...more), {
    env: { PODKIT_TOKEN: secrets.envToken },
  });
  t.equal(config.state.seen.at(-1)?.authorization, `Bearer ${secrets.envToken}`, 'the env token is sent');
  seen.push(...(await probeBodies(fromEnv.adminUrl)));

  // From a file; the server rotates first, so the old token is refused until the file has the new one.
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${secrets.fileToken}\n`);
  config.state.token = secrets.fileToken;
  const target = tempDir();
  const fromFile = await startSync(t, httpArgs(config.url, target, '--token-file', tokenFile, ...more));
  config.state.token = secrets.rotatedToken;
  await waitFor(() => config.state.seen.at(-1)?.status === 401, { what: 'the old token refused' });
  await waitFor(() => fromFile.logs.some((line) => /401/.test(JSON.stringify(line))), {
    what: 'the refusal logged',
  });
  seen.push(...(await probeBodies(fromFile.adminUrl)));
  writeFileSync(tokenFile, `${secrets.rotatedToken}\n`);
  config.state.body = '{"app.conf":"greeting = rotated\\n"}';
  await waitForFile(target, 'app.conf', 'greeting = rotated\n');
  seen.push(...(await probeBodies(fromFile.adminUrl)));

  const hookSaw = readFileSync(seenByHook, 'utf8');
  t.match(hookSaw, /validate-command/, 'the validate command ran and recorded what it saw');
  const everything = [
    ...[fromEnv, fromFile].flatMap((sync) => [
      ...sync.logs.map((line) => JSON.stringify(line)),
      ...sync.text,
    ]),
    ...seen,
    hookSaw,
    readFileSync(`/proc/${fromEnv.pid}/cmdline`, 'utf8'),
    readFileSync(`/proc/${fromFile.pid}/cmdline`, 'utf8'),
    readFileSync(terminationLog, { encoding: 'utf8', flag: 'a+' }),
  ].join('\n');
  const starting = fromFile.logs.find((line) => line.msg === 'starting') as
    | { options?: Record<string, unknown> }
    | undefined;
  t.match(
    starting?.options,
    { logLevel: 'debug', token: '[redacted]' },
    'the start-up line shows every option at debug, the token redacted',
  );
  t.same(leaked(everything), [], 'no token in any of it');
});

t.test('a token from the environment stays out of a failed start and --help', async (t) => {
  const dir = tempDir();
  const terminationLog = join(dir, 'termination-log');
  const env = { PODKIT_TOKEN: secrets.envToken };
  const failed = await runPodkit(
    ['config-sync', '--source', 'http', '--url', 'not a url', '--target-dir', dir],
    { env: { ...env, PODKIT_TERMINATION_LOG: terminationLog } },
  );
  t.equal(failed.code, 2, 'a configuration error');
  const written = readFileSync(terminationLog, 'utf8');
  t.match(written, /--url/, 'the termination log names the option');
  t.same(leaked([written, failed.stdout, failed.stderr].join('\n')), [], 'no token in it or the output');
  const help = await runPodkit(['config-sync', '--help'], { env });
  t.same(leaked(help.stdout + help.stderr), [], 'nor in --help');
});
