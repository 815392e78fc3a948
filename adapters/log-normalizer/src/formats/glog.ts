/**
 * glog and klog (Go's Kubernetes components, C++ glog): `I0501 10:00:00.123456   12345 file.go:42] msg`,
 * a severity letter, month and day without a year, the time in local time, a thread id and the caller.
 */

import { levelFromName } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { scanGlogTime, type TimeContext } from '../time.js';

const header = /^ +(\d+) ([^\s:\]]+):(\d+)\] ?/;

export function parseGlog(line: string, ctx: TimeContext): ParsedLine | undefined {
  const letter = line[0];
  if (letter !== 'I' && letter !== 'W' && letter !== 'E' && letter !== 'F' && letter !== 'D')
    return undefined;
  const time = scanGlogTime(line, 1, ctx);
  if (!time) return undefined;
  const rest = line.slice(time.end);
  const match = header.exec(rest);
  if (!match) return undefined;
  return {
    format: 'glog',
    time: time.iso,
    level: levelFromName(letter),
    msg: rest.slice(match[0].length),
    fields: { thread_id: Number(match[1]), file: match[2], line: Number(match[3]) },
  };
}
