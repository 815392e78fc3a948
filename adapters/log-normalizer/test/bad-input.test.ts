/**
 * What breaks log shippers: 1 MB lines, binary garbage, a file deleted and made again under the same
 * name, and a stdout that takes nothing for 5 s. The adapter does not crash, loses nothing, and its
 * memory (the RSS of the real process) stays bounded.
 */

import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { waitFor } from '../../../test/support/wait.js';
import { metric, rssMb, startNormalizer, tempDir } from './helpers.js';

/** Samples a process's RSS every 100 ms until stopped; answers the largest. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid));
    },
  };
}

t.test('1 MB lines: whole under the default limit, cut and counted over --max-line-bytes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'big.log');
  writeFileSync(file, '');
  const whole = await startNormalizer(t, ['--input', file]);
  const cut = await startNormalizer(t, ['--input', file, '--max-line-bytes', '64KiB']);
  const rss = [watchRss(whole.process.pid), watchRss(cut.process.pid)];
  const text = (i: number) => `line ${i} ${'x'.repeat(1_000_000 - 20)}`;
  const json = (i: number) =>
    JSON.stringify({ level: 'warn', msg: `json ${i}`, blob: 'y'.repeat(1_000_000 - 60) });
  for (let i = 0; i < 10; i++) appendFileSync(file, `${text(i)}\n${json(i)}\n`);
  await whole.waitForRecords(20, '20 records of 1 MB', 60_000);
  await cut.waitForRecords(20, '20 cut records', 60_000);
  const [wholePeak, cutPeak] = rss.map((r) => r.stop()) as [number, number];

  t.same(whole.broken, []);
  for (let i = 0; i < 10; i++) {
    t.equal(whole.records[2 * i]?.msg, text(i), `text line ${i} whole`);
    t.equal(whole.records[2 * i + 1]?.blob, JSON.parse(json(i)).blob, `json line ${i} whole`);
    t.equal(whole.records[2 * i + 1]?.level, 'warn');
  }
  t.same(cut.broken, []);
  for (const record of cut.records) {
    t.equal(String(record.msg).length, 64 * 1024, 'cut at the limit');
    t.ok(Number(record.truncated_bytes) > 900_000, 'marked with how much was cut');
  }
  const metrics = (await httpRequest(`${cut.adminUrl}/metrics`)).body;
  t.equal(metric(metrics, 'podkit_log_normalizer_truncated_total'), 20);
  t.comment(`peak RSS: ${wholePeak.toFixed(1)} MB with 1 MB lines whole, ${cutPeak.toFixed(1)} MB cut`);
  t.ok(wholePeak < 150, 'memory bounded with 20 MB of 1 MB lines');
  t.ok(cutPeak < 150);
});

t.test('binary garbage: every line a record, every record valid JSON', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'garbage.log');
  // The first line holds what JSON leaves raw but some line readers split on: U+2028, U+2029, NEL, CR.
  const lineBreakLookalikes = Buffer.from([0xe2, 0x80, 0xa8, 0x0d, 0xe2, 0x80, 0xa9, 0xc2, 0x85, 0x41]);
  const lines = Array.from({ length: 2000 }, (_, i) => {
    const bytes = i === 0 ? lineBreakLookalikes : randomBytes(200 + (i % 300)).map((b) => (b === 10 ? 0 : b));
    return Buffer.concat([Buffer.from(`#${i} `), bytes, Buffer.from('\n')]);
  });
  writeFileSync(file, Buffer.concat(lines));
  const adapter = await startNormalizer(t, ['--input', file, '--multiline', 'none']);
  await adapter.waitForRecords(2000, 'a record per line');
  t.same(adapter.broken, [], 'no broken JSON line');
  t.same(
    adapter.records.map((r) => /^#(\d+) /.exec(String(r.msg))?.[1]),
    lines.map((_, i) => String(i)),
    'each line once, in order',
  );
  t.ok(
    adapter.records.some((r) => /\\x[89a-f][0-9a-f]/.test(String(r.msg))),
    'bytes that are not UTF-8 are shown as \\xNN',
  );
  const health = await httpRequest(`${adapter.adminUrl}/healthz`);
  t.equal(health.status, 200, 'still alive');
});

t.test(
  'a file deleted and made again, and a new file: each line once, the deleted file released',
  async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'app.log');
    // The new file starts like the old one: told apart anyway.
    const generation = (n: number) =>
      ['header: app started', ...Array.from({ length: 100 }, (_, i) => `generation ${n} line ${i}`)].join(
        '\n',
      );
    writeFileSync(file, `${generation(1)}\n`);
    const adapter = await startNormalizer(t, [
      ...['--input', join(dir, '*.log'), '--rotate-wait', '500ms', '--poll-interval', '200ms'],
    ]);
    await adapter.waitForRecords(101, 'the first file');
    unlinkSync(file);
    writeFileSync(file, `${generation(2)}\n`);
    writeFileSync(join(dir, 'other.log'), 'a new file\n');
    await adapter.waitForRecords(203, 'the file made again and the new one', 20_000);
    const pid = adapter.process.pid;
    const deletedOpen = () =>
      readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith('(deleted)');
        } catch {
          return false;
        }
      });
    await waitFor(() => !deletedOpen(), { what: 'the deleted file released', timeoutMs: 10_000 });
    const messages = adapter.records.map((r) => String(r.msg));
    t.equal(messages.filter((m) => m === 'header: app started').length, 2, 'the header of each file once');
    for (const n of [1, 2])
      t.equal(messages.filter((m) => m.startsWith(`generation ${n} `)).length, 100, `generation ${n} once`);
    t.ok(messages.includes('a new file'));
    t.equal(messages.length, 203, 'nothing else, nothing twice');
    const metrics = (await httpRequest(`${adapter.adminUrl}/metrics`)).body;
    t.equal(metric(metrics, 'podkit_log_normalizer_files'), 2, 'the deleted file no longer counted');
    t.ok(adapter.process.logs.some((l) => l.msg === 'file released' && l.path === file));
  },
);

t.test('stdout blocked for 5 s: reading pauses, memory stays bounded, nothing is lost', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const adapter = await startNormalizer(t, ['--input', file, '--multiline', 'none']);
  const stdout = adapter.process.proc.stdout as NodeJS.ReadableStream;
  appendFileSync(file, '{"msg":"before"}\n');
  await adapter.waitForRecords(1, 'a record before the block');
  const before = rssMb(adapter.process.pid);

  stdout.pause();
  const rss = watchRss(adapter.process.pid);
  const blockedAt = Date.now();
  const line = (i: number) => `{"level":"info","msg":"line ${i}","pad":"${'p'.repeat(180)}"}\n`;
  let written = 0;
  // 20 MB while nobody reads the adapter's stdout.
  for (let chunk = 0; chunk < 100; chunk++) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) lines.push(line(written++));
    appendFileSync(file, lines.join(''));
    if (chunk % 20 === 0) await sleep(10);
  }
  await waitFor(
    async () =>
      metric((await httpRequest(`${adapter.adminUrl}/metrics`)).body, 'podkit_log_normalizer_lag_bytes') >
      5_000_000,
    {
      what: 'reading held back by the blocked output',
    },
  );
  const health = await httpRequest(`${adapter.adminUrl}/healthz`, { timeoutMs: 2000 });
  t.equal(health.status, 200, 'probes answered while blocked');
  await sleep(Math.max(0, 5000 - (Date.now() - blockedAt)));
  const blockedMetrics = (await httpRequest(`${adapter.adminUrl}/metrics`)).body;
  const peak = rss.stop();
  stdout.resume();

  await adapter.waitForRecords(written + 1, `all ${written} lines after the block`, 60_000);
  t.same(
    adapter.records.slice(1).map((r) => r.msg),
    Array.from({ length: written }, (_, i) => `line ${i}`),
    'every line once, in order',
  );
  t.same(adapter.broken, []);
  t.ok(
    metric(blockedMetrics, 'podkit_log_normalizer_output_blocked_seconds_total') >= 3,
    'the block was counted',
  );
  t.comment(`RSS before ${before.toFixed(1)} MB, peak while 20 MB waited ${peak.toFixed(1)} MB`);
  t.ok(peak - before < 15, 'memory did not grow with what waited');
  t.equal(adapter.process.exit, undefined, 'no crash');
});
