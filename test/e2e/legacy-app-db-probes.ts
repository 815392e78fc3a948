/**
 * The played legacy-app pod against a real database, and its probes: every probe the chart renders passes from inside the pod; a
 * note written over HTTPS lands in MariaDB through the pod's mysql-broker; podman's own healthcheck (the
 * livenessProbe, turned into curl) cannot run here; with MariaDB stopped, db-health's readiness probe
 * fails and the probes of the containers that do not depend on the database keep passing.
 */

import type { Test } from 'tap';
import { podman, podmanResult } from '../support/images.js';
import { waitFor } from '../support/wait.js';
import type { PodDatabase } from './pod-database.js';
import {
  type ProbeAnswer,
  type ProbedContainer,
  probePasses,
  type RenderedProbe,
  renderedProbes,
  runProbes,
} from './pod-probes.js';

export interface PodDatabaseContext {
  /** The containers of the rendered Deployment (the app first). */
  containers: ProbedContainer[];
  /** The played container's name for a container of the manifest. */
  container: (name: string) => string;
  /** The private MariaDB the pod's mysql-broker and db-health were rendered to reach. */
  database: PodDatabase;
  /** A request through the pod's HTTPS entry point with the right client certificate. */
  https: (method: string, path: string, body?: string) => Promise<{ status: number; body: string }>;
}

const describe = (answers: ProbeAnswer[]) =>
  answers.map((a) => `${a.container} ${a.kind} ${a.path}:${a.port} -> ${a.status} ${a.body}`).join('\n');

/** Waits until `settled` holds for the probes' answers, and returns them. */
async function probesUntil(
  via: string,
  probes: RenderedProbe[],
  settled: (answers: ProbeAnswer[]) => boolean,
  what: string,
): Promise<ProbeAnswer[]> {
  let answers: ProbeAnswer[] = [];
  await waitFor(
    async () => {
      answers = await runProbes(via, probes);
      return settled(answers);
    },
    { timeoutMs: 90_000, intervalMs: 1_000, what },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${describe(answers)}`);
  });
  return answers;
}

export async function podDatabaseTests(t: Test, context: PodDatabaseContext): Promise<void> {
  const { container } = context;
  const pod = context.database;
  const hosts = await podman([
    'exec',
    container('mysql-broker'),
    'node',
    '-e',
    "process.stdout.write(require('node:fs').readFileSync('/etc/hosts', 'utf8'))",
  ]);
  t.match(
    hosts,
    new RegExp(`^${pod.gateway.replaceAll('.', '\\.')}\\s.*\\bhost\\.containers\\.internal\\b`, 'm'),
    `the pod finds the host at the bridge gateway ${pod.gateway}, where MariaDB listens`,
  );

  // Probes run through tls-proxy's container: every container shares the pod's loopback.
  const via = container('tls-proxy');
  const probes = renderedProbes(context.containers);
  t.same(
    [...new Set(probes.map((p) => p.container))],
    context.containers.slice(1).map((c) => c.name),
    'the chart probes every podkit container (the app has none)',
  );
  const ready = await probesUntil(via, probes, (a) => a.every(probePasses), 'every rendered probe passing');
  t.same(
    ready.filter((a) => !probePasses(a)),
    [],
    `all ${probes.length} probes as rendered pass from inside the pod`,
  );
  const dbReady = ready.find((a) => a.container === 'db-health' && a.kind === 'readinessProbe');
  t.match(dbReady, { status: 200, body: /database-up/ }, "db-health's /readyz: the database answers");

  // The app's storage is MySQL at its 127.0.0.1:3306: mysql-broker carries it to MariaDB on the host.
  const text = `a note through the pod ${Date.now()}`;
  const posted = await context.https('POST', '/notes', text);
  t.ok(posted.status >= 200 && posted.status < 300, `POST /notes answers ${posted.status}`, {
    body: posted.body,
  });
  const rows = await pod.db.query<{ body: string }[]>(`SELECT body FROM \`${pod.database}\`.notes`);
  t.same(
    rows.map((r) => r.body),
    [text],
    'the note is in MariaDB, read from the host',
  );
  t.match((await context.https('GET', '/notes')).body, text, 'and the app lists it');

  // podman 4.3 made a healthcheck of the livenessProbe only, as curl through a shell: neither is in the
  // images, so podman calls the container unhealthy while the same probe answers 200 in the pod.
  const proxyProbe = probes.find((p) => p.container === 'tls-proxy' && p.kind === 'livenessProbe');
  const inspect = JSON.parse(await podman(['inspect', via]))[0] as {
    Config: { Healthcheck?: { Test: string[] } };
  };
  t.same(
    inspect.Config.Healthcheck?.Test,
    ['CMD-SHELL', 'curl', '-f', `http://localhost:${proxyProbe?.port}${proxyProbe?.path}`, '||', 'exit', '1'],
    "podman's healthcheck is the livenessProbe's path and port, as a curl command",
  );
  const healthcheck = await podmanResult(['healthcheck', 'run', via], { timeoutMs: 60_000 });
  t.same(
    { code: healthcheck.code, stdout: healthcheck.stdout.trim() },
    { code: 1, stdout: 'unhealthy' },
    '`podman healthcheck run` cannot run it (no curl, no shell in the image)',
  );

  // The database goes away: db-health's readiness fails at its next check; the probes of the
  // containers that do not depend on it keep passing.
  await pod.db.stop();
  const dbDown = (a: ProbeAnswer) => a.container === 'db-health' && a.kind === 'readinessProbe';
  const down = await probesUntil(
    via,
    probes,
    (a) => a.some((answer) => dbDown(answer) && !probePasses(answer)),
    "db-health's readiness probe failing",
  );
  t.match(down.find(dbDown), { status: 503, body: /database-up/ }, "db-health's /readyz: 503, database-up");
  const independent = ['tls-proxy', 'log-normalizer', 'metrics-exporter'];
  t.same(
    down.filter((a) => independent.includes(a.container) && !probePasses(a)),
    [],
    `${independent.join(', ')}: every probe still passes`,
  );
  t.comment(`with MariaDB stopped:\n${describe(down.filter((a) => !probePasses(a)))}`);
}
