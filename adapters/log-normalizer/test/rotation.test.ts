/**
 * A writer appending without pause through 100 rotations, rename and copytruncate in turn, while the
 * adapter is restarted in the middle (rotations go on while it is down): every line on stdout exactly
 * once, told by sequence numbers. After SIGKILL instead of SIGTERM nothing is lost, and what is written
 * again is only what was written since the last saved position.
 */

import { appendFileSync, copyFileSync, renameSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import type { Teardown } from '../../../test/support/process.js';
import { type LogRecord, metric, type Normalizer, startNormalizer, tempDir } from './helpers.js';

const rotations = 100;
const linesPerFile = 30;

/**
 * Appends `seq=<n>` lines to app.log, one write each, rotating every `linesPerFile` lines: even
 * rotations rename app.log to app.log.<r> (the next write makes a new app.log), odd ones copy it there
 * and truncate it. `during(r)` runs after rotation r; the writer goes on unless it answers a promise.
 * Answers the last seq.
 */
async function writeThroughRotations(
  dir: string,
  during: (rotation: number) => Promise<unknown> | undefined,
): Promise<number> {
  const path = join(dir, 'app.log');
  let seq = 0;
  for (let file = 0; file <= rotations; file++) {
    for (let i = 0; i < linesPerFile; i++) {
      seq++;
      appendFileSync(path, `seq=${seq} ${'.'.repeat(seq % 37)}\n`);
      // Pacing (about 3 s in all), so that reading, rotating and the restart interleave as in a pod.
      if (seq % 3 === 0) await sleep(2);
    }
    if (file === rotations) break;
    const rotated = join(dir, `app.log.${file + 1}`);
    if (file % 2 === 0) renameSync(path, rotated);
    else {
      copyFileSync(path, rotated);
      truncateSync(path, 0);
    }
    await during(file + 1);
    await sleep(10);
  }
  return seq;
}

function sequenceNumbers(records: readonly LogRecord[]): number[] {
  return records.map((r) => Number(/^seq=(\d+) /.exec(String(r.msg))?.[1] ?? Number.NaN));
}

function counts(numbers: readonly number[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const n of numbers) seen.set(n, (seen.get(n) ?? 0) + 1);
  return seen;
}

async function start(t: Teardown, dir: string): Promise<Normalizer & { adminUrl: string }> {
  return startNormalizer(t, [
    ...['--input', join(dir, 'app.log*'), '--state-dir', join(dir, 'state')],
    ...['--poll-interval', '200ms', '--checkpoint-interval', '200ms', '--multiline', 'none'],
  ]);
}

t.test(
  '100 rotations, rename and copytruncate, a restart in the middle: every line exactly once',
  async (t) => {
    const dir = tempDir(t);
    const first = await start(t, dir);
    let second: Promise<Normalizer & { adminUrl: string }> | undefined;
    let firstMetrics = '';
    const last = await writeThroughRotations(dir, (rotation) => {
      if (rotation === rotations / 2) {
        // Rotations go on while the adapter restarts.
        second = (async () => {
          firstMetrics = (await httpRequest(`${first.adminUrl}/metrics`)).body;
          first.process.signal('SIGTERM');
          t.equal((await first.process.exited).code, 0, 'the first adapter stopped cleanly');
          return start(t, dir);
        })();
      }
      // However slow the restart, the last quarter of the rotations happens while the new one runs.
      return rotation === (rotations * 3) / 4 ? second : undefined;
    });
    const restarted = await (second as Promise<Normalizer & { adminUrl: string }>);
    const all = () => [...first.records, ...restarted.records];
    await restarted.waitForRecords(
      () => new Set(sequenceNumbers(all())).size >= last,
      `all ${last} lines (have ${new Set(sequenceNumbers(all())).size})`,
      60_000,
    );
    const metrics = (await httpRequest(`${restarted.adminUrl}/metrics`)).body;
    restarted.process.signal('SIGTERM');
    t.equal((await restarted.process.exited).code, 0);

    const seen = counts(sequenceNumbers(all()));
    const missing = Array.from({ length: last }, (_, i) => i + 1).filter((n) => !seen.has(n));
    const twice = [...seen].filter(([, count]) => count > 1).map(([n]) => n);
    t.same(missing, [], 'no line lost');
    t.same(twice, [], 'no line repeated');
    t.equal(seen.size, last, `${last} lines, ${rotations} rotations`);
    t.ok(first.records.length > 0 && restarted.records.length > 0, 'both adapters wrote records');
    t.same([...first.broken, ...restarted.broken], []);
    t.ok(
      restarted.process.logs.some((l) => l.msg === 'following file' && l.from === 'saved position'),
      'the second adapter resumed from saved positions',
    );
    const seenBoth = (kind: string) =>
      [firstMetrics, metrics].map((text) =>
        metric(text, `podkit_log_normalizer_rotations_total{kind="${kind}"}`),
      );
    t.ok(
      seenBoth('truncate').every((n) => n > 0) && seenBoth('rename').every((n) => n > 0),
      'both adapters saw renames and truncations as they happened',
    );
    t.comment(
      `records: ${first.records.length} + ${restarted.records.length}; renames seen ${seenBoth('rename')}, truncations ${seenBoth('truncate')}`,
    );
  },
);

t.test(
  'after SIGKILL no line is lost; only lines written since the last saved position repeat',
  async (t) => {
    const dir = tempDir(t);
    const first = await start(t, dir);
    const arrival = new Map<number, number>();
    const stamp = setInterval(() => {
      for (const n of sequenceNumbers(first.records)) if (!arrival.has(n)) arrival.set(n, Date.now());
    }, 20);
    t.teardown(() => clearInterval(stamp));
    let killedAt = 0;
    let second: Promise<Normalizer & { adminUrl: string }> | undefined;
    const last = await writeThroughRotations(dir, (rotation) => {
      if (rotation !== rotations / 2) return undefined;
      second = (async () => {
        first.process.signal('SIGKILL');
        await first.process.exited;
        killedAt = Date.now();
        clearInterval(stamp);
        for (const n of sequenceNumbers(first.records)) if (!arrival.has(n)) arrival.set(n, killedAt);
        return start(t, dir);
      })();
    });
    const restarted = await (second as Promise<Normalizer & { adminUrl: string }>);
    const all = () => [...first.records, ...restarted.records];
    await restarted.waitForRecords(
      () => new Set(sequenceNumbers(all())).size >= last,
      `all ${last} lines`,
      60_000,
    );
    restarted.process.signal('SIGTERM');
    t.equal((await restarted.process.exited).code, 0);

    const seen = counts(sequenceNumbers(all()));
    t.equal(seen.size, last, 'no line lost');
    const repeated = [...seen].filter(([, count]) => count > 1).map(([n]) => n);
    // The saved position is at most one checkpoint interval (200 ms) old; a second leaves room for a busy
    // machine, and for the time the test takes to see lines arrive.
    const late = repeated.filter((n) => killedAt - (arrival.get(n) ?? 0) > 1000);
    t.same(late, [], 'every repeated line was written by the killed adapter in its last second');
    t.ok(
      repeated.every((n) => seen.get(n) === 2),
      'repeated at most once',
    );
    t.comment(`${repeated.length} of ${last} lines written again after SIGKILL`);
  },
);
