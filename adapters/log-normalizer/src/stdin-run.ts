/**
 * `--input -` alone: a filter like `app | podkit log-normalizer --input -` that reads stdin to its end,
 * writes every record and exits 0, without an admin server (a pipe needs no port, and two of them on one
 * machine must not fight over one). SIGTERM and SIGINT end the input early; what was read is written.
 */

import type { Writable } from 'node:stream';
import type { OneShotIo } from '../../../lib/component.js';
import { describeError, ErrorCode } from '../../../lib/errors.js';
import { levelOfFile } from './level-files.js';
import { Output } from './output.js';
import { Pipeline } from './pipeline.js';
import { type LogNormalizerOptions, pipelineSettings } from './settings.js';
import { Stats } from './stats.js';
import { readStdin } from './stdin.js';

export async function runStdin(options: LogNormalizerOptions, io: OneShotIo): Promise<number> {
  let failure: Error | undefined;
  const output = new Output(io.stdout as Writable, undefined, (err) => {
    failure = err;
  });
  const pipeline = new Pipeline(
    'stdin',
    levelOfFile('stdin', options.levelFromFile),
    pipelineSettings(options),
    output,
    new Stats(),
    { committed: 0 },
  );
  const reading = readStdin(pipeline, output, options.multilineTimeout);
  const stop = () => reading.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await reading.done;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
  if (!failure) return 0;
  const line = {
    time: new Date().toISOString(),
    level: 'error',
    component: 'log-normalizer',
    msg: 'stdout cannot be written',
    code: ErrorCode.OUTPUT,
    err: describeError(failure),
  };
  io.stderr.write(`${JSON.stringify(line)}\n`);
  return 1;
}
