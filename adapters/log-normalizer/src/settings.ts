/** The options that shape records, as the pipelines take them. */

import type { ComponentOptions } from '../../../lib/component.js';
import type { logNormalizerOptions } from './options.js';
import type { PipelineSettings } from './pipeline.js';

export type LogNormalizerOptions = ComponentOptions<typeof logNormalizerOptions>;

export function pipelineSettings(options: LogNormalizerOptions): PipelineSettings {
  return {
    format: options.format,
    pattern: options.pattern,
    multiline: options.multiline,
    multilineTimeoutMs: options.multilineTimeout,
    maxLineBytes: options.maxLineBytes,
    extras: options.addField,
    time: { zone: options.timezone, now: Date.now },
  };
}

/** Whether stdin is the only input: reading ends with its end. */
export function stdinOnly(options: LogNormalizerOptions): boolean {
  return options.input.length > 0 && options.input.every((input) => input === '-');
}
