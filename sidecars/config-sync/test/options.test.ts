/**
 * Bad configuration is refused before anything starts: one line naming the option and what was
 * expected, exit code 2.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runPodkit } from '../../../test/support/process.js';
import { tempDir } from './helpers.js';

t.test('bad configuration: one line naming the option, exit 2, nothing started', async (t) => {
  const target = tempDir();
  const aFile = join(target, 'a-file');
  writeFileSync(aFile, 'not a directory');
  const http = `--source http --url http://a/ --target-dir ${target}`;
  // Arguments as one line each (no value contains a space): what an operator would type.
  const table: [string, RegExp][] = [
    [`--target-dir ${target}`, /^podkit config-sync: missing --source: set --source or PODKIT_SOURCE/],
    [`--source git --target-dir ${target}`, /invalid --source "git": expected one of kubernetes, dir, http/],
    [
      `--source kubernetes --target-dir ${target}`,
      /--configmap or --selector is needed with --source kubernetes/,
    ],
    [
      `--source kubernetes --configmap a --selector app=web --target-dir ${target}`,
      /--configmap and --selector cannot both be set/,
    ],
    [`--source dir --target-dir ${target}`, /--source-dir is needed with --source dir/],
    [`--source dir --source-dir ${target} --target-dir ${target}`, /--source-dir must not be --target-dir/],
    [
      `--source dir --source-dir /x --url http://a/ --target-dir ${target}`,
      /--url is only used with --source http \(this is --source dir\)/,
    ],
    [
      `--source http --url ftp://a/ --target-dir ${target}`,
      /invalid --url "ftp:\/\/a\/": expected a URL starting with http:\/\/ or https:\/\//,
    ],
    [
      `${http} --signal SIGFOO`,
      /invalid --signal "SIGFOO": expected a signal: SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGQUIT, SIGKILL/,
    ],
    [`${http} --signal HUP`, /--signal needs --process-name or --pid-file/],
    [
      `${http} --process-name app --pid-file /run/app.pid`,
      /--process-name and --pid-file cannot both be set/,
    ],
    [
      `${http} --webhook-url http://127.0.0.1:1/-/reload --process-name app`,
      /--webhook-url replaces the signal/,
    ],
    [
      `${http} --reload-url http://127.0.0.1:1/-/reload --process-name app`,
      /--webhook-url replaces the signal/,
    ],
    [
      `${http} --health-url http://127.0.0.1:1/health --health-timeout 1s --health-stable 2s`,
      /--health-stable \(2000 ms\) must be shorter than --health-timeout \(1000 ms\)/,
    ],
    [`${http} --file-mode 999`, /invalid --file-mode "999": expected an octal file mode/],
    [
      `--source kubernetes --configmap a --kubeconfig /no/such/kubeconfig --target-dir ${target}`,
      /invalid --kubeconfig "\/no\/such\/kubeconfig": expected a readable file \(no such file\)/,
    ],
    [
      `--source http --url http://a/ --target-dir ${join(aFile, 'config')}`,
      /--target-dir .*\/a-file\/config is not a writable directory: ENOTDIR/,
    ],
    [
      `--source kubernetes --configmap a --target-dir ${target}`,
      /no Kubernetes credentials: give a kubeconfig path, set KUBECONFIG, or run in a pod/,
    ],
  ];
  const env = { KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
  for (const [args, expected] of table) {
    const run = await runPodkit(['config-sync', '--admin-address', '127.0.0.1:0', ...args.split(' ')], {
      env,
    });
    t.equal(run.code, 2, `exit 2: ${args}`);
    t.match(run.stderr, expected);
  }
});
