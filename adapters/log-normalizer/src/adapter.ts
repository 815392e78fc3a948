/**
 * The running adapter: follows the file globs, reads stdin when asked, writes records to stdout, serves
 * metrics. With stdin as the only input (and an admin server asked for), the process ends with it.
 */

import type { ComponentContext, ComponentHandle } from '../../../lib/component.js';
import { ConfigError, describeError, ErrorCode } from '../../../lib/errors.js';
import { levelOfFile } from './level-files.js';
import { registerMetrics } from './metrics.js';
import { Output } from './output.js';
import { Pipeline } from './pipeline.js';
import { type LogNormalizerOptions, pipelineSettings, stdinOnly } from './settings.js';
import { Stats } from './stats.js';
import { readStdin, type StdinReading } from './stdin.js';
import { Checkpoints } from './tail/checkpoint.js';
import { Tailer } from './tail/tailer.js';

async function openState(dir: string | undefined): Promise<Checkpoints | undefined> {
  if (dir === undefined || dir === '') return undefined;
  try {
    return await Checkpoints.open(dir);
  } catch (err) {
    throw new ConfigError(
      'stateDir',
      `--state-dir ${JSON.stringify(dir)} cannot be used: ${describeError(err)}`,
    );
  }
}

export async function startAdapter(
  options: LogNormalizerOptions,
  ctx: ComponentContext,
): Promise<ComponentHandle> {
  const { log } = ctx;
  const stats = new Stats();
  const output = new Output(process.stdout, undefined, (err) => {
    log.error({ code: ErrorCode.OUTPUT, err: describeError(err) }, 'stdout cannot be written');
    ctx.stop(1, `stdout cannot be written: ${describeError(err)}`);
  });
  const settings = pipelineSettings(options);
  const globs = options.input.filter((input) => input !== '-');
  const tailer =
    globs.length === 0
      ? undefined
      : new Tailer({
          globs,
          settings,
          levelRules: options.levelFromFile,
          output,
          stats,
          log,
          checkpoints: await openState(options.stateDir),
          checkpointIntervalMs: options.checkpointInterval,
          readFrom: options.readFrom,
          rotateWaitMs: options.rotateWait,
          pollIntervalMs: options.pollInterval,
        });
  registerMetrics(ctx.registry, stats, output, tailer);
  await tailer?.start();

  let stdin: StdinReading | undefined;
  if (options.input.includes('-')) {
    const pipeline = new Pipeline(
      'stdin',
      levelOfFile('stdin', options.levelFromFile),
      settings,
      output,
      stats,
      {
        committed: 0,
      },
    );
    stdin = readStdin(pipeline, output, options.multilineTimeout);
    stdin.done.then(
      () => {
        log.info('stdin ended');
        if (stdinOnly(options)) ctx.stop(0, 'end of stdin');
      },
      (err: unknown) => ctx.stop(1, `reading stdin failed: ${describeError(err)}`),
    );
  }
  ctx.health.readiness.set('inputs', true, { files: tailer?.filesFollowed ?? 0, stdin: stdin !== undefined });
  return {
    async close() {
      stdin?.stop();
      await stdin?.done.catch(() => {});
      await tailer?.close();
      await output.settled();
    },
  };
}
