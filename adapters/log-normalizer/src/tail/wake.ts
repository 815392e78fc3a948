/**
 * What wakes the tailer: an inotify event in a watched directory (through fs.watch), a poll tick, or a
 * deadline of its own (a multi-line record due). Events are only flags: a busy writer's thousands of
 * events a second cost a flag each, and the tailer reads whatever is there when it looks.
 */

import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';

export class Wake {
  #pending = false;
  #resolve: (() => void) | undefined;
  /** A directory entry appeared, vanished or was renamed since the last look. */
  entriesChanged = false;
  readonly #watchers = new Map<string, FSWatcher>();

  notify(entries = false): void {
    if (entries) this.entriesChanged = true;
    this.#pending = true;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  }

  /** Resolves at the next notify (at once if one came since the last wait) or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#resolve = undefined;
          resolve();
        },
        Math.max(0, ms),
      );
      this.#resolve = () => {
        clearTimeout(timer);
        this.#pending = false;
        resolve();
      };
    });
  }

  /**
   * Watches a directory (and its subdirectories with `deep`) if it exists and is not watched yet.
   * A directory that cannot be watched (missing, out of inotify watches) is left to the polling.
   * `isFollowed` tells the paths whose changes need no new look at the directory.
   */
  watchDirectory(dir: string, deep: boolean, isFollowed: (path: string) => boolean): void {
    const id = `${deep ? 'deep' : 'flat'}:${dir}`;
    if (this.#watchers.has(id)) return;
    try {
      // A change to a file not followed yet (one found empty, a copy being written) is looked at too.
      const watcher = watch(dir, { recursive: deep, persistent: false }, (event, name) =>
        this.notify(event === 'rename' || name === null || !isFollowed(join(dir, name))),
      );
      watcher.on('error', () => {
        watcher.close();
        this.#watchers.delete(id);
        this.notify(true);
      });
      this.#watchers.set(id, watcher);
    } catch {
      // Polling finds what this would have reported.
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.notify();
  }
}
