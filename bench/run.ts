/**
 * npm run bench -- <name> [<name> ...]   (no name: all)
 *
 * Benchmarks run outside the test suite, each side by side with its anchor in the same run, and print
 * Markdown tables with ratios for issue notes. They are never part of `npm test`.
 */

const benchmarks: Record<string, () => Promise<{ run(): Promise<string> }>> = {
  noise: () => import('./noise.js'),
  'db-health': () => import('./db-health.js'),
  'mysql-broker': () => import('./mysql-broker.js'),
  'config-sync': () => import('./config-sync.js'),
  startup: () => import('./startup.js'),
  'git-pull': () => import('./git-pull.js'),
  'tls-proxy': () => import('./tls-proxy.js'),
  'metrics-exporter': () => import('./metrics-exporter.js'),
  'traffic-split': () => import('./traffic-split.js'),
  'log-normalizer': () => import('./log-normalizer.js'),
};

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !benchmarks[name]);
  if (unknown.length) {
    console.error(
      `bench: unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(benchmarks).join(', ')})`,
    );
    return 2;
  }
  for (const name of names.length ? names : Object.keys(benchmarks)) {
    const load = benchmarks[name] as () => Promise<{ run(): Promise<string> }>;
    console.log(await (await load()).run());
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench: ${(err as Error).stack}`);
    process.exit(1);
  },
);
