/**
 * The images test's main paths of the adapters that runtime-tree checks do not already exercise, each
 * run with a read-only root filesystem and only its declared volumes writable: metrics-exporter scraping
 * an app's JSON stats, and log-normalizer reading a mounted log directory (its positions kept there).
 */

import { appendFileSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { imageReference } from '../../scripts/images.js';
import { httpRequest } from '../support/http.js';
import { podman, runOnHost } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import type { BuiltImages } from './images-runtime.js';

/** Logs of a container, appended to the error of a wait that failed. */
const withLogs = (name: string) => async (err: Error) => {
  throw new Error(`${err.message}\n${await podman(['logs', name]).catch((e: Error) => e.message)}`);
};

export function mainPathTests({ id, tag, tempDir, containers }: BuiltImages): void {
  t.test('metrics-exporter image: scrapes the JSON stats of an app', async (t) => {
    const app = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ queue: { depth: 7 } }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => app.close(() => resolve())));
    const dir = tempDir('podkit-image-metrics-');
    writeFileSync(
      join(dir, 'mapping.yml'),
      'modules:\n  default:\n    metrics:\n      - name: app_queue_depth\n        path: "{.queue.depth}"\n        valuetype: gauge\n        help: Jobs waiting.\n',
      { mode: 0o644 },
    );
    const admin = await freePort();
    const name = `podkit-metrics-exporter-${id}`;
    containers.push(name);
    await runOnHost(name, [
      '-v',
      `${dir}:/etc/metrics:ro`,
      imageReference('metrics-exporter', tag),
      '--json-url',
      `http://127.0.0.1:${(app.address() as AddressInfo).port}/stats`,
      '--json-mapping-file',
      '/etc/metrics/mapping.yml',
      '--admin-address',
      `127.0.0.1:${admin}`,
    ]);
    await waitFor(
      async () =>
        (await httpRequest(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30_000, what: 'metrics-exporter /readyz 200' },
    ).catch(withLogs(name));
    const scrape = await httpRequest(`http://127.0.0.1:${admin}/metrics`);
    t.equal(scrape.status, 200);
    t.match(scrape.body, /^app_queue_depth 7$/m, "the app's value, mapped");
    t.match(scrape.body, /^podkit_metrics_exporter_up\{source="json"\} 1$/m, 'the source is up');
    await podman(['stop', '--time', '15', name]);
    t.equal(JSON.parse(await podman(['inspect', name]))[0].State.ExitCode, 0, 'exits 0 on SIGTERM');
  });

  t.test('log-normalizer image: records from a mounted log directory, positions kept in it', async (t) => {
    const logs = tempDir('podkit-image-logs-');
    chmodSync(logs, 0o777);
    writeFileSync(join(logs, 'error.log'), 'Cannot place order 43\n', { mode: 0o644 });
    const admin = await freePort();
    const name = `podkit-log-normalizer-${id}`;
    containers.push(name);
    await runOnHost(name, [
      '-v',
      `${logs}:/var/log/app`,
      imageReference('log-normalizer', tag),
      '--input',
      '/var/log/app/*.log',
      '--state-dir',
      '/var/log/app/.podkit',
      '--admin-address',
      `127.0.0.1:${admin}`,
    ]);
    const records = async () =>
      (await podman(['logs', name]))
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((record) => record.source !== undefined);
    await waitFor(async () => (await records()).length === 1, {
      timeoutMs: 30_000,
      what: 'the first record on stdout',
    }).catch(withLogs(name));
    appendFileSync(join(logs, 'error.log'), '{"level":"warn","msg":"retrying","attempt":2}\n');
    await waitFor(async () => (await records()).length === 2, {
      timeoutMs: 30_000,
      what: 'the appended record on stdout',
    }).catch(withLogs(name));
    const [first, second] = await records();
    t.match(first, { level: 'error', msg: 'Cannot place order 43', source: '/var/log/app/error.log' });
    t.match(second, { level: 'warn', msg: 'retrying', attempt: 2 });
    await podman(['stop', '--time', '15', name]);
    t.equal(JSON.parse(await podman(['inspect', name]))[0].State.ExitCode, 0, 'exits 0 on SIGTERM');
    t.ok(existsSync(join(logs, '.podkit', 'offsets.json')), 'read positions are kept in the volume');
  });
}
