/**
 * log-normalizer's option spec. It imports only lib/options and pure value parsers, so other components
 * load it cheaply to learn its names.
 */

import { opt } from '../../../lib/options.js';
import { parseMultiline } from './multiline.js';
import { parseAddField, parseLevelRule, parsePattern, parseTimeZoneOption } from './option-values.js';

export const formatOptions = [
  'auto',
  'json',
  'logfmt',
  'clf',
  'combined',
  'syslog',
  'glog',
  'log4j',
  'regex',
] as const;
export type FormatOption = (typeof formatOptions)[number];

export const logNormalizerOptions = {
  input: opt.list({
    itemName: 'glob|-',
    description:
      'What to read: a file glob (/var/log/app/*.log; * ? [..] and ** for any depth), or - for stdin, which is read to its end, after which the adapter exits 0 when it is the only input. Repeatable; required.',
  }),
  format: opt.enum(formatOptions, {
    default: 'auto',
    description:
      'How lines are parsed: auto decides per line (a JSON object, syslog, glog, log4j/logback/Python logging, access logs, logfmt, else plain text); the others parse only that format and pass other lines on as text.',
  }),
  pattern: opt.custom(parsePattern, {
    placeholder: '<regex>',
    typeName: 'regex',
    description:
      'For --format regex: a JavaScript regular expression with named groups; time, level and msg fill the record, other groups become fields.',
  }),
  levelFromFile: opt.list({
    item: parseLevelRule,
    itemName: 'name=level',
    description:
      'The level of lines that carry none, by file name or glob (error.log=error). Files named <level>.log (error.log, warn.log, ...) need no rule. Repeatable.',
  }),
  multiline: opt.custom(parseMultiline, {
    default: 'auto',
    placeholder: '<mode>',
    typeName: 'auto|java|python|go|none|regex:<first line>',
    description:
      'Which lines join the record before them: Java, Python and Go stack traces and indented lines (auto), one kind only, none, or regex:<pattern> matching the first line of a record.',
  }),
  multilineTimeout: opt.duration({
    default: '500ms',
    min: '10ms',
    description:
      'How long a record waits for more lines once its input has gone quiet, before it is written.',
  }),
  timezone: opt.custom(parseTimeZoneOption, {
    default: 'UTC',
    placeholder: '<zone>',
    typeName: 'IANA time zone',
    description:
      'The time zone of timestamps that carry none (log4j, glog, syslog); records are written in UTC.',
  }),
  maxLineBytes: opt.bytes({
    default: '1MiB',
    min: 1024,
    description:
      'Longest line (or multi-line record) kept whole; a longer one is cut there, marked with truncated_bytes and counted.',
  }),
  addField: opt.list({
    item: parseAddField,
    itemName: 'key=value',
    description:
      'A static field added to every record, e.g. pod=$(POD_NAME) from the downward API. Repeatable.',
  }),
  stateDir: opt.string({
    description:
      'Directory where read positions are kept (offsets.json), so a restart neither loses nor repeats lines. Without it a restart reads files from --read-from again.',
  }),
  checkpointInterval: opt.duration({
    default: '1s',
    min: '10ms',
    description:
      'How often positions of written records are saved to --state-dir; after SIGKILL at most this much is read again.',
  }),
  readFrom: opt.enum(['beginning', 'end'] as const, {
    default: 'beginning',
    description:
      'Where to start in files found at the first start (no saved position); files that appear later are read from the beginning.',
  }),
  rotateWait: opt.duration({
    default: '5s',
    description:
      'How long a file renamed away or deleted is still read after its last growth, for writers that have not reopened yet; then it is released.',
  }),
  pollInterval: opt.duration({
    default: '1s',
    min: '10ms',
    description:
      'How often inputs are checked without a file event (new files, rotations, missed inotify events).',
  }),
};
