/**
 * Noticing that files changed, the way they change in Kubernetes: a Secret or ConfigMap volume swaps its
 * `..data` symlink, so the watched names never see a write of their own. chokidar watches each file's
 * directory (one level) and every event there triggers one debounced callback; a periodic poll backs it
 * up, because inotify can be exhausted or miss events on some volume types. The caller re-reads and
 * decides whether anything really changed.
 */

import { dirname, resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

export interface FileWatchOptions {
  /** Quiet period after the last event before the callback runs (a swap is several events). */
  debounceMs?: number;
  /** Also call back on this interval regardless of events; 0 turns polling off. */
  pollIntervalMs?: number;
}

export interface FileWatch {
  close(): Promise<void>;
}

export async function watchFiles(
  paths: readonly string[],
  onChange: (reason: 'event' | 'poll') => void,
  options: FileWatchOptions = {},
): Promise<FileWatch> {
  const debounceMs = options.debounceMs ?? 100;
  const directories = [...new Set(paths.map((path) => dirname(resolve(path))))];
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange('event'), debounceMs);
  };
  const watcher: FSWatcher = watch(directories, {
    depth: 0,
    ignoreInitial: true,
    followSymlinks: false,
    // A swap replaces ..data atomically: report at once rather than waiting for writes to settle.
    awaitWriteFinish: false,
  });
  // chokidar's own events are throttled: at most one 'change' per path per 50 ms, the rest dropped with
  // no trailing event, so the last write of a quick burst would go unnoticed until the next poll. Its
  // 'raw' events come straight from fs.watch, unthrottled and before any of its own (which all stem from
  // them): every change is seen, and a swap's events arrive together, so the debounce makes them one.
  watcher.on('raw', fire);
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  const poll = options.pollIntervalMs
    ? setInterval(() => onChange('poll'), options.pollIntervalMs)
    : undefined;
  poll?.unref();
  return {
    async close() {
      clearTimeout(timer);
      clearInterval(poll);
      await watcher.close();
    },
  };
}
