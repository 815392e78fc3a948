/**
 * Bad configuration exits 2 before anything listens, with one line naming the option, the value and
 * what was expected (on stderr and in the termination log): weights over 100, a malformed variant, an
 * unknown URL scheme, compare without a mirror, and the same mistakes in --config-file.
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runPodkit } from '../../../test/support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'podkit-traffic-split-config-'));

async function refused(args: string[]): Promise<string> {
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const run = await runPodkit([
    'traffic-split',
    '--listen',
    '127.0.0.1:0',
    '--admin-address',
    '127.0.0.1:0',
    '--termination-log',
    terminationLog,
    ...args,
  ]);
  if (run.code !== 2) throw new Error(`expected exit 2, got ${run.code}: ${run.stdout}${run.stderr}`);
  if (run.stdout.includes('"msg":"listening"')) throw new Error(`it listened before refusing: ${run.stdout}`);
  const lines = run.stderr.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stderr: ${run.stderr}`);
  if (readFileSync(terminationLog, 'utf8').trim() !== lines[0]?.replace(/^podkit traffic-split: /, ''))
    throw new Error(`the termination log differs from stderr: ${readFileSync(terminationLog, 'utf8')}`);
  return lines[0] as string;
}

const primary = ['--primary', 'http://127.0.0.1:8080'];

t.test('bad flags: exit 2 with one line, before anything listens', async (t) => {
  const cases: [string[], RegExp][] = [
    [
      [...primary, '--variant', 'beta=http://b:1:60', '--variant', 'gamma=http://g:1:50'],
      /--variant weights add up to 110%: at most 100 \(beta 60 \+ gamma 50\)$/,
    ],
    [[...primary, '--variant', 'beta'], /invalid --variant "beta": expected .*name=URL:weight/],
    [
      [...primary, '--variant', 'beta=http://app-beta:8080'],
      /invalid --variant "beta=http:\/\/app-beta:8080": expected .*the weight a percentage from 0 to 100 \(got "8080"\)/,
    ],
    [
      [...primary, '--variant', 'beta=http://b:1:5', '--variant', 'beta=http://c:1:5'],
      /--variant names "beta" twice/,
    ],
    [
      ['--primary', 'ftp://files:21'],
      /invalid --primary "ftp:\/\/files:21": expected .*the URL scheme "ftp" is not http/,
    ],
    [
      [...primary, '--mirror', 'https://next:8443'],
      /invalid --mirror "https:\/\/next:8443": .*scheme "https" is not http/,
    ],
    [[...primary, '--compare'], /--compare needs --mirror/],
    [
      [...primary, '--sticky', 'session'],
      /invalid --sticky "session": expected cookie:NAME, header:NAME, ip or none/,
    ],
    [[...primary, '--mirror-max-body', 'huge'], /invalid --mirror-max-body "huge": expected a size in bytes/],
    [[], /--primary is required/],
  ];
  for (const [args, message] of cases) t.match(await refused(args), message, args.join(' '));
});

t.test('a bad --config-file at start: exit 2 naming the file and the field', async (t) => {
  const file = join(dir, 'split.yaml');
  const cases: [string, RegExp][] = [
    [
      'primary: http://app:8080\nvariant: [a=http://a:1:70, b=http://b:1:40]\n',
      /--variant weights add up to 110%.*\(with --config-file .*split\.yaml\)/,
    ],
    [
      'primary: gopher://app:70\n',
      /--config-file .*split\.yaml: primary: "gopher:\/\/app:70" is not valid: .*scheme "gopher"/,
    ],
    ['primary: http://app:8080\nweight: 5\n', /--config-file .*split\.yaml: unknown field "weight"/],
    ['primary: [\n', /--config-file .*split\.yaml: not valid YAML/],
  ];
  for (const [text, message] of cases) {
    writeFileSync(file, text);
    t.match(await refused(['--config-file', file]), message, text);
  }
  t.match(
    await refused(['--config-file', join(dir, 'missing.yaml')]),
    /invalid --config-file ".*missing\.yaml": expected a readable file/,
  );
});
