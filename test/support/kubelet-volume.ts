/**
 * A ConfigMap or Secret volume as the kubelet's atomic writer makes it, for tests and benchmarks of
 * anything that reads one: a hidden timestamped version directory, `..data` swapped to it, one link per
 * key (`key -> ..data/key`), and the previous version removed right after the swap.
 */

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { publishVersionedDir, swapSymlink, writeFiles } from '../../lib/atomic-fs.js';

export class KubeletVolume {
  #count = 0;

  constructor(readonly dir: string) {}

  /** Publishes `files` (key -> content) as the volume's new version. */
  async write(files: Record<string, string>): Promise<void> {
    this.#count += 1;
    const stamp = `2026_01_01_00_00_00.${String(this.#count).padStart(9, '0')}`;
    // keep 0: the kubelet removes the old version as soon as ..data points at the new one.
    await publishVersionedDir({ root: this.dir, link: '..data', prefix: '..', keep: 0 }, stamp, (dir) =>
      writeFiles(dir, Object.entries(files)),
    );
    for (const key of Object.keys(files)) await swapSymlink(join(this.dir, key), `..data/${key}`);
    for (const entry of await readdir(this.dir)) {
      if (!entry.startsWith('..') && !(entry in files)) await rm(join(this.dir, entry), { force: true });
    }
  }
}
