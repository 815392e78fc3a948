/**
 * npm run bench -- <name> [<name> ...] [--option value ...]   (no name: all)
 *
 * Benchmarks run outside the test suite, each side by side with its anchor in the same run, and print
 * Markdown tables with ratios for issue notes. They are never part of `npm test`. Options after the names
 * go to each benchmark's `run` (only ftgo takes any: `--seconds`, `--poll-ms`).
 */

type Benchmark = { run(args: string[]): Promise<string> };

const benchmarks: Record<string, () => Promise<Benchmark>> = {
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
  ftgo: () => import('./ftgo.js'),
};

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((arg) => arg.startsWith('-'));
  const names = firstOption === -1 ? args : args.slice(0, firstOption);
  const options = firstOption === -1 ? [] : args.slice(firstOption);
  const unknown = names.filter((name) => !benchmarks[name]);
  if (unknown.length) {
    console.error(
      `bench: unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(benchmarks).join(', ')})`,
    );
    return 2;
  }
  for (const name of names.length ? names : Object.keys(benchmarks)) {
    const load = benchmarks[name] as () => Promise<Benchmark>;
    console.log(await (await load()).run(options));
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
