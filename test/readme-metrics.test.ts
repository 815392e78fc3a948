/**
 * Each component README's metrics table against the real thing: every registered component is started
 * with the start-up arguments of its entry in components.ts, and the metrics its /metrics names as its
 * own (`podkit_<component>_*`) must be exactly the README's rows, with the same types.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startupFixtures } from '../bench/lib/startup-fixtures.js';
import { components } from '../components.js';
import { metricName } from '../lib/metrics.js';
import { httpRequest } from './support/http.js';
import { repoRoot, startComponent } from './support/process.js';

/** `name type` for each row of the table under `## Metrics`. */
function documentedMetrics(readme: string): string[] {
  const start = readme.indexOf('\n## Metrics\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/^\| `(podkit_[a-z_]+)` \| (\w+) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

t.test("each README's metrics table is what the started component exposes", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'podkit-readme-metrics-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const fixtures = startupFixtures({ root, teardown: (fn) => t.teardown(fn) });
  for (const [name, entry] of Object.entries(components)) {
    await t.test(name, async (t) => {
      const started = await startComponent(t, name, await entry.startupArgs(fixtures(name)), {
        timeoutMs: 60_000,
      });
      const { body } = await httpRequest(`${started.adminUrl}/metrics`);
      const own = `${metricName(name, '')}_`;
      const exposed = [...body.matchAll(/^# TYPE (\S+) (\w+)$/gm)]
        .filter((m) => m[1]?.startsWith(own))
        .map((m) => `${m[1]} ${m[2]}`)
        .sort();
      t.ok(exposed.length > 0, `${name} exposes metrics of its own`);
      const readme = readFileSync(join(repoRoot, entry.dir, 'README.md'), 'utf8');
      t.same(documentedMetrics(readme), exposed, `${entry.dir}/README.md lists each of them with its type`);
    });
  }
});
