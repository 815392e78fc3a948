/**
 * Keeping a bad configuration from hurting the real legacy app: a validation command that refuses it
 * before it is published, and a rollback when the app is unhealthy after a reload.
 */

import t from 'tap';
import { distDir } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { metric, readTarget, waitForFile, waitForMetric } from './helpers.js';
import { greeting, startPod } from './pod.js';

const fast = ['--debounce', '50ms', '--poll-interval', '500ms'];

t.test("--validate-command with the app's own parser: a bad config never reaches the app", async (t) => {
  const parser = `${distDir}/examples/legacy-app/src/config.js`;
  const check =
    'import(process.argv[1]).then((m) => m.readConfig(process.argv[2])).catch((e) => { console.error(e.message); process.exit(1); })';
  const command = `node -e '${check}' ${parser} "$1/app.conf"`;
  const pod = await startPod(t, () => [
    '--process-name',
    'legacy-app',
    '--validate-command',
    command,
    ...fast,
  ]);
  pod.writeSource('greeting = fine\nnot a key value line\n');
  await waitForMetric(pod.adminUrl, 'podkit_config_sync_syncs_total', 'result="invalid"', (v) => v >= 1);
  const refused = await pod.sync.waitForLog((l) => l.code === 'PODKIT_ERR_VALIDATION');
  t.match(
    String(refused.reason),
    /exited with 1: .*app\.conf:5: expected key = value, got "not a key value line"/,
  );
  t.equal(readTarget(pod.target, 'app.conf'), `${pod.baseConfig}greeting = first\n`, 'the last good stays');
  const stats = await pod.stats();
  t.equal(stats.config.failed_reloads, 0, 'the app never saw it');
  t.equal(await greeting(pod), 'first');

  // Re-read every poll, but validated and logged once.
  await waitForMetric(pod.adminUrl, 'podkit_config_sync_syncs_total', 'result="invalid"', (v) => v >= 3);
  t.equal(pod.sync.logs.filter((l) => l.code === 'PODKIT_ERR_VALIDATION').length, 1);

  pod.writeSource('greeting = fixed\n');
  await waitFor(async () => (await greeting(pod)) === 'fixed', {
    timeoutMs: 20_000,
    what: 'the fixed config live',
  });
});

t.test(
  'unhealthy after the reload: the previous version comes back, and the bad one is not retried',
  async (t) => {
    const pod = await startPod(t, ({ pidFile, appUrl }) => [
      '--pid-file',
      pidFile,
      '--health-url',
      `${appUrl}/health`,
      '--health-timeout',
      '3s',
      '--health-stable',
      '500ms',
      ...fast,
    ]);
    const good = `${pod.baseConfig}greeting = first\n`;
    // The app rejects this on SIGHUP (unknown key) and turns /health to 503: no syntax check can know.
    pod.writeSource('greeting = broken\ncolour = red\n');
    await waitForMetric(pod.adminUrl, 'podkit_config_sync_rollbacks_total', '', (v) => v === 1, 30_000);
    await waitForFile(pod.target, 'app.conf', good);
    await waitFor(
      async () => (await pod.stats()).config.failed_reloads === 1 && (await greeting(pod)) === 'first',
      {
        what: 'the app rejected the bad config and reloaded the good one',
      },
    );
    await waitFor(async () => (await fetch(`${pod.appUrl}/health`)).status === 200, {
      what: 'healthy again',
    });
    const rollback = await pod.sync.waitForLog((l) => l.code === 'PODKIT_ERR_ROLLBACK');
    t.match(String(rollback.health), /HTTP 503 .*config-error/);
    t.equal(rollback.restored, 1, "the init container's generation, adopted at start");
    t.equal(await metric(pod.adminUrl, 'podkit_config_sync_version'), 1);
    t.equal(await metric(pod.adminUrl, 'podkit_config_sync_syncs_total', 'result="rolled_back"'), 1);

    // The source still holds the bad content: polled again and again, never published again.
    await waitForMetric(pod.adminUrl, 'podkit_config_sync_syncs_total', 'result="known_bad"', (v) => v >= 3);
    t.equal(
      await metric(pod.adminUrl, 'podkit_config_sync_publishes_total'),
      2,
      'the bad one and the rollback',
    );
    t.equal(await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'), 2);
    t.equal((await pod.stats()).config.failed_reloads, 1);

    pod.writeSource('greeting = repaired\n');
    await waitFor(async () => (await greeting(pod)) === 'repaired', {
      timeoutMs: 20_000,
      what: 'a new version accepted',
    });
    await pod.sync.waitForLog((l) => l.msg === 'the app is healthy with the new version');
    t.equal(await metric(pod.adminUrl, 'podkit_config_sync_publishes_total'), 3);
  },
);
