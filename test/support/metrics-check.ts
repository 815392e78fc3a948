/**
 * The two checks every /metrics body in the tests passes: `promtool check metrics` for the Prometheus
 * text format (parse errors and lint findings both fail it), and the Python client's strict OpenMetrics
 * parser for OpenMetrics (promtool reads only the text format), run by the system python3 that has the
 * Debian package. Both are Debian packages that
 * scripts/ensure-system.sh installs.
 */

import { execFile } from 'node:child_process';

export interface Verdict {
  ok: boolean;
  /** What the checker said: empty when it has nothing to say. */
  output: string;
}

function run(command: string, args: string[], input: string): Promise<Verdict> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin?.end(input);
  });
}

/** `promtool check metrics`: exit 0 only without parse errors and lint findings. */
export function promtoolCheck(text: string): Promise<Verdict> {
  return run('promtool', ['check', 'metrics'], text);
}

const parseOpenMetrics = `
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
try:
    families = list(text_string_to_metric_families(sys.stdin.read()))
except Exception as err:
    print(f"{type(err).__name__}: {err}")
    sys.exit(1)
`;

/** The OpenMetrics text parsed by prometheus_client (it refuses what the specification forbids). */
export function openMetricsCheck(text: string): Promise<Verdict> {
  return run('/usr/bin/python3', ['-c', parseOpenMetrics], text);
}
