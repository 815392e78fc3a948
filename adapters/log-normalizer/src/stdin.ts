/**
 * Reading stdin to its end into one pipeline: a regular file (`< app.log`) in large positional-free
 * reads, a pipe or terminal as a stream. Reading waits while the output is congested; on a pipe that
 * goes quiet, a waiting multi-line record is written after the multi-line timeout.
 */

import { fstatSync, read } from 'node:fs';
import { promisify } from 'node:util';
import type { Output } from './output.js';
import type { Pipeline } from './pipeline.js';

const readFd = promisify(read);
const chunkBytes = 1024 * 1024;

export interface StdinReading {
  /** Settles when stdin has ended (or reading stopped) and every record is written. */
  readonly done: Promise<void>;
  /** Stops reading; what was read is still written. */
  stop(): void;
}

export function readStdin(pipeline: Pipeline, output: Output, idleMs: number): StdinReading {
  let stopped = false;
  let stopStream: (() => void) | undefined;
  const done = (async () => {
    if (fstatSync(0).isFile()) {
      const buf = Buffer.allocUnsafe(chunkBytes);
      while (!stopped && !output.failed) {
        const { bytesRead } = await readFd(0, buf, 0, chunkBytes, null);
        if (bytesRead === 0) break;
        pipeline.push(buf, 0, bytesRead);
        output.flush();
        if (output.congested) await output.drained();
      }
    } else {
      await readStream(pipeline, output, idleMs, (stop) => {
        stopStream = stop;
        if (stopped) stop();
      });
    }
    pipeline.end(true);
    await output.settled();
  })();
  return {
    done,
    stop() {
      stopped = true;
      stopStream?.();
    },
  };
}

async function readStream(
  pipeline: Pipeline,
  output: Output,
  idleMs: number,
  onStop: (stop: () => void) => void,
): Promise<void> {
  const stream = process.stdin;
  let timer: NodeJS.Timeout | undefined;
  const idle = () => {
    const due = pipeline.flushIdle(Date.now());
    output.flush();
    if (due !== undefined) timer = setTimeout(idle, Math.max(1, due - Date.now()));
  };
  onStop(() => stream.destroy());
  try {
    for await (const chunk of stream) {
      clearTimeout(timer);
      const bytes = chunk as Buffer;
      pipeline.push(bytes, 0, bytes.length);
      output.flush();
      if (output.congested) await output.drained();
      if (output.failed) break;
      timer = setTimeout(idle, idleMs);
    }
  } catch {
    // Destroyed by stop(), or a read error: what was read is written either way.
  } finally {
    clearTimeout(timer);
  }
}
