/**
 * The app side, with the real legacy app: SIGHUP across a shared PID namespace (found by name and by
 * pid file), and one reload per burst of edits.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { metric } from './helpers.js';
import { greeting, startPod } from './pod.js';

const fast = ['--debounce', '50ms', '--poll-interval', '500ms'];

t.test('SIGHUP across a shared PID namespace: the app found by name reloads', async (t) => {
  const pod = await startPod(t, () => ['--process-name', 'legacy-app', ...fast]);
  t.equal(await greeting(pod), 'first');
  t.equal(
    (await pod.stats()).config.reloads,
    0,
    'a restarted sidecar adopts the published version: no reload',
  );

  pod.writeSource('greeting = second\n');
  await waitFor(async () => (await greeting(pod)) === 'second', {
    timeoutMs: 20_000,
    what: 'the app greets "second"',
  });
  t.equal((await pod.stats()).config.reloads, 1, 'one SIGHUP, one reload');
  const notified = await pod.sync.waitForLog('notified the app');
  t.same(notified.signal, 'SIGHUP');
  t.equal((notified.pids as number[]).length, 1, 'exactly the one legacy-app in this pod');
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'), 1);
});

t.test('SIGHUP to the pid in a pid file', async (t) => {
  const pod = await startPod(t, ({ pidFile }) => ['--pid-file', pidFile, ...fast]);
  pod.writeSource('greeting = from the pid file\n');
  await waitFor(async () => (await greeting(pod)) === 'from the pid file', {
    timeoutMs: 20_000,
    what: 'reloaded',
  });
  t.equal((await pod.stats()).config.reloads, 1);
});

t.test('a burst of edits gives one publish and one reload, not a storm', async (t) => {
  const pod = await startPod(t, () => [
    '--process-name',
    'legacy-app',
    // Far longer than the 20 ms between edits, so that a stall of the test process mid-burst still
    // leaves the burst inside one debounce window.
    '--debounce',
    '2s',
    '--poll-interval',
    '30s',
  ]);
  for (let i = 1; i <= 10; i++) {
    pod.writeSource(`greeting = edit ${i}\n`);
    await sleep(20);
  }
  await waitFor(async () => (await greeting(pod)) === 'edit 10', {
    timeoutMs: 20_000,
    what: 'the last edit live',
  });
  // Absence cannot be polled for: wait a debounce plus time for a publish and a reload, so that any
  // extra one would show.
  await sleep(4500);
  t.equal((await pod.stats()).config.reloads, 1, 'ten edits, one reload');
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_publishes_total'), 1);
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'), 1);
});
