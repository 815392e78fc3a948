/**
 * What an app sharing the volume sees during 1000 rapid changes: another process reads the three files
 * of the configuration through <target>/<key> in a tight loop. Every version writes the same generation
 * into all three files (with a trailer that shows a torn read), so a partial file or a mix of two
 * versions would show. A read counts as one view when `..data` was the same before and after it: the
 * same check an app can make, and the one the layout guarantees.
 */

import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { metric, startKubeUnderRole, startSync, tempDir } from './helpers.js';

const keys = ['a.conf', 'b.conf', 'c.conf'];
const filler = `${'x'.repeat(99)}\n`.repeat(300);
const body = (generation: number) => `generation ${generation}\n${filler}end ${generation}\n`;
const data = (generation: number) => Object.fromEntries(keys.map((key) => [key, body(generation)]));

interface ReaderReport {
  reads: number;
  views: number;
  straddled: number;
  generations: number;
  partialCount: number;
  /** The first few examples. */
  partial: string[];
  mixedCount: number;
  mixed: string[];
  errors: Record<string, number>;
}

function startReader(target: string) {
  const code = `
    const fs = require('node:fs');
    const target = ${JSON.stringify(target)};
    const keys = ${JSON.stringify(keys)};
    const filler = ${JSON.stringify(filler)};
    const report = { reads: 0, views: 0, straddled: 0, generations: 0, partialCount: 0, partial: [], mixedCount: 0, mixed: [], errors: {} };
    const seen = new Set();
    let stop = false;
    process.stdin.on('data', () => { stop = true; });
    // The first few examples of a problem, and how many more: enough to diagnose, small enough to print.
    const note = (kind, text) => { report[kind + 'Count']++; if (report[kind].length < 10) report[kind].push(text); };
    const link = () => { try { return fs.readlinkSync(target + '/..data'); } catch (e) { return undefined; } };
    function generationOf(text) {
      const m = /^generation (\\d+)\\n/.exec(text);
      return m && text === 'generation ' + m[1] + '\\n' + filler + 'end ' + m[1] + '\\n' ? Number(m[1]) : undefined;
    }
    (function loop() {
      for (let i = 0; i < 20; i++) {
        const before = link();
        const generations = [];
        for (const key of keys) {
          try {
            const text = fs.readFileSync(target + '/' + key, 'utf8');
            const g = generationOf(text);
            if (g === undefined) note('partial', key + ': ' + JSON.stringify(text.slice(0, 30)) + ' (' + text.length + ' bytes)');
            else generations.push(g);
          } catch (e) { report.errors[e.code] = (report.errors[e.code] || 0) + 1; }
        }
        const after = link();
        report.reads++;
        if (generations.length !== keys.length) continue;
        if (before === undefined || before !== after) { report.straddled++; continue; }
        if (new Set(generations).size !== 1) note('mixed', before + ': ' + generations.join(','));
        else { report.views++; seen.add(generations[0]); }
      }
      if (report.reads === 20) process.stdout.write('ready\\n');
      if (stop) { report.generations = seen.size; process.stdout.write(JSON.stringify(report), () => process.exit(0)); return; }
      setImmediate(loop);
    })();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const ready = new Promise<void>((resolve) => {
    const check = () => (out.startsWith('ready\n') ? resolve() : child.stdout.once('data', check));
    check();
  });
  return {
    ready,
    async stop(): Promise<ReaderReport> {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write('stop');
      await exited;
      return JSON.parse(out.slice('ready\n'.length));
    },
  };
}

t.test('a reader never sees a partial file or a mixed version during 1000 rapid changes', async (t) => {
  const kube = await startKubeUnderRole(t);
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'app-config' };
  kube.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app-config', namespace: 'default' },
    data: data(0),
  });
  const target = tempDir();
  const sync = await startSync(t, [
    '--source',
    'kubernetes',
    '--kubeconfig',
    kube.kubeconfigPath,
    '--configmap',
    'app-config',
    '--target-dir',
    target,
    '--debounce',
    '0s',
    '--keep-versions',
    '2',
  ]);
  const reader = startReader(target);
  await reader.ready;

  const started = Date.now();
  for (let generation = 1; generation <= 1000; generation++) {
    kube.patch(ref, { data: data(generation) });
    // Wait for this change to be live before the next, so every one of the 1000 is published.
    const version = new RegExp(`^\\.\\.v${generation + 1}-`);
    const deadline = Date.now() + 20_000;
    while (!version.test(readlinkSync(join(target, '..data')))) {
      if (Date.now() > deadline) throw new Error(`generation ${generation} not published within 20 s`);
      await sleep(1);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const report = await reader.stop();
  t.comment(
    `1000 changes in ${seconds.toFixed(1)} s; the reader made ${report.reads} reads: ${report.views} whole views of ${report.generations} generations, ${report.straddled} straddling a swap`,
  );
  t.equal(report.partialCount, 0, `never a partial file ${report.partial.join('; ')}`);
  t.equal(report.mixedCount, 0, `never two versions in one view ${report.mixed.join('; ')}`);
  t.same(report.errors, {}, 'never a missing file');
  t.ok(report.generations >= 100, `the reader saw ${report.generations} different generations`);
  t.equal(
    await metric(sync.adminUrl, 'podkit_config_sync_publishes_total'),
    1001,
    'every change was published',
  );
});
